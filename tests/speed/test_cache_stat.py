"""Files known unchanged by their stat, and entries rewritten by copying: the same findings, never a stale one."""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path
from typing import Any

import pytest

from thinklint import cache, engine
from thinklint.cache import CACHE_DIR, settled
from thinklint.entries import load_entry
from thinklint.filefacts import FileFacts

from .corpus import GOOD, make_project
from .corpus import assert_same as _same
from .corpus import lint as _run


def _entries(tmp: Path) -> dict[str, Any]:
    """Each data file's entry, by the name of the file (the entries' names are hashes)."""
    found = {}
    for path in (tmp / CACHE_DIR).glob("v*/*/*.entry"):
        entry = load_entry(path)
        assert entry is not None
        found["small.json" if entry.lines and entry.lines[0] == -1 else "big.jsonl"] = entry
    return found


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The files the engine reads (the stat-trusted path reads none); files count as settled at once."""
    monkeypatch.setattr(cache, "SETTLED_NS", 0)
    read: list[str] = []
    real = cache.check_file

    def reading(item: Any, *args: Any, **kwargs: Any) -> Any:
        read.append(item.path.name if item.path is not None else item.display)
        return real(item, *args, **kwargs)

    monkeypatch.setattr(cache, "check_file", reading)
    return read


def test_a_file_whose_stat_its_entry_records_is_not_read(tmp_path: Path, reads: list[str]) -> None:
    spec = make_project(tmp_path, tokens=False)
    fresh = _run(spec, use_cache=False)
    reads.clear()
    _same(_run(spec), fresh)
    assert sorted(reads) == ["big.jsonl", "small.json"]
    stats = {name: e.stat for name, e in _entries(tmp_path).items()}
    assert stats == {name: cache.file_stat(tmp_path / name) for name in ("big.jsonl", "small.json")}
    reads.clear()
    _same(_run(spec), fresh)  # every finding placed where the entry saw it, the dataset rules from its counts
    assert reads == []


def test_a_change_that_keeps_the_size_and_modification_time_is_seen(tmp_path: Path, reads: list[str]) -> None:
    spec = make_project(tmp_path, tokens=False)
    _run(spec)
    big = tmp_path / "big.jsonl"
    before = big.stat()
    data = big.read_bytes()
    edited = data.replace(b"<think>unclosed", b"<think>Unclosed", 1)
    assert len(edited) == len(data) and edited != data
    big.write_bytes(edited)
    os.utime(big, ns=(before.st_atime_ns, before.st_mtime_ns))  # as `touch -d` or `cp -p` would
    assert (big.stat().st_size, big.stat().st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    fresh = _run(spec, use_cache=False)
    reads.clear()
    _same(_run(spec), fresh)  # the change time moved: read again
    assert reads == ["big.jsonl"]


def test_a_file_read_soon_after_it_changed_records_no_stat(tmp_path: Path) -> None:
    spec = make_project(tmp_path, tokens=False)
    (tmp_path / "big.jsonl").write_text(json.dumps(GOOD) + "\n", encoding="utf-8")
    _run(spec)  # within cache.SETTLED_NS of the write: a later write could keep its times
    assert _entries(tmp_path)["big.jsonl"].stat is None


def test_settled() -> None:
    now = 1_700_000_000_123_456_789
    fine = (10, now - 150_000_000, now - 150_000_000, 1, 1)
    assert settled(fine, now)
    assert not settled((10, now - 50_000_000, now - 150_000_000, 1, 1), now)  # modified too recently
    assert not settled((10, now - 150_000_000, now - 50_000_000, 1, 1), now)  # its metadata changed too recently
    whole = now - now % 1_000_000_000 - 1_000_000_000  # a file system that keeps whole seconds: 2 s
    assert not settled((10, whole, whole, 1, 1), now)
    assert settled((10, whole - 2_000_000_000, whole - 2_000_000_000, 1, 1), now)
    assert not settled(None, now)


@pytest.mark.parametrize("content", ["bom", "long", "crash"])
def test_an_entry_lacking_some_sample_records_no_stat(tmp_path: Path, reads: list[str], content: str,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    spec = make_project(tmp_path, tokens=False)
    big = tmp_path / "big.jsonl"
    kw: dict[str, Any] = {}
    if content == "bom":  # FMT012 is about the file, not a sample
        big.write_bytes(b"\xef\xbb\xbf" + big.read_bytes())
    elif content == "long":  # an over-long line is not cached
        kw["max_line_bytes"] = 1000
    else:  # reading one sample fails: an internal error, reported by every run
        real = engine.normalise  # type: ignore[attr-defined]

        def failing(record: Any, *args: Any, **kwargs: Any) -> Any:
            if "step step" in repr(record):  # a sample of big.jsonl only
                raise RuntimeError("a bug")
            return real(record, *args, **kwargs)

        monkeypatch.setattr(engine, "normalise", failing)
    fresh = _run(spec, use_cache=False, **kw)
    _run(spec, **kw)
    assert _entries(tmp_path)["big.jsonl"].stat is None
    assert _entries(tmp_path)["small.json"].stat is not None
    reads.clear()
    _same(_run(spec, **kw), fresh)
    assert reads == ["big.jsonl"]


def test_an_entry_rewritten_after_an_edit_equals_one_written_whole(tmp_path: Path, reads: list[str]) -> None:
    spec = make_project(tmp_path, tokens=False, repeat=30)
    _run(spec)
    big = tmp_path / "big.jsonl"
    lines = big.read_text(encoding="utf-8").split("\n")
    lines[40] = json.dumps({"messages": [{"role": "user", "content": "edited"},
                                         {"role": "assistant", "content": "<think>new finding"}]})
    del lines[7]
    lines.insert(100, json.dumps({"messages": [{"role": "user", "content": "new"},
                                               {"role": "assistant", "content": "<thinking>x</thinking>A"}]}))
    big.write_text("\n".join(lines), encoding="utf-8")
    edited = _run(spec, paths=(str(big),))
    spliced = _entries(tmp_path)["big.jsonl"]
    assert len(spliced.table) > len({repr(f) for f in spliced.table})  # copied: the old table, new findings added
    for path in (tmp_path / CACHE_DIR).glob("v*/*/*.entry"):
        path.unlink()
    _same(_run(spec, paths=(str(big),)), edited)
    whole = _entries(tmp_path)["big.jsonl"]
    assert len(whole) == len(spliced)
    for row in range(len(whole)):
        assert (whole.key(row), whole.digest(row), whole.facts(row), whole.lines[row], whole.indices[row]) == (
            spliced.key(row), spliced.digest(row), spliced.facts(row), spliced.lines[row], spliced.indices[row])
    assert whole.stat == spliced.stat == cache.file_stat(big)


def test_a_table_of_mostly_unused_findings_is_written_anew(tmp_path: Path, reads: list[str]) -> None:
    spec = make_project(tmp_path, tokens=False, repeat=1)
    big = tmp_path / "big.jsonl"
    rows = big.read_text(encoding="utf-8").split("\n")
    for n in range(12):  # each edit brings findings of its own and leaves the last ones unused
        near = "".join(c.upper() if n >> i & 1 else c for i, c in enumerate("think"))  # THK007 quotes it
        rows[0] = json.dumps({"messages": [{"role": "user", "content": "q"},
                                           {"role": "assistant", "content": f"<{near}>x</{near}>A"}]})
        big.write_text("\n".join(rows), encoding="utf-8")
        _run(spec, paths=(str(big),))
        entry = _entries(tmp_path)["big.jsonl"]
        used = {repr(f) for row in range(len(entry)) for f in entry.facts(row)[1]}
        assert len(entry.table) <= 2 * len(used) + 8  # unused findings never outnumber the used ones for long
    _same(_run(spec, paths=(str(big),)), _run(spec, paths=(str(big),), use_cache=False))


def test_facts_sent_to_another_process_carry_their_rows_resolved(tmp_path: Path) -> None:
    spec = make_project(tmp_path, tokens=False)
    _run(spec)
    entry = _entries(tmp_path)["big.jsonl"]
    facts = FileFacts(entry)
    for row in range(len(entry)):
        facts.hit(row, int(entry.lines[row]), int(entry.indices[row]))
    facts.add(b"k" * 16, "ab" * 12, (1, (), None), 999, 10_000)
    copy = pickle.loads(pickle.dumps(facts))
    assert copy.entry is None and all(r < 0 for r in copy.refs)
    assert [copy.item(i) for i in range(len(copy))] == [facts.item(i) for i in range(len(facts))]
    assert (list(copy.lines), list(copy.indices)) == (list(facts.lines), list(facts.indices))


def test_a_sharded_run_records_the_stat_for_a_serial_run_to_trust(tmp_path: Path, reads: list[str],
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from thinklint import parallel

    monkeypatch.setenv("THINKLINT_PARALLEL_MIN_BYTES", "0")
    monkeypatch.setattr(parallel, "MIN_SHARD_BYTES", 512)
    spec = make_project(tmp_path, tokens=False)
    fresh = _run(spec, use_cache=False, jobs=1)
    _same(_run(spec, jobs=2), fresh)  # workers, shards: the parent stats the files before and after
    assert all(e.stat is not None for e in _entries(tmp_path).values())
    reads.clear()
    _same(_run(spec, jobs=1), fresh)
    assert reads == []


def test_files_hashed_into_the_configuration_are_remembered_by_their_stat(tmp_path: Path, reads: list[str],
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / CACHE_DIR
    root.mkdir()
    files = [tmp_path / "tokenizer.json", tmp_path / "tokenizer_config.json"]
    for n, f in enumerate(files):
        f.write_text(f'{{"n": {n}}}', encoding="utf-8")
    plain = cache._files_digest(files)
    assert cache._files_digest(files, root) == plain
    assert (root / cache._DIGESTS).is_file()

    real_read = Path.read_bytes

    def unread(self: Path) -> bytes:
        assert self not in files, f"{self} read again"
        return real_read(self)

    with monkeypatch.context() as m:
        m.setattr(Path, "read_bytes", unread)
        assert cache._files_digest(files, root) == plain  # from the memo
    before = files[0].stat()
    files[0].write_text('{"n": 7}', encoding="utf-8")  # same size, same modification time
    os.utime(files[0], ns=(before.st_atime_ns, before.st_mtime_ns))
    assert cache._files_digest(files, root) == cache._files_digest(files) != plain


def test_a_file_with_no_samples_is_remembered_twice_over(tmp_path: Path) -> None:
    """An empty Parquet table: its facts are empty, and rewriting its (empty) entry must not fail."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    (tmp_path / "data").mkdir()
    pq.write_table(pa.Table.from_pylist([]), tmp_path / "data" / "x.parquet")
    spec = tmp_path / "thinklint.yaml"
    spec.write_text("version: 1\ndatasets:\n  - {name: d, path: 'data/*', format: openai}\n", encoding="utf-8")
    first = _run(spec)
    assert [f.rule for f in first.findings] == ["FMT010"] and not first.internal_errors
    _same(_run(spec), first)
