"""`--engine ray`: the same pure per-file check, one shard per Ray task, on actors that hold the context.

`ray.init()` starts a local Ray for this run unless RAY_ADDRESS names an existing cluster (Ray reads
it itself); on a cluster, thinklint must be installed on the nodes and the data (and, to reuse it,
the cache folder) must be at the same paths on every node. Each actor builds the run's selection
and contexts (tokenizer, templates, trainer model) once, then checks the shards it is handed; the
shards are those of `--jobs` (byte ranges of large JSONL files cut at line starts), and results
come back in plan order, so findings and their locations are the local engine's.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from thinklint.engine import FileResult
from thinklint.parallel import Recipe, item_bytes, run_item, worker_state
from thinklint.planning import WorkItem
from thinklint.yamlsrc import SourceError


class Checker:
    """A Ray actor's state: the run rebuilt once from its recipe."""

    def __init__(self, recipe: Recipe) -> None:
        os.environ["TOKENIZERS_PARALLELISM"] = "false"  # one core per actor, as the local workers
        self.state: dict[str, Any] | None = None
        self.recipe = recipe

    def run(self, item: WorkItem) -> FileResult:
        if self.state is None:  # built by the first shard, so that a failure is that task's error
            self.state = worker_state(self.recipe)
        return run_item(self.state, item)


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise SourceError("--engine ray", None, "", "Ray is not installed: pip install 'thinklint[ray]'") from None
    return ray


def _init(ray: Any, jobs: int) -> bool:
    """Connect to RAY_ADDRESS's cluster or start a local Ray; True when this run started it."""
    if ray.is_initialized():
        return False
    kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
    if not os.environ.get("RAY_ADDRESS"):
        # a local Ray: as many CPUs as workers, and this thinklint importable in them (a source checkout too)
        here = str(Path(__file__).resolve().parent.parent)
        path = os.pathsep.join(p for p in (here, os.environ.get("PYTHONPATH", "")) if p)
        kwargs.update(num_cpus=jobs, runtime_env={"env_vars": {"PYTHONPATH": path, "TOKENIZERS_PARALLELISM": "false"}})
    ray.init(**kwargs)
    return True


def ray_map(recipe: Recipe, items: Sequence[WorkItem], jobs: int,
            progress: Callable[[int, int], None] | None = None) -> Iterator[FileResult]:
    """`check_file` of every item on `jobs` Ray actors, results in the order of `items`."""
    ray = _import_ray()
    from ray.util import ActorPool

    started = _init(ray, jobs)
    try:
        actor = ray.remote(num_cpus=1)(Checker)
        pool = ActorPool([actor.remote(recipe) for _ in range(max(1, min(jobs, len(items))))])
        results = pool.map(lambda a, item: a.run.remote(item), list(items))
        for item, result in zip(items, _unwrapped(ray, results)):
            if progress is not None:
                progress(result.samples, item_bytes(item))
            yield result
    finally:
        if started:
            ray.shutdown()


def _unwrapped(ray: Any, results: Iterator[FileResult]) -> Iterator[FileResult]:
    """Results as they come; a task's SourceError (a tokenizer that cannot load) raised as itself."""
    while True:
        try:
            yield next(results)
        except StopIteration:
            return
        except ray.exceptions.RayTaskError as exc:
            cause = getattr(exc, "cause", None)
            if isinstance(cause, SourceError):
                raise SourceError(cause.path, cause.line, cause.key, cause.message) from None
            raise
