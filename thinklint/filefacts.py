"""What a file's next cache entry will hold, gathered while the file is checked (`thinklint.entries`)."""

from __future__ import annotations

from array import array
from typing import TYPE_CHECKING, Any

from thinklint.facts import SampleFacts

if TYPE_CHECKING:
    from thinklint.entries import Entry, Hit


class FileFacts:
    """What a file's next entry holds, sample by sample: rows of the entry this run loaded (referred to,
    not copied), or facts of samples checked in this run; each with its line and index.

    `complete` is False when some sample of the file is not among them (one that cannot be cached, or
    whose check failed): the entry then serves by key only. Sent to another process, rows are resolved
    into facts (a row number means nothing without the entry it came from).
    """

    def __init__(self, entry: Entry | None = None) -> None:
        self.entry = entry
        self.refs = array("q")  # >= 0: a row of `entry`; < 0: -1 - an item of `fresh`
        self.lines = array("q")
        self.indices = array("q")
        self.fresh: list[tuple[bytes, str, SampleFacts]] = []
        self.complete = True

    def __len__(self) -> int:
        return len(self.refs)

    def hit(self, row: int, line: int | None, index: int) -> None:
        self.refs.append(row)
        self.lines.append(-1 if line is None else line)
        self.indices.append(index)

    def add(self, key: bytes, digest: str, facts: SampleFacts, line: int | None, index: int) -> None:
        self.refs.append(-1 - len(self.fresh))
        self.fresh.append((key, digest, facts))
        self.lines.append(-1 if line is None else line)
        self.indices.append(index)

    def hits(self, hits: list[Hit]) -> None:
        self.refs.extend([h[2] for h in hits])
        self.lines.extend([-1 if h[0] is None else h[0] for h in hits])
        self.indices.extend([h[1] or 0 for h in hits])  # a row: a cacheable record, which has an index

    def extend(self, other: FileFacts) -> None:
        if other.entry is not None and other.entry is not self.entry:
            other = other.resolved()
        shift = len(self.fresh)
        self.refs.extend(r if r >= 0 else r - shift for r in other.refs)
        self.fresh.extend(other.fresh)
        self.lines.extend(other.lines)
        self.indices.extend(other.indices)
        self.complete = self.complete and other.complete

    def shift(self, lines: int, samples: int) -> None:
        """Place facts gathered in a relative shard (`readers.shards`) in its file: `lines` lines and
        `samples` samples come before it."""
        self.lines = array("q", [n if n < 0 else n + lines for n in self.lines])
        self.indices = array("q", [n + samples for n in self.indices])

    def item(self, i: int) -> tuple[bytes, str, SampleFacts]:
        ref = self.refs[i]
        if ref < 0:
            return self.fresh[-1 - ref]
        entry = self.entry
        assert entry is not None
        return entry.key(ref), entry.digest(ref), entry.facts(ref)

    def resolved(self) -> FileFacts:
        out = FileFacts()
        out.complete = self.complete
        for i in range(len(self)):
            out.add(*self.item(i), None if self.lines[i] < 0 else self.lines[i], self.indices[i])
        return out

    def __getstate__(self) -> dict[str, Any]:
        return (self.resolved() if self.entry is not None else self).__dict__
