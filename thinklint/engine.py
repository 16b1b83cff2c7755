"""The pipeline: spec -> files -> records -> samples -> rules -> findings.

`check_file` is a pure function of its inputs, so that the local, parallel and distributed
drivers can run it anywhere and merge results in a deterministic order.
"""

from __future__ import annotations

import glob
import os
import traceback
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping

from thinklint.confine import check_path
from thinklint.context import Context, DatasetStats
from thinklint.fsutil import real
from thinklint.model import Finding, Location, Problem, Sample, Violation
from thinklint.profiles import Profile
from thinklint.readers.files import DEFAULT_MAX_LINE_BYTES, FileError, read_records
from thinklint.readers.formats import normalise
from thinklint.selection import ActiveRule, Selection
from thinklint.spec import DatasetSpec, Spec
from thinklint.think import is_thinking


@dataclass(frozen=True)
class WorkItem:
    dataset: DatasetSpec
    path: Path | None  # None: a dataset-level notice with no file
    display: str
    notice: Problem | None = None


@dataclass
class FileResult:
    display: str
    dataset: str
    findings: list[Finding] = field(default_factory=list)
    samples: int = 0
    thinking: int = 0
    non_thinking: int = 0
    errors: list[str] = field(default_factory=list)  # internal errors (a rule crashed)
    file: bool = False  # a data file was opened (not a dataset-level notice)
    #: untruncated token length -> number of samples; filled only when token rules ran (the encoding
    #: is then already cached, so counting it is free; structural runs never encode)
    lengths: dict[int, int] = field(default_factory=dict)


def display_path(path: Path, cwd: Path | None = None) -> str:
    """Relative to the working directory when below it, as the JSON contract wants."""
    cwd = cwd or Path.cwd()
    # a broken symlink (dangling, or a loop) is shown as itself: its target says nothing useful
    target = real(path) if path.exists() else real(path.parent) / path.name
    try:
        return str(target.relative_to(real(cwd)))
    except ValueError:
        return os.path.relpath(target, real(cwd)) if path.is_absolute() else str(path)


def expand(dataset: DatasetSpec) -> list[Path]:
    """The dataset's files; one that resolves outside its repository root is a spec error."""
    found: set[Path] = set()
    for pattern in dataset.paths:
        full = pattern if os.path.isabs(pattern) else str(dataset.base / pattern)
        for hit in glob.glob(full, recursive=True):
            p = Path(hit)
            # a glob skips folders, but not a broken symlink (dangling or a loop): reading it
            # reports why the data file it stands for cannot be read
            if p.is_file() or not glob.has_magic(pattern) or (p.is_symlink() and not p.exists()):
                if dataset.boundary is not None:
                    check_path(p, dataset.boundary, dataset.origin, dataset.line, dataset.key,
                               f"{pattern} matches {os.path.relpath(hit, dataset.base)}, which")
                found.add(p)
    # a symlink to a file that is matched already is that file: checked (and reported) once
    unique: dict[Path, Path] = {}
    for p in sorted(found):
        unique.setdefault(real(p) if p.exists() else p, p)
    return sorted(unique.values())


def _wanted(f: Path, wanted: set[Path]) -> bool:
    """A file named in `only`, or below a folder named there (`thinklint check data/`)."""
    r = real(f)
    return r in wanted or any(parent in wanted for parent in r.parents)


def plan(spec: Spec, only: Iterable[str] = ()) -> list[WorkItem]:
    """Every (dataset, file) to check; with `only` (pre-commit's file list, or folders), just those files."""
    wanted = {real(p) for p in only}
    items: list[WorkItem] = []
    for ds in spec.datasets:
        where = ds.origin or spec.display
        if ds.skipped:
            if not wanted:
                items.append(WorkItem(ds, None, where, Problem("no_files", f"dataset {ds.name!r}: {ds.skipped}")))
            continue
        files = expand(ds)
        if not files and not wanted:
            pats = ", ".join(ds.paths)
            items.append(WorkItem(ds, None, where, Problem("no_files", f"dataset {ds.name!r}: {pats} matches no file")))
        for f in files:
            if not wanted or _wanted(f, wanted):
                items.append(WorkItem(ds, f, display_path(f)))
    return items


def stamp(active: ActiveRule, loc: Location, v: Violation, digest: str) -> Finding:
    r = active.rule
    return Finding(rule=r.code, category=r.category, severity=active.severity,  # type: ignore[arg-type]
                   path=loc.path, line=loc.line, sample=loc.index, message=v.message, turn=v.turn,
                   fix=v.fix, digest=digest)


def run_rules(sample: Sample, ctx: Context, selection: Selection, out: FileResult) -> None:
    for active in selection.rules:
        check = active.rule.check
        if check.sample is None or not (sample.ok or check.structural):
            continue
        if selection.ignored_for(sample.location.path, active.rule.code):
            continue
        try:
            for v in check.sample(sample, ctx, active.options):
                out.findings.append(stamp(active, sample.location, v, sample.digest))
        except Exception as exc:  # a crashing rule is our bug: report it, keep checking
            where = f"{sample.location.path}:{sample.location.line or sample.location.index}"
            out.errors.append(f"rule {active.rule.code} failed on {where}: {exc!r}\n{traceback.format_exc()}")


def check_sample(sample: Sample, ctx: Context, selection: Selection) -> FileResult:
    """The sample rules on one sample (`thinklint show`): findings sorted, as `lint` sorts them."""
    out = FileResult(sample.location.path, sample.dataset)
    run_rules(sample, ctx, selection, out)
    out.findings.sort(key=Finding.sort_key)
    return out


def _count_length(sample: Sample, ctx: Context, out: FileResult) -> None:
    try:
        encoded = ctx.tokens.encode(sample, ctx.dataset)  # a cache hit: the token rules just encoded it
    except Exception:  # a crash here is already reported by the rule that met it first
        return
    full = getattr(encoded, "full_length", None)  # Unencodable has none: other rules say why
    if isinstance(full, int):
        out.lengths[full] = out.lengths.get(full, 0) + 1


def check_file(item: WorkItem, ctx: Context, selection: Selection,
               max_line_bytes: int = DEFAULT_MAX_LINE_BYTES) -> FileResult:
    out = FileResult(item.display, item.dataset.name)
    lengths = selection.needs_tokenizer and ctx.token_factory is not None
    if item.notice is not None or item.path is None:
        notice = item.notice or Problem("no_files", "no file")
        run_rules(Sample(Location(item.display, None, None), item.dataset.name, item.dataset.format,
                         problems=(notice,)), ctx, selection, out)
        return out
    out.file = True
    try:
        for record in read_records(item.path, max_line_bytes):
            try:
                sample = normalise(record, item.dataset, item.display, ctx.profile, ctx.special_tokens)
            except Exception as exc:  # a normaliser that crashes is our bug: report it, keep checking
                where = f"{item.display}:{record.line or record.index}"
                out.errors.append(f"reading failed on {where}: {exc!r}\n{traceback.format_exc()}")
                out.samples += record.index is not None
                continue
            if record.index is not None:
                out.samples += 1
                if sample.ok and sample.messages:
                    thinking = is_thinking(sample, ctx.profile)
                    out.thinking += thinking is True
                    out.non_thinking += thinking is False
            run_rules(sample, ctx, selection, out)
            if lengths and sample.ok and record.index is not None:
                _count_length(sample, ctx, out)
    except FileError as exc:
        run_rules(Sample(Location(item.display, None, None), item.dataset.name, item.dataset.format,
                         problems=(Problem("unreadable", f"{exc}"),)), ctx, selection, out)
    else:
        if not out.samples:  # an empty file trains nothing, and `datasets` refuses to load one
            empty = Problem("empty_file", "the file holds no samples")
            run_rules(Sample(Location(item.display, None, None), item.dataset.name, item.dataset.format,
                             problems=(empty,)), ctx, selection, out)
    return out


def dataset_findings(stats: Mapping[str, DatasetStats], contexts: Mapping[str, Context],
                     selection: Selection) -> list[Finding]:
    out: list[Finding] = []
    for name, st in stats.items():
        ctx = contexts[name]
        for active in selection.rules:
            if active.rule.check.dataset is None or selection.ignored_for(st.path, active.rule.code):
                continue
            for v in active.rule.check.dataset(st, ctx, active.options):
                out.append(stamp(active, Location(st.path, None, None), v, ""))
    return out


@dataclass(frozen=True)
class Result:
    findings: tuple[Finding, ...]
    files: int
    samples: int
    datasets: Mapping[str, DatasetStats]
    skipped_token_rules: tuple[str, ...] = ()
    internal_errors: tuple[str, ...] = ()
    #: untruncated token length -> samples, sorted by length; empty when no token rule ran
    lengths: Mapping[int, int] = field(default_factory=dict)


def merge(results: Iterable[FileResult], contexts: Mapping[str, Context], selection: Selection,
          dataset_rules: bool = True) -> Result:
    findings: list[Finding] = []
    stats: dict[str, DatasetStats] = {}
    files = samples = 0
    errors: list[str] = []
    lengths: dict[int, int] = {}
    for r in results:
        findings.extend(r.findings)
        for n, count in r.lengths.items():
            lengths[n] = lengths.get(n, 0) + count
        errors.extend(r.errors)
        files += r.file
        samples += r.samples
        st = stats.get(r.dataset) or DatasetStats(r.dataset, r.display)
        stats[r.dataset] = replace(st, samples=st.samples + r.samples, thinking=st.thinking + r.thinking,
                                   non_thinking=st.non_thinking + r.non_thinking)
    if dataset_rules:
        findings.extend(dataset_findings(stats, contexts, selection))
    findings.sort(key=Finding.sort_key)
    return Result(tuple(findings), files, samples, stats, selection.skipped_token_rules, tuple(errors),
                  dict(sorted(lengths.items())))


def lint(spec: Spec, selection: Selection, contexts: Mapping[str, Context], items: list[WorkItem],
         max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
         mapper: Callable[..., Iterator[FileResult]] | None = None, dataset_rules: bool = True) -> Result:
    """Check `items`; `dataset_rules` is off when a file list narrows the run (a subset says nothing of a whole)."""
    if mapper is None:
        results: Iterable[FileResult] = (check_file(i, contexts[i.dataset.name], selection, max_line_bytes)
                                         for i in items)
    else:
        results = mapper(items)
    return merge(results, contexts, selection, dataset_rules)


def build_contexts(spec: Spec, profile: Profile, token_factory: Callable[[], Any] | None,
                   special_tokens: Mapping[str, str] | None = None) -> dict[str, Context]:
    return {ds.name: Context(spec, ds, profile, token_factory, dict(special_tokens or {})) for ds in spec.datasets}
