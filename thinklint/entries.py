"""A cache entry: the facts of every sample of one file, by the key of its bytes, cheap to load and to rewrite.

    line 1      JSON header: format, sha256 of the rest, samples n, distinct findings m
    m lines     one distinct finding a line, as JSON: [rule, category, severity, message, turn, fix]
    columns     key (16 bytes, `readers.scan`) x n, digest (12 bytes: the sample's `Record.digest`) x n,
                thinking (int8: 1, 0, -1 for neither) x n, token length (int64, -1 for none) x n,
                findings (uint32 count) x n, then the findings' numbers (uint32), sample after sample

A run after a small edit loads a file's entry and writes it back with one sample changed; both
are about one pass over its bytes. Loading makes no per-sample object: rows are found by key, and
a row's facts are built when a sample is placed. Each distinct finding keeps the JSON it was read
as, so that writing the entry again encodes only new findings. An entry is checked whole before
anything in it is believed: checksum, sizes, every finding's shape, every number's range.
"""

from __future__ import annotations

import hashlib
import json
import sys
from array import array
from itertools import accumulate
from pathlib import Path
from typing import Any, Sequence

from thinklint.facts import FindingFacts, SampleFacts, freeze_finding
from thinklint.fsutil import atomic_write
from thinklint.readers.scan import KEY_BYTES

FORMAT = 3
_DIGEST_BYTES = 12
#: the JSON each finding was read as, by the identity of its facts (kept alive here, so ids are not reused)
_ENCODED: dict[int, tuple[FindingFacts, bytes]] = {}


def _column(typecode: str, data: bytes) -> array[Any]:
    col = array(typecode)
    col.frombytes(data)
    if sys.byteorder != "little":
        col.byteswap()
    return col


def _little(col: array[Any]) -> bytes:
    if sys.byteorder != "little":
        col = array(col.typecode, col)
        col.byteswap()
    return col.tobytes()


class Entry:
    """A loaded entry: `rows` maps keys to row numbers; a row's facts, key and digest on demand."""

    def __init__(self, keys: bytes, digests: bytes, thinking: array[Any], lengths: array[Any],
                 starts: list[int], numbers: array[Any], table: list[FindingFacts]) -> None:
        self._keys = keys
        self._digests = digests
        self._thinking = thinking
        self._lengths = lengths
        self._starts = starts
        self._numbers = numbers
        self._table = table
        n = len(thinking)
        self.rows: dict[bytes, int] = dict(zip([keys[i:i + KEY_BYTES] for i in range(0, n * KEY_BYTES, KEY_BYTES)],
                                               range(n)))

    def __len__(self) -> int:
        return len(self._thinking)

    def key(self, row: int) -> bytes:
        return self._keys[row * KEY_BYTES:(row + 1) * KEY_BYTES]

    def digest(self, row: int) -> str:
        return self._digests[row * _DIGEST_BYTES:(row + 1) * _DIGEST_BYTES].hex()

    def facts(self, row: int) -> SampleFacts:
        first, last = self._starts[row], self._starts[row + 1]
        table = self._table
        found = tuple([table[i] for i in self._numbers[first:last]]) if last > first else ()
        thinking, length = self._thinking[row], self._lengths[row]
        return (None if thinking < 0 else thinking), found, (None if length < 0 else length)


def empty_entry() -> Entry:
    return Entry(b"", b"", array("b"), array("q"), [0], array("I"), [])


def load_entry(path: Path) -> Entry | None:
    """The entry at `path`; None when missing, damaged or of another format."""
    try:
        data = path.read_bytes()
        end = data.index(b"\n")
        header = json.loads(data[:end])
        body = memoryview(data)[end + 1:]
        if header.get("format") != FORMAT or header.get("sha256") != hashlib.sha256(body).hexdigest():
            return None
        n, m = header["samples"], header["findings"]
        if not (type(n) is int and type(m) is int and n >= 0 and m >= 0):
            return None
        pos = end + 1
        lines: list[bytes] = []
        for _ in range(m):
            nl = data.index(b"\n", pos)
            lines.append(data[pos:nl])
            pos = nl + 1
        parsed = json.loads(b"[" + b",".join(lines) + b"]") if lines else []
        table = [freeze_finding(f) for f in parsed]
        if any(f is None for f in table):
            return None
        columns = []
        for width in (KEY_BYTES, _DIGEST_BYTES, 1, 8, 4):
            columns.append(data[pos:pos + width * n])
            pos += width * n
        keys, digests, thinking_b, lengths_b, counts_b = columns
        thinking, lengths, counts = _column("b", thinking_b), _column("q", lengths_b), _column("I", counts_b)
        starts = [0, *accumulate(counts)]
        numbers = _column("I", data[pos:])
        if len(counts) != n or len(numbers) != starts[-1] or len(numbers) * 4 != len(data) - pos:
            return None
        if (numbers and max(numbers) >= m) or (n and (min(thinking) < -1 or max(thinking) > 1 or min(lengths) < -1)):
            return None
        entry = Entry(keys, digests, thinking, lengths, starts, numbers, table)  # type: ignore[arg-type]
        for facts, raw in zip(table, lines):
            _ENCODED[id(facts)] = (facts, raw)  # type: ignore[assignment]
        return entry
    except (OSError, ValueError, TypeError, AttributeError, KeyError, IndexError, OverflowError):
        return None


def store_entry(path: Path, facts: Sequence[tuple[bytes, str, SampleFacts]]) -> None:
    """Write the facts of a file's samples as its entry (atomically; a read-only checkout just does not remember)."""
    numbers: dict[int, int] = {}  # by identity: facts read from an entry, or met before here
    by_json: dict[bytes, int] = {}  # by value: findings of this run
    lines: list[bytes] = []
    keys, digests = bytearray(), bytearray()
    thinking, lengths, counts, flat = array("b"), array("q"), array("I"), array("I")
    for key, digest, (think, findings, length) in facts:
        keys += key
        digests += bytes.fromhex(digest)
        thinking.append(-1 if think is None else think)
        lengths.append(-1 if length is None else length)
        counts.append(len(findings))
        for f in findings:
            number = numbers.get(id(f))
            if number is None:
                known = _ENCODED.get(id(f))
                raw = known[1] if known is not None and known[0] is f else _encode(f)
                number = by_json.setdefault(raw, len(lines))
                if number == len(lines):
                    lines.append(raw)
                numbers[id(f)] = number
            flat.append(number)
    if len(keys) != KEY_BYTES * len(facts) or len(digests) != _DIGEST_BYTES * len(facts):
        return  # a key or digest of another size: not worth remembering
    body = b"".join([b"".join(line + b"\n" for line in lines), bytes(keys), bytes(digests), _little(thinking),
                     _little(lengths), _little(counts), _little(flat)])
    header = json.dumps({"format": FORMAT, "sha256": hashlib.sha256(body).hexdigest(), "samples": len(facts),
                         "findings": len(lines)}).encode("utf-8")
    try:
        # no fsync: the checksum already rejects what a power cut could leave, and two fsyncs of a
        # large entry were a tenth of a pre-commit run
        atomic_write(path, header + b"\n" + body, durable=False)
    except OSError:
        pass


def forget_encodings() -> None:
    """Drop what `load_entry` kept for `store_entry` (once a run has written its entries)."""
    _ENCODED.clear()


def _encode(finding: FindingFacts) -> bytes:
    return json.dumps(list(finding), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
