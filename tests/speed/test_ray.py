"""--engine ray on a local Ray: the local engine's findings, with the same locations, in the same order."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest

from thinklint import parallel
from thinklint.app import run_lint
from thinklint.settings import Settings
from thinklint.spec import load_spec

from .corpus import make_project

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    """One local Ray for the module (thinklint leaves a Ray it did not start running)."""
    from thinklint.distributed import _init

    started = _init(ray, 2)
    yield
    if started:
        ray.shutdown()


def _result(spec: Path, **kw: Any) -> Any:
    result, _rules, _profile = run_lint(load_spec(spec), Settings(use_cache=False, **kw))
    return result


def test_ray_equals_local(tmp_path: Path, local_ray: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "MIN_SHARD_BYTES", 512)
    spec = make_project(tmp_path, tokens=False)
    local = _result(spec, jobs=1)
    distributed = _result(spec, jobs=2, engine="ray")
    assert [(f, f.fix, f.digest) for f in distributed.findings] == [(f, f.fix, f.digest) for f in local.findings]
    assert distributed == local


@pytest.mark.tokens
def test_ray_token_rules_equal_local(tmp_path: Path, local_ray: None, qwen3_available: None,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "MIN_SHARD_BYTES", 512)
    spec = make_project(tmp_path, tokens=True, repeat=3)
    local = _result(spec, jobs=1)
    distributed = _result(spec, jobs=2, engine="ray")
    assert any(f.rule.startswith(("MSK", "TPL", "TRN")) for f in local.findings)
    assert distributed == local
