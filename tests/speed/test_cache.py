"""The incremental cache: same findings as a fresh run, only changed samples re-checked, never trusted blindly."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from thinklint import cache, engine, entries
from thinklint.cache import CACHE_DIR
from thinklint.cli import main
from thinklint.entries import load_entry

from .corpus import GOOD, make_project
from .corpus import assert_same as _same
from .corpus import lint as _run

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many records the engine normalises (= samples checked, not taken from the cache)."""
    calls = [0]
    real = engine.normalise  # type: ignore[attr-defined]

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(engine, "normalise", counting)
    return calls


def _entries(tmp: Path) -> list[Path]:
    return sorted((tmp / CACHE_DIR).glob("v*/*/*.entry"))


def test_cold_warm_and_uncached_runs_agree(tmp_path: Path, counted: list[int]) -> None:
    spec = make_project(tmp_path, tokens=False)
    fresh = _run(spec, use_cache=False)
    assert not (tmp_path / CACHE_DIR).exists()  # --no-cache writes nothing
    cold = _run(spec)
    counted[0] = 0
    warm = _run(spec)
    _same(cold, fresh)
    _same(warm, fresh)
    assert counted[0] == 0  # nothing parsed, nothing checked
    assert (tmp_path / CACHE_DIR / ".gitignore").read_text(encoding="utf-8").splitlines()[-1] == "*"
    assert (tmp_path / CACHE_DIR / "CACHEDIR.TAG").is_file()
    assert len(_entries(tmp_path)) == 2  # one entry per data file


def test_editing_one_line_rechecks_only_that_sample(tmp_path: Path, counted: list[int]) -> None:
    spec = make_project(tmp_path, tokens=False)
    _run(spec)
    big = tmp_path / "big.jsonl"
    lines = big.read_text(encoding="utf-8").split("\n")
    lines[40] = json.dumps({"messages": [{"role": "user", "content": "edited"},
                                         {"role": "assistant", "content": "<think>oops"}]})
    lines.insert(3, json.dumps(GOOD))  # and one inserted above: everything below moves down a line
    big.write_text("\n".join(lines), encoding="utf-8")
    counted[0] = 0
    after = _run(spec, paths=(str(big),))
    assert counted[0] == 1  # the edited sample; the inserted one is a copy of a known sample
    _same(after, _run(spec, paths=(str(big),), use_cache=False))


def _reseal(head: bytes, body: bytes) -> bytes:
    """An entry whose checksum holds for `body`: damage only the shape checks can catch."""
    header = json.loads(head)
    header["sha256"] = entries._checksum(body, header["samples"], header["findings"], header["text"], header["stat"])
    return json.dumps(header).encode() + b"\n" + body


def _damage(data: bytes, damage: str) -> bytes:
    head, _, body = data.partition(b"\n")
    header = json.loads(head)
    n, m, text = header["samples"], header["findings"], header["text"]
    turns = text + 4 * 5 * m  # where the columns start (see thinklint.entries)
    thinking = turns + 8 * m + (16 + 12) * n
    if damage == "truncate":
        return data[: len(data) // 2]
    if damage == "garbage":
        return b"\x00\xff not json"
    if damage == "checksum":
        return head + b"\n" + body.replace(b"THK001", b"THK002")
    if damage == "stat":  # the file's stat, which would make a changed file look unchanged, outside the body
        return json.dumps({**header, "stat": [1, 2, 3, 4, 5]}).encode() + b"\n" + body
    if damage == "empty":
        return b""
    if damage == "text":  # a valid checksum, text that is not UTF-8
        return _reseal(head, b"\xff" + body[1:])
    if damage == "turn":  # a valid checksum, a turn below -1 (none)
        return _reseal(head, body[:turns] + struct.pack("<q", -5) + body[turns + 8:])
    if damage == "number":  # a valid checksum, a finding number past the table's end
        return _reseal(head, body[:-4] + struct.pack("<I", m + 5))
    if damage == "thinking":  # a valid checksum, a thinking code that is none of 1, 0, -1
        return _reseal(head, body[:thinking] + b"\x07" + body[thinking + 1:])
    assert damage == "size"  # a valid checksum, a column cut short
    return _reseal(head, body[:-2])


@pytest.mark.parametrize("damage", ["truncate", "garbage", "checksum", "stat", "text", "turn", "number",
                                    "thinking", "size", "empty"])
def test_a_damaged_entry_is_ignored_and_rewritten(tmp_path: Path, counted: list[int], damage: str) -> None:
    spec = make_project(tmp_path, tokens=False)
    fresh = _run(spec, use_cache=False)
    _run(spec)
    for entry in _entries(tmp_path):
        assert load_entry(entry) is not None
        entry.write_bytes(_damage(entry.read_bytes(), damage))
        assert load_entry(entry) is None
    counted[0] = 0
    _same(_run(spec), fresh)
    assert counted[0] > 50  # everything re-checked
    assert all(load_entry(e) is not None for e in _entries(tmp_path))  # and remembered again


def test_a_changed_configuration_does_not_reuse_results(tmp_path: Path, counted: list[int]) -> None:
    spec = make_project(tmp_path, tokens=False)
    _run(spec)
    spec.write_text(spec.read_text(encoding="utf-8") + "rules: {severity: {THK: info}}\n", encoding="utf-8")
    counted[0] = 0
    changed = _run(spec)
    assert counted[0] > 50
    assert all(f.severity == "info" for f in changed.findings if f.rule.startswith("THK"))
    _same(changed, _run(spec, use_cache=False))
    counted[0] = 0
    _same(_run(spec, select=("THK",)), _run(spec, select=("THK",), use_cache=False))  # CLI selection too


def test_the_code_fingerprint_follows_source_files_but_not_bytecode(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """A source checkout edited in place keys a new cache configuration (no version bump needed)."""
    package = tmp_path / "thinklint"
    (package / "checks" / "__pycache__").mkdir(parents=True)
    (tmp_path / "rules").mkdir()
    (package / "checks" / "think.py").write_text("x = 1\n")
    (tmp_path / "rules" / "THK001.yaml").write_text("code: THK001\n")
    monkeypatch.setattr(cache, "_PACKAGE", package)
    first = cache.code_fingerprint()
    (package / "checks" / "__pycache__" / "think.cpython-311.pyc").write_bytes(b"compiled")
    (package / "notes.txt").write_text("not code")
    assert cache.code_fingerprint() == first
    (package / "checks" / "think.py").write_text("x = 22\n")
    second = cache.code_fingerprint()
    assert second != first
    (tmp_path / "rules" / "THK001.yaml").write_text("code: THK002\n")
    os.utime(tmp_path / "rules" / "THK001.yaml", ns=(1, 1))  # same size, another modification time
    assert cache.code_fingerprint() != second


def test_dataset_rules_are_recomputed_from_cached_facts(tmp_path: Path) -> None:
    spec = make_project(tmp_path, tokens=False)
    cold = _run(spec)
    warm = _run(spec)
    assert [f for f in warm.findings if f.rule == "MOD006"] == [f for f in cold.findings if f.rule == "MOD006"] != []
    assert warm.datasets == cold.datasets


def test_parallel_runs_use_and_fill_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from thinklint import parallel

    monkeypatch.setenv("THINKLINT_PARALLEL_MIN_BYTES", "0")
    monkeypatch.setattr(parallel, "MIN_SHARD_BYTES", 512)
    spec = make_project(tmp_path, tokens=False)
    fresh = _run(spec, use_cache=False, jobs=1)
    cold = _run(spec, jobs=2)  # no entries yet: workers, shards
    assert len(_entries(tmp_path)) == 2
    _same(cold, fresh)
    _same(_run(spec, jobs=1), fresh)  # the sharded run's entry serves a serial run


@pytest.mark.tokens
def test_token_rules_from_the_cache(tmp_path: Path, qwen3_available: None, counted: list[int]) -> None:
    spec = make_project(tmp_path, tokens=True, repeat=2)
    fresh = _run(spec, use_cache=False)
    _same(_run(spec), fresh)
    counted[0] = 0
    _same(_run(spec), fresh)
    assert counted[0] <= 1


def test_cache_clean(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_project(tmp_path, tokens=False)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    assert runner.invoke(main, ["check", "--exit-zero"]).exit_code == 0
    assert (tmp_path / CACHE_DIR).is_dir()
    result = runner.invoke(main, ["cache", "clean"])
    assert result.exit_code == 0 and "removed" in result.output
    assert not (tmp_path / CACHE_DIR).exists()
    assert "no cache" in runner.invoke(main, ["cache", "clean"]).output


def _edit(big: Path, at: int) -> None:
    """Change the sample on line `at + 1` of `big` (its file then looks newer than its cache entry)."""
    lines = big.read_text(encoding="utf-8").split("\n")
    lines[at] = json.dumps({"messages": [{"role": "user", "content": "edited " * 40},
                                         {"role": "assistant", "content": "<think>\n\n</think>\n\nok"}]})
    big.write_text("\n".join(lines), encoding="utf-8")


@pytest.mark.tokens
@pytest.mark.parametrize("helper", ["works", "dies"])
def test_an_edit_checked_by_the_helper_finds_what_an_uncached_run_finds(
        tmp_path: Path, qwen3_available: None, helper: str) -> None:
    """The changed samples go to a forked child that loaded the tokenizer meanwhile; if it fails, to the parent.

    In a fresh interpreter: thinklint forks only a process with no other thread, and a test session
    has some (tqdm's monitor, once transformers has been imported).
    """
    code = f"from tests.speed.test_cache import helper_scenario\nhelper_scenario({str(tmp_path)!r}, {helper!r})"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def helper_scenario(tmp: str, helper: str) -> None:
    from thinklint import helper as helper_module

    tmp_path = Path(tmp)
    counted = [0]
    real_normalise = engine.normalise  # type: ignore[attr-defined]

    def counting(*args: Any, **kwargs: Any) -> Any:
        counted[0] += 1
        return real_normalise(*args, **kwargs)

    engine.normalise = counting  # type: ignore[attr-defined]
    spec = make_project(tmp_path, tokens=True, repeat=3)
    _run(spec)
    started: list[object] = []
    real_start = helper_module.Helper.start

    def start(*args: Any) -> Any:
        started.append(real_start(*args))
        return started[-1]

    helper_module.Helper.start = start  # type: ignore[method-assign]
    if helper == "dies":
        helper_module._serve = lambda *args: None
    _same(_run(spec), _run(spec, use_cache=False))
    assert started == []  # nothing changed: no tokenizer, no helper
    big = tmp_path / "big.jsonl"
    _edit(big, 5)
    _edit(big, 20)
    counted[0] = 0
    edited = _run(spec)
    assert len(started) == 1 and started[0] is not None
    assert counted[0] == (0 if helper == "works" else 2)  # in the child, or (it died) here
    _same(edited, _run(spec, use_cache=False))
    _same(_run(spec), edited)  # and the entry the edited run wrote holds
    assert len(started) == 1
    big.touch()  # newer than its entry, but unchanged: a helper is started (and nothing is sent to it) ...
    _same(_run(spec), edited)
    _same(_run(spec), edited)  # ... once: the entry is then known to be current
    assert len(started) == 2




@pytest.mark.parametrize("typed", ["date", "bytes"])
def test_a_parquet_cell_that_changes_type_but_reads_the_same_is_checked_again(
        tmp_path: Path, counted: list[int], typed: str) -> None:
    """A date and the string "2024-01-01" (or bytes and "b'hi'") once shared a row digest, the cache's key:
    the date's FMT004 was never reported after the string's clean run."""
    import datetime

    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    value, text = (datetime.date(2024, 1, 1), "2024-01-01") if typed == "date" else (b"hi", "b'hi'")
    spec = tmp_path / "thinklint.yaml"
    spec.write_text("version: 1\ndatasets:\n  - {name: d, path: data.parquet, format: alpaca}\n", encoding="utf-8")
    output = ["<think>\nR\n</think>\n\n4"]
    pq.write_table(pa.table({"instruction": [text], "output": output}), tmp_path / "data.parquet")
    assert not _run(spec).findings
    pq.write_table(pa.table({"instruction": [value], "output": output}), tmp_path / "data.parquet")
    counted[0] = 0
    cached = _run(spec)
    assert counted[0] == 1  # checked again, not taken from the string's entry
    assert [f.rule for f in cached.findings] == ["FMT004"]
    _same(cached, _run(spec, use_cache=False))
