"""`--jobs N`: the pure per-file check in N worker processes, results in the order of the plan.

Start method: forkserver where the platform has it (Linux), else spawn; fork only for a structural
run that has one thread and has never loaded tokenizers (`can_fork`). A forked child inherits the
parent's threads' locks but not the threads: tokenizers' Rust thread pool, once used, makes a
forked child hang or silently lose its parallelism, and Python 3.12+ warns on fork with threads
running. The fork server is a fresh, single-threaded interpreter that imports thinklint once;
workers fork from it in milliseconds and build their own context (tokenizer, templates, trainer
model) once each, on their first task. Forked workers start with the parent's context built.

Each worker tokenizes on one thread (TOKENIZERS_PARALLELISM=false): N processes already use N
cores, and Rust threads on top would only fight them.
"""

from __future__ import annotations

import os
import signal
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Sequence

if TYPE_CHECKING:
    import multiprocessing.context
    from concurrent.futures import Future

from thinklint.context import Context
from thinklint.engine import FileResult
from thinklint.model import Finding
from thinklint.planning import WorkItem
from thinklint.profiles import Profile
from thinklint.readers.shards import count_before, plan_shards, shardable
from thinklint.selection import Selection
from thinklint.settings import Settings
from thinklint.spec import Spec

#: shards are cut this small at least (a worker's per-shard cost is an open and a seek) ...
MIN_SHARD_BYTES = 1 << 20
#: ... and this large at most, so progress and load balance stay fine-grained
MAX_SHARD_BYTES = 64 << 20
#: shards per worker: enough that one slow shard does not leave the other workers idle
SHARDS_PER_JOB = 4


@dataclass(frozen=True)
class Recipe:
    """What a worker needs to rebuild the run's state: plain, picklable data."""

    spec: Spec
    settings: Settings
    profile: Profile
    max_line_bytes: int
    cache_dir: Path | None = None


def default_jobs() -> int:
    """The CPUs this process may run on (the affinity mask, as containers set it), else the count."""
    try:
        return max(1, len(os.sched_getaffinity(0)))  # type: ignore[attr-defined,unused-ignore]
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def shard_items(items: Sequence[WorkItem], jobs: int) -> list[WorkItem]:
    """Cut large JSONL files into byte-range shards so that `jobs` workers can share them (their
    results go through `rebase`)."""
    sizes = {i.path: _size(i.path) for i in items if i.path is not None}
    total = sum(sizes.values())
    target = min(MAX_SHARD_BYTES, max(MIN_SHARD_BYTES, total // max(1, jobs * SHARDS_PER_JOB)))
    out: list[WorkItem] = []
    for item in items:
        if item.path is None or sizes.get(item.path, 0) <= target or not shardable(item.path):
            out.append(item)
            continue
        shards = plan_shards(item.path, target)
        out.extend(replace(item, shard=s) if len(shards) > 1 else item for s in shards)
    return out


def rebase(results: Iterable[FileResult], items: Sequence[WorkItem], max_line_bytes: int,
           again: Callable[[WorkItem], FileResult]) -> Iterator[FileResult]:
    """`results` (which follow `items`) with the findings of relative shards placed in their file.

    A relative shard counts lines and samples from its own start; the shards of its file before it,
    earlier in `items`, say how many come first. A shard that could not say (its read failed), that
    follows one that could not, or that reports an internal error (whose message names a line) is
    checked `again`, here, with what comes before it counted: rare, and then exact.
    """
    before: dict[tuple[str, Path], tuple[int, int] | None] = {}
    for item, result in zip(items, results):
        shard = item.shard
        if shard is None or item.path is None:
            yield result
            continue
        key = (item.dataset.name, item.path)
        base = (0, 0) if shard.first else before.get(key)
        if shard.relative and (base is None or result.span is None or result.errors):
            base = count_before(item.path, shard.start, max_line_bytes)
            result = again(replace(item, shard=replace(shard, line=base[0], index=base[1])))
        elif shard.relative and base is not None and base != (0, 0):
            result.findings = [_shifted(f, *base) for f in result.findings]
            if result.facts is not None:  # the cache entry records where each sample is
                result.facts.shift(*base)
        span = result.span
        before[key] = None if base is None or span is None else (base[0] + span[0], base[1] + span[1])
        yield result


def _shifted(f: Finding, lines: int, samples: int) -> Finding:
    if f.line is None and f.sample is None:
        return f
    return replace(f, line=None if f.line is None else f.line + lines,
                   sample=None if f.sample is None else f.sample + samples)


def _size(path: Path | None) -> int:
    try:
        return path.stat().st_size if path is not None else 0
    except OSError:
        return 0


def item_bytes(item: WorkItem) -> int:
    if item.shard is not None:
        return item.shard.end - item.shard.start
    return _size(item.path)


# -- the worker side -------------------------------------------------------------------------------
_STATE: dict[str, Any] = {}


def worker_state(recipe: Recipe) -> dict[str, Any]:
    """The run's selection and contexts, built once per process (the token layer on first use, as a
    worker's: see `app.token_factory`)."""
    from thinklint.app import build_run

    selection, contexts = build_run(recipe.spec, recipe.settings, recipe.profile, worker=True)
    return {"recipe": recipe, "selection": selection, "contexts": contexts}


def _init(recipe: Recipe, counter: Any) -> None:
    # the state is built by the first task, not here: an initializer's exception breaks the pool and
    # is lost, a task's (a tokenizer that cannot load) reaches the parent intact
    os.environ["TOKENIZERS_PARALLELISM"] = "false"
    # a forked worker inherits the command's SIGTERM handler, which raises to clean up the parent's
    # files: a worker has none, and is stopped as a fork server's worker is, at once
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _STATE["pending"] = recipe
    _STATE["counter"] = counter


def _report(samples: int, nbytes: int) -> None:
    counter = _STATE.get("counter")
    if counter is not None:
        with counter.get_lock():
            counter[0] += samples
            counter[1] += nbytes


def run_item(state: dict[str, Any], item: WorkItem, progress: Callable[[int, int], None] | None = None) -> FileResult:
    from thinklint.cache import check_cached

    recipe: Recipe = state["recipe"]
    ctx = state["contexts"][item.dataset.name]
    return check_cached(item, ctx, state["selection"], recipe.max_line_bytes, recipe.cache_dir, progress)


def _work(item: WorkItem) -> FileResult:
    if "recipe" not in _STATE:
        _STATE.update(worker_state(_STATE["pending"]))
    return run_item(_STATE, item, _report)


# -- the parent side -------------------------------------------------------------------------------
def can_fork(token_rules: bool) -> bool:
    """Whether workers may be forked from this process with its state built: a structural run on Linux
    whose process has one thread and has never loaded tokenizers (whose Rust threads make a forked
    child hang). Forking skips the fork server's interpreter and each worker's rebuild of the run."""
    import threading

    return (sys.platform.startswith("linux") and not token_rules and "tokenizers" not in sys.modules
            and threading.active_count() == 1)


def _context(fork: bool = False) -> multiprocessing.context.BaseContext:
    import multiprocessing  # with concurrent.futures: imported only by runs that start workers

    methods = multiprocessing.get_all_start_methods()
    if fork and "fork" in methods:
        return multiprocessing.get_context("fork")
    if "forkserver" in methods and sys.platform != "darwin":
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["thinklint.parallel", "thinklint.app"])
        return ctx
    return multiprocessing.get_context("spawn")


def process_map(recipe: Recipe, items: Sequence[WorkItem], jobs: int,
                progress: Callable[[int, int], None] | None = None,
                built: tuple[Selection, dict[str, Context]] | None = None) -> Iterator[FileResult]:
    """Results of `check_file` for every item, in the order of `items`, from `jobs` processes.

    `built`: the run's selection and contexts, when this process may fork its workers (`can_fork`)."""
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    mp = _context(fork=built is not None)
    counter = mp.Array("q", 2)  # samples, bytes: workers add after each batch
    seen = [0, 0]
    if built is not None:  # forked workers start with the state: the pool forks them all at the first submit
        _STATE.update(recipe=recipe, selection=built[0], contexts=built[1])
    with ProcessPoolExecutor(max_workers=jobs, mp_context=mp, initializer=_init,
                             initargs=(recipe, counter)) as pool:
        try:
            futures: list[Future[FileResult]] = [pool.submit(_work, item) for item in items]
        finally:
            for key in ("recipe", "selection", "contexts"):
                _STATE.pop(key, None)  # the parent's own runs (tests call main() repeatedly) start clean
        try:
            for future in futures:
                while not future.done():
                    wait([future], timeout=0.1, return_when=FIRST_COMPLETED)
                    if progress is not None:
                        now = (counter[0], counter[1])
                        progress(now[0] - seen[0], now[1] - seen[1])
                        seen[:] = now
                yield future.result()
        finally:
            for future in futures:
                future.cancel()
    if progress is not None:
        progress(counter[0] - seen[0], counter[1] - seen[1])


def worth_parallel(items: Sequence[WorkItem], jobs: int, token_rules: bool) -> bool:
    """Start workers only when the work outweighs their start-up (pre-commit's few changed files do not)."""
    if jobs <= 1:
        return False
    override = os.environ.get("THINKLINT_PARALLEL_MIN_BYTES")
    total = sum(item_bytes(i) for i in items)
    if override is not None:
        return total >= int(override)
    # a worker starts in ~0.2 s, ~3 s with a tokenizer; serial rates: ~50 MB/s structural, ~3 MB/s token
    return total >= (12 << 20 if token_rules else 24 << 20)
