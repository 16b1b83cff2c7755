"""Shards of a JSONL file read, together, exactly as the whole file reads: lines, indices, digests, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from thinklint.readers import scan as scan_module
from thinklint.readers import shards as shards_module
from thinklint.readers.files import Record, decode, read_records
from thinklint.readers.scan import line_key, scan_records
from thinklint.readers.shards import Shard, Tally, count_before, plan_shards, shardable

LINES = st.one_of(
    st.builds(lambda n: json.dumps({"messages": [{"role": "user", "content": "x" * n}]}), st.integers(0, 90)),
    st.sampled_from(["", " ", "\t", "\r", "  \r", "\x0b", "{bad", "[1, 2]", "\"s\"", "{\"a\": NaN}", "\xa0{}"]),
    # blank lines around the 40-byte limit: over it (with its newline) a blank line is a sample
    st.builds(lambda n: " " * n, st.integers(37, 42)),
)


def _write(tmp: Path, lines: list[str], newline_at_end: bool, bom: bool) -> Path:
    path = tmp / "d.jsonl"
    data = "\n".join(lines) + ("\n" if newline_at_end else "")
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data.encode("utf-8"))
    return path


def _records(path: Path, max_line: int, shards: list[Shard] | None, scan: str = "") -> list[tuple[object, ...]]:
    """What a whole-file read gives, or what the shards give, each read on its own from its start and
    placed after the lines and samples the shards before it tallied (as `parallel.rebase` places them)."""
    if shards is None:
        return [(r.line, r.index, r.digest, r.value, r.error, r.error_kind) for r in map(decode, read_records(path, max_line))]
    out: list[tuple[object, ...]] = []
    lines = samples = 0
    for s in shards:
        assert s.first or s.relative
        assert count_before(path, s.start, max_line) == (lines, samples)
        tally = Tally()
        if scan == "keyed":  # the cache's reader, knowing no line: every line a lazy record, with its key
            recs = list(scan_records(path, max_line, s, {}, tally))
            assert all(r.key == line_key(r.raw) for r in recs if isinstance(r, Record) and r.raw is not None)
        elif scan == "plain":  # the lazy reader of a run without a cache: no keys
            recs = list(scan_records(path, max_line, s, None, tally))
            assert all(isinstance(r, Record) and r.key is None for r in recs)
        else:
            recs = list(read_records(path, max_line, s, tally))
        for r in map(decode, recs):  # type: ignore[arg-type]
            out.append((None if r.line is None else r.line + lines, None if r.index is None else r.index + samples,
                        r.digest, r.value, r.error, r.error_kind))
        assert tally.lines is not None and tally.samples is not None
        lines, samples = lines + tally.lines, samples + tally.samples
    return out


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(LINES, max_size=40), newline_at_end=st.booleans(), bom=st.booleans(),
       shard_bytes=st.integers(1, 400), max_line=st.sampled_from([40, 1 << 20]),
       piece=st.sampled_from([1, 7, 64, 4 << 20]))
def test_shards_read_as_the_whole_file(tmp_path_factory: pytest.TempPathFactory, lines: list[str], newline_at_end: bool, bom: bool,
                                       shard_bytes: int, max_line: int, piece: int) -> None:
    path = _write(tmp_path_factory.mktemp("s"), lines, newline_at_end, bom)
    shards = plan_shards(path, shard_bytes)
    size = path.stat().st_size
    assert shards[0].start == 0 and shards[-1].end == size
    assert all(a.end == b.start for a, b in zip(shards, shards[1:]))
    data = path.read_bytes()
    assert all(s.start == 0 or data[s.start - 1:s.start] == b"\n" for s in shards)  # cut at line starts
    whole = _records(path, max_line, None)
    saved = shards_module._PIECE, scan_module._BLOCK
    # what comes before a shard is counted in pieces this big, and the cache's reader reads blocks this big
    shards_module._PIECE = scan_module._BLOCK = piece
    try:
        assert _records(path, max_line, shards) == whole
        assert _records(path, max_line, shards, scan="keyed") == whole
        assert _records(path, max_line, shards, scan="plain") == whole
    finally:
        shards_module._PIECE, scan_module._BLOCK = saved
    # knowing every line: the lines the cache has are hits at the places a read gives them
    keys = {r.key: n for n, r in enumerate(scan_records(path, max_line, None, {})) if isinstance(r, Record) and r.key}
    known = [r for r in read_records(path, max_line) if r.index is not None and r.error_kind != "line_too_long"]
    hits = []
    for s in shards:
        base = count_before(path, s.start, max_line)
        hits += [(r[0] + base[0], r[1] + base[1]) for r in scan_records(path, max_line, s, keys) if isinstance(r, tuple)]
    assert hits == [(r.line, r.index) for r in known]


def test_small_and_unshardable_files_are_one_shard(tmp_path: Path) -> None:
    path = _write(tmp_path, ["{}"] * 10, True, False)
    assert plan_shards(path, 1 << 20) == [Shard(0, path.stat().st_size)]
    gz = tmp_path / "d.jsonl.gz"
    gz.write_bytes(b"")
    assert not shardable(gz) and not shardable(tmp_path / "d.json") and not shardable(tmp_path / "d.parquet")
    assert shardable(path)


def test_no_sliver_at_the_end(tmp_path: Path) -> None:
    path = _write(tmp_path, ["{\"a\": 1}"] * 100, True, False)  # 9 bytes a line
    shards = plan_shards(path, 400)  # 405 + 405 + 90: the last 90 bytes join the second shard
    assert [(s.start, s.end) for s in shards] == [(0, 405), (405, 900)]
    assert shards[1].relative and count_before(path, shards[1].start) == (45, 45)


def test_a_decoded_line_keeps_the_key_it_was_read_with(tmp_path: Path) -> None:
    """The cache knows a line by the key `scan` gave it; parsing the line must not change it (an entry
    written with another key would never find the line again)."""
    path = tmp_path / "d.jsonl"
    path.write_text('{"a": 1}\n{"a": \n', encoding="utf-8")
    read = [r for r in scan_records(path, 1 << 20, None, {}) if isinstance(r, Record)]
    assert [r.key for r in read] == [line_key(b'{"a": 1}'), line_key(b'{"a":')]
    assert [decode(r).key for r in read] == [r.key for r in read]  # a good line and a broken one
    assert decode(read[1]).error_kind == "invalid_json"
