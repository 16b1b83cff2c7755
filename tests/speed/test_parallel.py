"""--jobs N: worker processes and shards give the serial engine's result, finding for finding, in order."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from thinklint import parallel
from thinklint.app import WORKER_GC_YOUNG, run_lint
from thinklint.cli import main
from thinklint.settings import Settings
from thinklint.spec import load_spec

from .corpus import make_project


@pytest.fixture
def force_parallel(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("THINKLINT_PARALLEL_MIN_BYTES", "0")
    monkeypatch.setattr(parallel, "MIN_SHARD_BYTES", 512)  # several shards even for a small file


def _result(spec_path: Path, **kw: Any) -> Any:
    result, _rules, _profile = run_lint(load_spec(spec_path), Settings(use_cache=False, **kw))
    return result


def test_structural_parallel_equals_serial(tmp_path: Path, force_parallel: None) -> None:
    spec = make_project(tmp_path, tokens=False)
    items = parallel.shard_items(__import__("thinklint.planning").planning.plan(load_spec(spec)), 3)
    assert sum(i.shard is not None for i in items) >= 3  # the large file really is cut
    serial, par = _result(spec, jobs=1), _result(spec, jobs=3)
    assert par.findings and any(f.rule == "MOD006" for f in par.findings)
    assert [(f, f.fix, f.digest) for f in par.findings] == [(f, f.fix, f.digest) for f in serial.findings]
    assert par == serial  # files, samples, per-dataset stats, errors


@pytest.mark.tokens
def test_token_parallel_equals_serial(tmp_path: Path, force_parallel: None, qwen3_available: None) -> None:
    spec = make_project(tmp_path, tokens=True, repeat=4)
    serial, par = _result(spec, jobs=1), _result(spec, jobs=2)
    assert any(f.rule.startswith(("MSK", "TPL", "TRN")) for f in par.findings)
    assert par == serial


def test_rebase_places_relative_shards_and_checks_again_what_cannot_be_placed(tmp_path: Path) -> None:
    from thinklint.engine import FileResult
    from thinklint.model import Finding
    from thinklint.planning import WorkItem
    from thinklint.readers.shards import Shard, plan_shards

    data = tmp_path / "d.jsonl"
    data.write_text("".join(json.dumps({"n": i}) + ("\n\n" if i % 3 == 0 else "\n") for i in range(30)),
                    encoding="utf-8")
    spec = load_spec(_spec_for(tmp_path))
    item = __import__("thinklint.planning").planning.plan(spec)[0]
    shards = plan_shards(data, 60)
    assert len(shards) >= 4 and all(s.relative for s in shards[1:])
    items = [replace(item, shard=s) for s in shards]

    def result(shard: Shard, span: tuple[int, int] | None) -> FileResult:
        f = Finding("FMT003", "format", "error", "d.jsonl", 1, 0, "first line of the shard")
        return FileResult("d.jsonl", item.dataset.name, findings=[f], span=span)

    # what each shard holds, counted as the reader counts (a blank line is a line, not a sample)
    spans = [(b[0] - a[0], b[1] - a[1]) for a, b in zip(
        [parallel.count_before(data, s.start) for s in shards],
        [parallel.count_before(data, s.end) for s in shards])]
    asked: list[Shard] = []

    def again(i: WorkItem) -> FileResult:
        assert i.shard is not None and not i.shard.relative
        asked.append(i.shard)
        return FileResult("d.jsonl", item.dataset.name, findings=[], span=spans[shards.index(replace(i.shard, line=0, index=0))])

    results = [result(s, span) for s, span in zip(shards, spans)]
    results[2].span = None  # its read failed: it is read again in place, and the next placed after it
    results[-1].errors = ["rule X failed on d.jsonl:1: ..."]  # a message naming a line of the shard
    placed = list(parallel.rebase(results, items, 1 << 20, again))
    firsts = [parallel.count_before(data, s.start) for s in shards]
    assert [(s.start, s.line, s.index) for s in asked] == [(shards[2].start, *firsts[2]), (shards[-1].start, *firsts[-1])]
    assert [(f.line, f.sample) for f in placed[0].findings] == [(1, 0)]
    for k in (1, 3):
        assert [(f.line, f.sample) for f in placed[k].findings] == [(1 + firsts[k][0], firsts[k][1])]


def _spec_for(folder: Path) -> Path:
    (folder / "thinklint.yaml").write_text("version: 1\ndatasets:\n  - {name: d, path: d.jsonl}\n", encoding="utf-8")
    return folder / "thinklint.yaml"


def test_a_worker_that_cannot_build_its_context_fails_the_run_with_the_spec_error(
        tmp_path: Path, force_parallel: None, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = make_project(tmp_path, tokens=False)
    text = spec.read_text(encoding="utf-8").replace("version: 1\n", "version: 1\nmodel: {tokenizer: ./no-such-tokenizer}\n")
    spec.write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["check", "--jobs", "2", "--no-cache", "--select", "MSK001"])
    assert result.exit_code == 2, result.output
    assert "model.tokenizer" in result.output and "no such folder" in result.output
    assert "Traceback" not in result.output


def test_small_inputs_stay_in_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("THINKLINT_PARALLEL_MIN_BYTES", raising=False)
    spec = make_project(tmp_path, tokens=False)
    items = __import__("thinklint.planning").planning.plan(load_spec(spec))
    assert not parallel.worth_parallel(items, 8, token_rules=True)
    assert not parallel.worth_parallel(items, 1, token_rules=False)
    big = [replace(items[0], shard=__import__("thinklint.readers.shards").readers.shards.Shard(0, 1 << 30, 0, 0))]
    assert parallel.worth_parallel(big, 2, token_rules=False)


def test_default_jobs_is_the_usable_cpu_count() -> None:
    expected = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert parallel.default_jobs() == expected


def test_a_structural_run_forks_its_workers_only_when_that_is_safe(monkeypatch: pytest.MonkeyPatch) -> None:
    import subprocess
    import sys
    import threading

    # a fresh structural command has one thread and no tokenizers: it forks
    probe = "import thinklint.app, thinklint.parallel as p; print(p.can_fork(False), p.can_fork(True))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["True", "False"]  # token rules load tokenizers, whose threads a fork would break
    monkeypatch.setitem(sys.modules, "tokenizers", object())  # loaded by an earlier run of this process
    assert not parallel.can_fork(False)
    monkeypatch.delitem(sys.modules, "tokenizers")
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert not parallel.can_fork(False)
    finally:
        stop.set()
        other.join()


def test_forked_workers_give_the_serial_result(tmp_path: Path) -> None:
    import subprocess
    import sys

    spec = make_project(tmp_path, tokens=False)
    cmd = [sys.executable, "-m", "thinklint", "check", "--no-cache", "--exit-zero", "--format", "json",
           "--config", str(spec)]
    env = {**os.environ, "THINKLINT_PARALLEL_MIN_BYTES": "0"}
    serial = subprocess.run([*cmd, "--jobs", "1"], capture_output=True, text=True, env=env, cwd=tmp_path)
    forked = subprocess.run([*cmd, "--jobs", "2"], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert forked.returncode == serial.returncode == 0 and forked.stderr == serial.stderr == ""
    assert '"MOD006"' in forked.stdout
    assert forked.stdout == serial.stdout


@pytest.mark.tokens
def test_a_worker_freezes_what_its_token_layer_loaded_and_the_main_process_does_not(
        tmp_path: Path, qwen3_available: None) -> None:
    from tests.util import run_python

    spec = make_project(tmp_path, tokens=True)
    # in a fresh interpreter: gc.freeze is for the whole process, and this one is pytest's
    code = ("import gc, sys\nfrom pathlib import Path\n"
            "from thinklint.app import build_run, load_profile\nfrom thinklint.parallel import Recipe, worker_state\n"
            "from thinklint.settings import Settings\nfrom thinklint.spec import load_spec\n"
            f"spec = load_spec(Path({str(spec)!r}))\nsettings = Settings(use_cache=False)\n"
            "_sel, contexts = build_run(spec, settings, load_profile(spec))\n"
            "[c.tokens for c in contexts.values()]\nprint('main', gc.get_freeze_count())\n"
            "print('main_young', gc.get_threshold()[0])\n"
            "state = worker_state(Recipe(spec, settings, load_profile(spec), 1 << 20))\n"
            "print('before', gc.get_freeze_count())\n"
            "[c.tokens for c in state['contexts'].values()]\nprint('worker', gc.get_freeze_count())\n"
            "print('worker_young', gc.get_threshold()[0])\n")
    proc = run_python(code)
    assert proc.returncode == 0, proc.stderr
    counts = dict(line.split() for line in proc.stdout.splitlines())
    assert counts["main"] == "0" and counts["before"] == "0"  # nothing frozen until a worker's layer is built
    assert int(counts["worker"]) > 10_000  # the tokenizer's load, out of the collector's sight
    # and only a worker collects its youngest objects less often
    assert counts["main_young"] == "700" and counts["worker_young"] == str(WORKER_GC_YOUNG)
