"""A cache entry: the facts of every sample of one file, by the key of its bytes, cheap to load and to rewrite.

    line 1     JSON header: format, sha256 of the rest, samples n, distinct findings m, text bytes
    text       UTF-8: each distinct finding's rule, category, severity, message and fix (as JSON,
               empty for none), one after the other
    columns    the text's 5m string lengths (uint32, in characters) and the findings' turns (int64,
               -1 for none); then per sample: key (16 bytes, `readers.scan`), digest (12 bytes: the
               sample's `Record.digest`), thinking (int8: 1, 0, -1 for neither), token length (int64,
               -1 for none), number of findings (uint32); then the findings' numbers (uint32),
               sample after sample; little-endian

A run after a small edit loads a file's entry and writes it back with one sample changed; both
are about one pass over its bytes. Loading makes no per-sample object (rows are found by key, and
a row's facts are built when its sample is placed), and the findings' text is decoded in one go
rather than parsed as JSON (a large file's entry holds thousands of distinct messages). An entry is
checked whole before anything in it is believed: checksum, sizes, every fix's shape, every number's
range.
"""

from __future__ import annotations

import hashlib
import json
import sys
from array import array
from itertools import accumulate
from pathlib import Path
from typing import Any, Sequence

from thinklint.facts import FindingFacts, SampleFacts, valid_fix
from thinklint.fsutil import atomic_write
from thinklint.readers.scan import KEY_BYTES

FORMAT = 3
_DIGEST_BYTES = 12
_FIELDS = 5  # strings of a finding in the text: rule, category, severity, message, fix


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
        pos = data.index(b"\n") + 1
        header = json.loads(data[:pos])
        if header.get("format") != FORMAT or header.get("sha256") != hashlib.sha256(memoryview(data)[pos:]).hexdigest():
            return None
        n, m, size = header["samples"], header["findings"], header["text"]
        if not all(type(x) is int and x >= 0 for x in (n, m, size)):
            return None
        parts = []
        for width in (size, 4 * _FIELDS * m, 8 * m, KEY_BYTES * n, _DIGEST_BYTES * n, n, 8 * n, 4 * n):
            parts.append(data[pos:pos + width])
            pos += width
        text_b, sizes_b, turns_b, keys, digests, thinking_b, lengths_b, counts_b = parts
        text = text_b.decode("utf-8", "surrogatepass")  # as written: a message may quote a lone surrogate
        ends = list(accumulate(_column("I", sizes_b)))
        turns = _column("q", turns_b)
        thinking, lengths, counts = _column("b", thinking_b), _column("q", lengths_b), _column("I", counts_b)
        numbers = _column("I", data[pos:])
        starts = [0, *accumulate(counts)]
        if len(ends) != _FIELDS * m or (ends[-1] if ends else 0) != len(text) or len(turns) != m \
                or len(counts) != n or len(numbers) != starts[-1] or 4 * len(numbers) != len(data) - pos:
            return None
        if (numbers and max(numbers) >= m) or (m and min(turns) < -1) \
                or (n and (min(thinking) < -1 or max(thinking) > 1 or min(lengths) < -1)):
            return None
        strings = [text[a:b] for a, b in zip([0, *ends], ends)]
        table: list[FindingFacts] = []
        for i in range(m):
            rule, category, severity, message, fix_text = strings[_FIELDS * i:_FIELDS * (i + 1)]
            fix = json.loads(fix_text) if fix_text else None
            if not valid_fix(fix):
                return None
            turn = turns[i]
            table.append((rule, category, severity, message, None if turn < 0 else turn, fix))
        return Entry(keys, digests, thinking, lengths, starts, numbers, table)
    except (OSError, ValueError, TypeError, AttributeError, KeyError, IndexError, OverflowError):
        return None


def store_entry(path: Path, facts: Sequence[tuple[bytes, str, SampleFacts]]) -> None:
    """Write the facts of a file's samples as its entry (atomically; a read-only checkout just does not remember)."""
    try:
        data = _encode(facts)
    except (OverflowError, TypeError, ValueError):  # a number out of a column's range: not worth remembering
        return
    if data is None:
        return
    try:
        # no fsync: the checksum already rejects what a power cut could leave, and two fsyncs of a
        # large entry were a tenth of a pre-commit run
        atomic_write(path, data, durable=False)
    except OSError:
        pass


def _encode(facts: Sequence[tuple[bytes, str, SampleFacts]]) -> bytes | None:
    by_id: dict[int, int] = {}  # facts met before: most are shared, read from the entry this run loaded
    by_value: dict[tuple[Any, ...], int] = {}
    strings: list[str] = []
    turns, thinking, lengths, counts, flat = array("q"), array("b"), array("q"), array("I"), array("I")
    keys, digests = bytearray(), bytearray()
    for key, digest, (think, findings, length) in facts:
        keys += key
        digests += bytes.fromhex(digest)
        thinking.append(-1 if think is None else think)
        lengths.append(-1 if length is None else length)
        counts.append(len(findings))
        for f in findings:
            number = by_id.get(id(f))
            if number is None:
                rule, category, severity, message, turn, fix = f
                if turn is not None and turn < 0:
                    return None  # not representable: not worth remembering
                fields = (rule, category, severity, message, "" if fix is None else json.dumps(fix))
                number = by_value.setdefault((*fields, turn), len(turns))
                if number == len(turns):
                    strings.extend(fields)
                    turns.append(-1 if turn is None else turn)
                by_id[id(f)] = number
            flat.append(number)
    if len(keys) != KEY_BYTES * len(facts) or len(digests) != _DIGEST_BYTES * len(facts):
        return None  # a key or digest of another size: not worth remembering
    text = "".join(strings).encode("utf-8", "surrogatepass")
    sizes = array("I", [len(s) for s in strings])
    body = b"".join([text, _little(sizes), _little(turns), bytes(keys), bytes(digests), _little(thinking),
                     _little(lengths), _little(counts), _little(flat)])
    header = json.dumps({"format": FORMAT, "sha256": hashlib.sha256(body).hexdigest(), "samples": len(facts),
                         "findings": len(turns), "text": len(text)}).encode("utf-8")
    return header + b"\n" + body
