"""`thinklint check`: one function that does the work and returns the exit code."""

from __future__ import annotations

import gc
import sys
import time
from collections import Counter
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, TextIO, TypeVar

from thinklint.baseline import apply_baseline, load_baseline, write_baseline
from thinklint.catalog import Rule, all_rules, custom_rules
from thinklint.context import Context
from thinklint.engine import FileResult, Result, build_contexts, merge
from thinklint.fsutil import atomic_write, real, write_failure
from thinklint.model import Finding
from thinklint.planning import WorkItem, display_path, expand, plan
from thinklint.profiles import Profile, resolve_profile
from thinklint.readers.files import DEFAULT_MAX_LINE_BYTES
from thinklint.reporters import Report, render
from thinklint.selection import Selection, select_rules
from thinklint.settings import Settings
from thinklint.spec import Spec, find_spec, load_spec
from thinklint.tokenizer_files import special_tokens
from thinklint.yamlsrc import SourceError

if TYPE_CHECKING:
    from thinklint.fix.run import Outcome
    from thinklint.helper import Helper

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2

T = TypeVar("T")


class UsageError(Exception):
    """A problem with how thinklint was invoked: exit 2 with this message."""


def locate_spec(config: Path | None, allow_outside_root: bool = False, remember: bool = True) -> Spec:
    path = config or find_spec(Path.cwd())
    if path is None:
        raise UsageError("no thinklint.yaml found in this folder or its parents "
                         "(and no [tool.thinklint] in a pyproject.toml); pass --config FILE")
    return load_spec(path, allow_outside_root=allow_outside_root, remember=remember)


def load_profile(spec: Spec) -> Profile:
    ref = spec.model.profile
    if ref == "auto":
        from thinklint.detect import detect_for_spec

        detected: Profile = detect_for_spec(spec)
        return detected
    try:
        return resolve_profile(ref, spec.root)
    except SourceError as exc:
        line = spec.located.line_of(("model", "profile")) if spec.located else None
        raise SourceError(spec.display, line, "model.profile", exc.message) from None


#: a token worker's threshold for collecting its youngest generation (see `token_factory`)
WORKER_GC_YOUNG = 10_000


def token_factory(spec: Spec, profile: Profile, settings: Settings, partial: bool = False,
                  worker: bool = False) -> Callable[[], Any] | None:
    """The token layer, built on first use and then kept: transformers is imported only then.

    With `partial` (a cached run, which mostly checks few samples), a snapshot's tokenizer is built
    for the texts it is given (`tokens.partial`) and loads whole only when it has to. A `worker`
    process only checks: transformers loads there without torch (`loader._torch_hidden`), and
    everything alive once the layer is built is moved out of the cyclic collector's sight
    (`gc.freeze`), so that full collections do not walk it again: 216,000 objects after a load
    with torch (collections then took 0.34 s per 2,000 samples, 0.19 s frozen), 76,000 without
    (0.15 s, 0.14 s frozen). Its youngest generation is then collected after `WORKER_GC_YOUNG` net
    allocations instead of 700: a batch's objects die by reference count, and the token ids a batch
    keeps (lists of a thousand ints) were walked again by every collection; a 2,000-sample run made
    94-98 collections (0.07-0.08 s, 7% of its main thread) and makes none."""
    if not spec.model.tokenizer:
        return None

    # a snapshot of the tokenizer under .thinklint_cache/ spares later runs (and workers) transformers
    snapshots = spec.root / ".thinklint_cache" if getattr(settings, "use_cache", True) else None

    @lru_cache(maxsize=1)
    def build() -> Any:
        from thinklint.tokens.context import TokenContext

        built = TokenContext.build(spec, profile, trust_remote_code=settings.trust_remote_code, snapshots=snapshots,
                                   partial=partial, torchless=worker)
        if worker:
            gc.freeze()
            gc.set_threshold(WORKER_GC_YOUNG, *gc.get_threshold()[1:])
        return built

    return build


def prepare(spec: Spec, settings: Settings, stage: str = "check") -> tuple[dict[str, Rule], Selection]:
    rules = all_rules(custom_rules(spec.rules.custom, spec.display, spec.located))
    selection = select_rules(rules, spec.rules, has_tokenizer=bool(spec.model.tokenizer),
                             cli_select=settings.select, cli_ignore=settings.ignore,
                             cli_extend=settings.extend_select, source=spec.display, located=spec.located,
                             root=spec.root, stage=stage)
    return rules, selection


def build_run(spec: Spec, settings: Settings, profile: Profile,
              worker: bool = False) -> tuple[Selection, dict[str, Context]]:
    """The selection and per-dataset contexts of a run (in the main process, or a `worker`'s: see
    `token_factory`)."""
    _rules, selection = prepare(spec, settings)
    factory = token_factory(spec, profile, settings, worker=worker) if selection.needs_tokenizer else None
    return selection, build_contexts(spec, profile, factory, special_tokens(spec))


def _cache_folder(spec: Spec, settings: Settings, selection: Selection, profile: Profile,
                  max_line: int) -> Path | None:
    if not settings.use_cache:
        return None
    from thinklint.cache import cache_root, config_key, open_cache

    try:
        return open_cache(cache_root(spec), config_key(spec, settings, selection, profile, max_line))
    except OSError:  # a read-only checkout: lint without remembering
        return None


def run_lint(spec: Spec, settings: Settings, progress: Callable[[int, int], None] | None = None,
             ) -> tuple[Result, dict[str, Rule], Profile]:
    """Plan, check (serially, in worker processes or on Ray; from the cache where it can), merge."""
    from thinklint.cache import check_cached, entry_path, file_stat, write_through
    from thinklint.parallel import (
        Recipe,
        can_fork,
        default_jobs,
        process_map,
        rebase,
        shard_items,
        worth_parallel,
    )

    rules, selection = prepare(spec, settings)
    profile = load_profile(spec)
    # this process checks what the cache does not know, or a small input: partial (workers build their own)
    factory = token_factory(spec, profile, settings, partial=True) if selection.needs_tokenizer else None
    contexts = build_contexts(spec, profile, factory, special_tokens(spec))
    items = plan(spec, settings.paths)
    # each file's stat before anything reads it, for its entry to record (`cache.write_through`)
    since_ns = time.time_ns()
    stats = {i.path: file_stat(i.path) for i in items if i.path is not None} if settings.use_cache else {}
    # an edited file's helper is started before the configuration is hashed (tens of milliseconds),
    # its entry looked for in the configuration folder written last: almost always this run's
    helper = _helper(items, _last_folder(spec) if settings.use_cache and settings.engine == "local" else None,
                     factory, contexts, selection, edited_only=True)
    try:
        max_line = settings.max_line_bytes or DEFAULT_MAX_LINE_BYTES
        folder = _cache_folder(spec, settings, selection, profile, max_line)
        jobs = settings.jobs or default_jobs()
        recipe = Recipe(spec, settings, profile, max_line, folder)
        # files the cache has seen are mostly unchanged: they are not worth starting workers for
        fresh = [i for i in items if folder is None or not entry_path(folder, i).exists()]
        results: Iterable[FileResult]
        if settings.engine == "ray" or worth_parallel(fresh, jobs, selection.needs_tokenizer):
            if helper is not None:
                helper.close()
                helper = None
            work = shard_items(items, jobs)
            if settings.engine == "ray":
                from thinklint.distributed import ray_map

                results = ray_map(recipe, work, jobs, progress)
            else:
                built = (selection, contexts) if can_fork(selection.needs_tokenizer) else None
                results = process_map(recipe, work, jobs, progress, built)
            results = rebase(results, work, max_line, lambda i: check_cached(
                i, contexts[i.dataset.name], selection, max_line, folder, None))
        else:
            if factory is not None and folder is None:
                factory()  # fail fast, with the spec's line, on a tokenizer that cannot load
            work = items
            helper = helper or _helper(items, folder, factory, contexts, selection)
            results = (check_cached(i, contexts[i.dataset.name], selection, max_line, folder, progress, helper)
                       for i in items)
        result = merge(write_through(results, work, folder, stats, since_ns), contexts, selection,
                       dataset_rules=not settings.paths)
    finally:
        if helper is not None:
            helper.close()
    return result, rules, profile


def _last_folder(spec: Spec) -> Path | None:
    """The cache's configuration folder written last (where `_helper` looks for entries before the key is known)."""
    from thinklint.cache import cache_root, results_root

    try:
        return max((p for p in results_root(cache_root(spec)).iterdir() if p.is_dir()),
                   key=lambda p: p.stat().st_mtime_ns, default=None)
    except OSError:
        return None


def _helper(items: list[WorkItem], folder: Path | None, factory: Any, contexts: dict[str, Context],
            selection: Selection, edited_only: bool = False) -> Helper | None:
    """A child that loads the tokenizer while this process reads (`thinklint.helper`), when some file
    looks changed since the cache saw it: an unchanged file needs no tokenizer, so none is loaded.
    With `edited_only`, only for a file that has an entry older than itself."""
    built = getattr(factory, "cache_info", None)  # the factory is an lru_cache: has it built its tokenizer?
    if folder is None or built is None or built().currsize:
        return None
    from thinklint.cache import entry_path

    for item in items:
        if item.path is None:
            continue
        try:
            if item.path.stat().st_mtime_ns < entry_path(folder, item).stat().st_mtime_ns:
                continue  # written after the file last changed: most likely all known
        except OSError:
            if edited_only:
                continue
            # no entry: every sample is new
        from thinklint.helper import Helper  # here: an unchanged run needs none

        return Helper.start(contexts, selection)
    return None


def _progress(settings: Settings, spec: Spec) -> Any:
    from thinklint import progress

    if settings.progress is False or (settings.progress is None and not progress.wanted()):
        return None
    total = 0
    for item in plan(spec, settings.paths):
        try:
            total += item.path.stat().st_size if item.path is not None else 0
        except OSError:
            pass
    return progress.Progress(total)


def refuse_overwriting_inputs(spec: Spec, settings: Settings) -> None:
    """`check` never writes over what it reads: -o or --write-baseline naming a data file or the spec."""
    targets = [(flag, path) for flag, path in (("--output", settings.output_file),
                                               ("--write-baseline", settings.write_baseline)) if path]
    if not targets:
        return
    inputs = {real(p) for ds in spec.datasets if not ds.skipped for p in expand(ds)}
    if spec.path is not None:
        inputs.add(real(spec.path))
    for flag, path in targets:
        if real(path) in inputs:
            raise UsageError(f"{flag} {path} is one of the files thinklint reads; refusing to overwrite it")


def html_extras(spec: Spec, settings: Settings, result: Result, profile: Profile,
                findings: list[Finding]) -> dict[str, object]:
    """What the HTML report shows beyond findings; gathered here, so rules and reporters stay pure.

    Sample views re-read only the files with findings, and only for the HTML format.
    """
    from thinklint.show import dataset_of_paths, gather_views

    if result.lengths:
        note = ""
    elif spec.model.tokenizer:
        note = "No token lengths: no token-level rule (MSK, TPL, TRN) ran, or no sample could be encoded."
    else:
        note = "Token lengths need model.tokenizer in the spec."
    return {
        "views": gather_views(spec, settings, profile, findings, settings.max_views),
        "dataset_of": dataset_of_paths(spec, settings),
        "lengths": result.lengths,
        "lengths_note": note,
        "spec": display_path(spec.path) if spec.path else spec.display,
        "min_thinking_ratio": spec.policy.min_thinking_ratio,
    }


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _fix_counts(findings: list[Finding], unsafe: bool) -> tuple[int, int]:
    """(findings --fix would fix, findings whose fix needs --unsafe-fixes), as ruff counts them."""
    fixable = sum(1 for f in findings if f.fix is not None and (f.fix.safe or unsafe))
    hidden = sum(1 for f in findings if f.fix is not None and not f.fix.safe and not unsafe)
    return fixable, hidden


def _visible(findings: Iterable[Finding], known: Counter[str] | None, settings: Settings) -> list[Finding]:
    if settings.baseline and known is not None:
        return apply_baseline(findings, known, settings.baseline.parent)
    return list(findings)


def run_diff(outcome: Outcome, settings: Settings, out: TextIO, err: TextIO) -> int:
    """--diff, as ruff's: the diffs on stdout, nothing written; exit 1 when there is a diff, 0 when not."""
    out.writelines(outcome.diffs)
    more = f"{outcome.hidden:,} more fix{'' if outcome.hidden == 1 else 'es'}"
    hint = f" ({more} with --unsafe-fixes)" if outcome.hidden else ""
    if outcome.fixed:
        err.write(f"Would fix {_plural(outcome.fixed, 'finding')}{hint}.\n")
    else:
        err.write(f"No fixes to apply{hint}.\n")
    return EXIT_FINDINGS if outcome.files and not settings.exit_zero else EXIT_OK


def _written(path: Path, write: Callable[[Path], T], lost: str) -> T:
    """`write(path)`, or a usage error saying why `path` could not be written and what is `lost` (the lint
    has run by now: a traceback would hide that its findings went nowhere)."""
    try:
        return write(path)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {write_failure(path, exc)}; {lost}") from None


def run_check(settings: Settings, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    spec = locate_spec(settings.config, settings.allow_outside_root, remember=settings.use_cache)
    refuse_overwriting_inputs(spec, settings)
    bar = _progress(settings, spec)
    try:
        result, rules, profile = run_lint(spec, settings, bar)
    finally:
        if bar is not None:
            bar.close()
    # read the old baseline before writing the new one: they may be the same file
    known = load_baseline(settings.baseline) if settings.baseline else None
    fixed: int | None = None
    if settings.fix or settings.diff:
        from thinklint.fix.run import run_fixes

        outcome = run_fixes(spec, settings, profile, prepare(spec, settings)[1],
                            _visible(result.findings, known, settings), write=not settings.diff)
        for note in outcome.notes:
            err.write(f"thinklint: {note}\n")
        if settings.diff:
            return run_diff(outcome, settings, out, err)
        fixed = outcome.fixed
        if outcome.files:  # check the fixed files again: the report shows what remains
            result, rules, profile = run_lint(spec, settings)
    findings = list(result.findings)
    if settings.write_baseline:
        # every current finding, the known ones included: rewriting a baseline must not forget them
        n = _written(settings.write_baseline, lambda p: write_baseline(p, findings),
                     f"the baseline of this run ({_plural(len(findings), 'finding')}) is lost, and no report "
                     "was written")
        err.write(f"thinklint: wrote {n} findings to {settings.write_baseline}\n")
    findings = _visible(findings, known, settings)
    extras = html_extras(spec, settings, result, profile, findings) if settings.output_format == "html" else {}
    fixable, hidden = _fix_counts(findings, settings.unsafe_fixes)
    report = Report(findings=tuple(findings), files=result.files, samples=result.samples, rules=rules,
                    datasets=result.datasets, statistics=settings.statistics,
                    color=bool(settings.color) and settings.output_file is None,
                    skipped_token_rules=result.skipped_token_rules, cutoff_len=spec.training.cutoff_len,
                    extras=extras, fixed=fixed, fixable=fixable, hidden_fixes=hidden)
    text = render(settings.output_format, report)
    if settings.output_file:
        _written(settings.output_file, lambda p: atomic_write(p, text.encode("utf-8")),
                 f"the report of this run ({_plural(len(findings), 'finding')}) is lost")
    else:
        out.write(text)
    if fixed is not None and (settings.output_format != "text" or settings.output_file):
        err.write(f"thinklint: Fixed {_plural(fixed, 'finding')} ({len(findings):,} remaining).\n")
    for message in result.internal_errors:
        first = message.splitlines()[0]
        err.write(f"thinklint: internal error: {message if settings.verbose else first}\n")
    if result.internal_errors:
        return EXIT_ERROR
    if settings.exit_zero:
        return EXIT_OK
    return EXIT_FINDINGS if any(f.severity == "error" for f in findings) else EXIT_OK
