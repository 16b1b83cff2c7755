"""A cache entry: the facts of every sample of one file, by the key of its bytes, cheap to load and to rewrite.

    line 1     JSON header: format, sha256 (of the rest and of the header's numbers), samples n,
               distinct findings m, text bytes, and the file's stat (size, mtime_ns, ctime_ns, inode,
               device) when the entry describes the whole file as it was then (`thinklint.cache`), else null
    text       UTF-8: each distinct finding's rule, category, severity, message and fix (as JSON,
               empty for none), one after the other
    columns    the text's 5m string lengths (uint32, in characters) and the findings' turns (int64,
               -1 for none); then per sample, in file order: key (16 bytes, `readers.scan`), digest
               (12 bytes: the sample's `Record.digest`), thinking (int8: 1, 0, -1 for neither), token
               length (int64, -1 for none), number of findings (uint32), line (int64, -1 for none) and
               index (int64) where it was; then the findings' numbers (uint32), sample after sample;
               little-endian

A run after a small edit loads a file's entry and writes it back with one sample changed. Loading
makes no per-sample object (rows are found by key, and a row's facts are built when its sample is
placed), and the findings' text is decoded in one go rather than parsed as JSON (a large file's entry
holds thousands of distinct messages). Writing copies the columns of the rows it keeps from the entry
it loaded, run by run, and adds the findings of the new samples to its table (`FileFacts`); a table
whose findings are mostly no longer used is written anew. An entry is checked whole before anything
in it is believed: checksum, sizes, every fix's shape, every number's range, samples in file order.
"""

from __future__ import annotations

import hashlib
import json
import sys
from array import array
from collections import Counter
from itertools import accumulate, pairwise
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence, overload

from thinklint.facts import FindingFacts, Placer, SampleFacts, valid_fix
from thinklint.filefacts import FileFacts
from thinklint.fsutil import atomic_write
from thinklint.readers.scan import KEY_BYTES

if TYPE_CHECKING:
    from thinklint.engine import FileResult

FORMAT = 4
_DIGEST_BYTES = 12
_FIELDS = 5  # strings of a finding in the text: rule, category, severity, message, fix
#: (st_size, st_mtime_ns, st_ctime_ns, st_ino, st_dev)
Stat = tuple[int, int, int, int, int]
#: a sample found again: (line, index, row of the entry, bytes)
Hit = tuple["int | None", "int | None", int, int]


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

    def __init__(self, parts: dict[str, Any], table: Sequence[FindingFacts], stat: Stat | None) -> None:
        self.parts = parts  # the raw columns, for `FileFacts` to copy from
        self.table = table
        self.stat = stat
        self.lines: array[int] = parts["lines"]
        self.indices: array[int] = parts["indices"]
        self._rows: dict[bytes, int] | None = None
        self._placers: dict[str, Placer] = {}

    @property
    def rows(self) -> dict[bytes, int]:
        if self._rows is None:  # not needed when the file is known unchanged (nothing is looked up)
            keys, n = self.parts["keys"], len(self)
            self._rows = dict(zip([keys[i:i + KEY_BYTES] for i in range(0, n * KEY_BYTES, KEY_BYTES)], range(n)))
        return self._rows

    def __len__(self) -> int:
        return len(self.parts["thinking"])

    def key(self, row: int) -> bytes:
        key: bytes = self.parts["keys"][row * KEY_BYTES:(row + 1) * KEY_BYTES]
        return key

    def digest(self, row: int) -> str:
        digest: str = self.parts["digests"][row * _DIGEST_BYTES:(row + 1) * _DIGEST_BYTES].hex()
        return digest

    def reuse(self, hits: list[Hit], path: str, out: FileResult) -> None:
        """Samples of this entry found again at (line, index, row, size): counted into `out`, their findings
        placed, their rows kept for the next entry."""
        parts = self.parts
        thinking, lengths = parts["thinking"], parts["lengths"]
        placer = self._placers.get(path)
        if placer is None:
            placer = self._placers[path] = Placer(self.table, path)
        placer.place(hits, parts["starts"], parts["numbers"], parts["digests"], _DIGEST_BYTES, out.findings)
        rows = [h[2] for h in hits]
        modes = [thinking[r] for r in rows]
        out.samples += len(rows)
        out.thinking += modes.count(1)
        out.non_thinking += modes.count(0)
        for n, count in Counter([lengths[r] for r in rows]).items():
            if n >= 0:
                out.lengths[n] = out.lengths.get(n, 0) + count
        if out.facts is not None:
            out.facts.hits(hits)

    def facts(self, row: int) -> SampleFacts:
        starts = self.parts["starts"]
        first, last = starts[row], starts[row + 1]
        table = self.table
        found = tuple([table[i] for i in self.parts["numbers"][first:last]]) if last > first else ()
        thinking, length = self.parts["thinking"][row], self.parts["lengths"][row]
        return (None if thinking < 0 else thinking), found, (None if length < 0 else length)


class _Findings(Sequence[FindingFacts]):
    """An entry's distinct findings, each made into a tuple when first asked for (once: the tuples' ids
    tell shared findings apart when the entry is written again)."""

    def __init__(self, strings: list[str], turns: array[int], fixes: dict[int, Any]) -> None:
        self._strings = strings
        self._turns = turns
        self._fixes = fixes
        self._made: list[FindingFacts | None] = [None] * len(turns)

    def __len__(self) -> int:
        return len(self._turns)

    @overload
    def __getitem__(self, i: int) -> FindingFacts: ...

    @overload
    def __getitem__(self, i: slice) -> Sequence[FindingFacts]: ...

    def __getitem__(self, i: int | slice) -> FindingFacts | Sequence[FindingFacts]:
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        made = self._made[i]  # an IndexError past the end, as a list's
        if i < 0:
            i += len(self)
        if made is None:
            rule, category, severity, message = self._strings[_FIELDS * i:_FIELDS * i + 4]
            turn = self._turns[i]
            made = self._made[i] = (rule, category, severity, message, None if turn < 0 else turn, self._fixes.get(i))
        return made


def empty_entry() -> Entry:
    entry = _decode(_encode(FileFacts(), [], None) or b"")
    assert entry is not None
    return entry


def load_entry(path: Path) -> Entry | None:
    """The entry at `path`; None when missing, damaged or of another format."""
    try:
        return _decode(path.read_bytes())
    except OSError:
        return None


def _decode(data: bytes) -> Entry | None:
    try:
        pos = data.index(b"\n") + 1
        header = json.loads(data[:pos])
        n, m, size, stat = header["samples"], header["findings"], header["text"], header["stat"]
        if header.get("format") != FORMAT or header.get("sha256") != _checksum(memoryview(data)[pos:], n, m, size, stat):
            return None
        if not all(type(x) is int and x >= 0 for x in (n, m, size)) or not (
                stat is None or (type(stat) is list and len(stat) == 5 and all(type(x) is int for x in stat))):
            return None
        raw = {}
        for name, width in (("text", size), ("sizes", 4 * _FIELDS * m), ("turns", 8 * m), ("keys", KEY_BYTES * n),
                            ("digests", _DIGEST_BYTES * n), ("thinking", n), ("lengths", 8 * n), ("counts", 4 * n),
                            ("lines", 8 * n), ("indices", 8 * n)):
            raw[name] = data[pos:pos + width]
            pos += width
        text = raw["text"].decode("utf-8", "surrogatepass")  # as written: a message may quote a lone surrogate
        ends = list(accumulate(_column("I", raw["sizes"])))
        turns = _column("q", raw["turns"])
        parts: dict[str, Any] = {**raw, "thinking": _column("b", raw["thinking"]), "lengths": _column("q", raw["lengths"]),
                                 "counts": _column("I", raw["counts"]), "lines": _column("q", raw["lines"]),
                                 "indices": _column("q", raw["indices"]), "numbers": _column("I", data[pos:])}
        numbers, indices = parts["numbers"], parts["indices"]
        starts = parts["starts"] = [0, *accumulate(parts["counts"])]
        if len(ends) != _FIELDS * m or (ends[-1] if ends else 0) != len(text) or len(turns) != m \
                or len(parts["counts"]) != n or len(indices) != n or len(numbers) != starts[-1] \
                or 4 * len(numbers) != len(data) - pos:
            return None
        if (numbers and max(numbers) >= m) or (m and min(turns) < -1) or (n and (
                min(parts["thinking"]) < -1 or max(parts["thinking"]) > 1 or min(parts["lengths"]) < -1
                or min(parts["lines"]) < -1 or indices[0] < 0 or any(a >= b for a, b in pairwise(indices)))):
            return None
        strings = [text[a:b] for a, b in zip([0, *ends], ends)]
        fixes = {}
        for i, fix_text in enumerate(strings[_FIELDS - 1::_FIELDS]):
            if fix_text:
                fix = json.loads(fix_text)
                if fix is None or not valid_fix(fix):
                    return None
                fixes[i] = fix
        table = _Findings(strings, turns, fixes)
        return Entry(parts, table, (stat[0], stat[1], stat[2], stat[3], stat[4]) if stat is not None else None)
    except (ValueError, TypeError, AttributeError, KeyError, IndexError, OverflowError):
        return None


def store_entry(path: Path, facts: FileFacts, stat: Stat | None = None) -> None:
    """Write `facts` as the entry of their file (atomically; a read-only checkout just does not remember),
    with the file's `stat` when they describe all of it."""
    try:
        order = _order(facts)
        runs = _runs(order, facts.refs) if facts.entry is not None else []
        data = _splice(facts, order, runs, stat) if _worth_splicing(facts, runs) else _encode(facts, order, stat)
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


def _order(facts: FileFacts) -> list[int]:
    """Positions of `facts` in file order (shards and a helper's samples arrive out of it)."""
    indices = facts.indices
    if len(set(indices)) != len(indices):
        raise ValueError("two samples at one index")
    return sorted(range(len(indices)), key=indices.__getitem__)  # nearly sorted: a pass or two


def _checksum(body: bytes | memoryview, n: int, m: int, text: int, stat: Any) -> str:
    """Of the body and the header's numbers: a damaged stat must not make a changed file look unchanged."""
    h = hashlib.sha256(json.dumps([FORMAT, n, m, text, stat]).encode("utf-8"))
    h.update(body)
    return h.hexdigest()


def _header(body: bytes, n: int, m: int, text: int, stat: Stat | None) -> bytes:
    listed = list(stat) if stat is not None else None
    return json.dumps({"format": FORMAT, "sha256": _checksum(body, n, m, text, listed), "samples": n, "findings": m,
                       "text": text, "stat": listed}).encode("utf-8") + b"\n"


class _Table:
    """Distinct findings as the text, sizes and turns columns hold them; numbered in order of addition."""

    def __init__(self, start: int = 0) -> None:
        self.strings: list[str] = []
        self.turns = array("q")
        self.start = start
        self._by_id: dict[int, int] = {}  # findings met before: most are shared, read from one entry
        self._by_value: dict[tuple[Any, ...], int] = {}

    def number(self, f: FindingFacts) -> int:
        number = self._by_id.get(id(f))
        if number is None:
            rule, category, severity, message, turn, fix = f
            if turn is not None and turn < 0:
                raise ValueError("a turn below 0")  # not representable: not worth remembering
            fields = (rule, category, severity, message, "" if fix is None else json.dumps(fix))
            number = self._by_value.setdefault((*fields, turn), self.start + len(self.turns))
            if number == self.start + len(self.turns):
                self.strings.extend(fields)
                self.turns.append(-1 if turn is None else turn)
            self._by_id[id(f)] = number
        return number

    def columns(self) -> tuple[bytes, bytes, bytes]:
        return ("".join(self.strings).encode("utf-8", "surrogatepass"),
                _little(array("I", [len(s) for s in self.strings])), _little(self.turns))


def _encode(facts: FileFacts, order: list[int], stat: Stat | None) -> bytes | None:
    table = _Table()
    thinking, lengths, counts, flat = array("b"), array("q"), array("I"), array("I")
    keys, digests = bytearray(), bytearray()
    for i in order:
        key, digest, (think, findings, length) = facts.item(i)
        keys += key
        digests += bytes.fromhex(digest)
        thinking.append(-1 if think is None else think)
        lengths.append(-1 if length is None else length)
        counts.append(len(findings))
        flat.extend(table.number(f) for f in findings)
    if len(keys) != KEY_BYTES * len(order) or len(digests) != _DIGEST_BYTES * len(order):
        return None  # a key or digest of another size: not worth remembering
    text, sizes, turns = table.columns()
    lines, indices = array("q", map(facts.lines.__getitem__, order)), array("q", map(facts.indices.__getitem__, order))
    body = b"".join([text, sizes, turns, bytes(keys), bytes(digests), _little(thinking), _little(lengths),
                     _little(counts), _little(lines), _little(indices), _little(flat)])
    return _header(body, len(order), len(table.turns), len(text), stat) + body


def _worth_splicing(facts: FileFacts, runs: list[tuple[int, int] | int]) -> bool:
    """Copy from the loaded entry when most of its rows are kept, and most of its table is still used."""
    entry = facts.entry
    if entry is None or not entry.table or 2 * (len(facts) - len(facts.fresh)) < len(entry):
        return False
    used: set[int] = set()
    numbers, starts = entry.parts["numbers"], entry.parts["starts"]
    for run in runs:
        if isinstance(run, tuple):
            used.update(numbers[starts[run[0]]:starts[run[1]]])
    return 2 * len(used) >= len(entry.table)


def _runs(order: list[int], refs: array[int]) -> list[tuple[int, int] | int]:
    """`order`'s rows as (first, end) runs of consecutive rows of the entry, or one fresh item's position."""
    rows = [refs[i] for i in order]
    if not rows:  # a file with no samples (an empty Parquet table)
        return []
    # where a run ends: a fresh item, or a row that does not follow the one before
    cuts = [k for k in range(1, len(rows)) if rows[k] != rows[k - 1] + 1 or rows[k] < 0 or rows[k - 1] < 0]
    out: list[tuple[int, int] | int] = []
    for a, b in pairwise([0, *cuts, len(rows)]):
        if rows[a] >= 0:
            out.append((rows[a], rows[b - 1] + 1))
        else:
            out.extend(order[a:b])
    return out


def _splice(facts: FileFacts, order: list[int], runs: list[tuple[int, int] | int], stat: Stat | None) -> bytes | None:
    entry = facts.entry
    assert entry is not None
    old = entry.parts
    table = _Table(start=len(entry.table))
    keys, digests, thinking, lengths, counts, flat = [], [], [], [], [], []
    for run in runs:
        if isinstance(run, tuple):
            a, b = run
            keys.append(old["keys"][a * KEY_BYTES:b * KEY_BYTES])
            digests.append(old["digests"][a * _DIGEST_BYTES:b * _DIGEST_BYTES])
            thinking.append(_little(old["thinking"][a:b]))
            lengths.append(_little(old["lengths"][a:b]))
            counts.append(_little(old["counts"][a:b]))
            flat.append(_little(old["numbers"][old["starts"][a]:old["starts"][b]]))
            continue
        key, digest, (think, findings, length) = facts.item(run)
        if len(key) != KEY_BYTES or len(bytes.fromhex(digest)) != _DIGEST_BYTES:
            return None
        keys.append(key)
        digests.append(bytes.fromhex(digest))
        thinking.append(_little(array("b", [-1 if think is None else think])))
        lengths.append(_little(array("q", [-1 if length is None else length])))
        counts.append(_little(array("I", [len(findings)])))
        flat.append(_little(array("I", [table.number(f) for f in findings])))
    text, sizes, turns = table.columns()
    lines, indices = array("q", map(facts.lines.__getitem__, order)), array("q", map(facts.indices.__getitem__, order))
    text_all = old["text"] + text
    body = b"".join([text_all, old["sizes"], sizes, old["turns"], turns, *keys, *digests, *thinking, *lengths,
                     *counts, _little(lines), _little(indices), *flat])
    return _header(body, len(order), len(entry.table) + len(table.turns), len(text_all), stat) + body
