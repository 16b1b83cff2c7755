"""Byte ranges of a large JSONL file, cut at line starts, that workers can read on their own.

Cutting a file costs a seek and a short read per shard: how many lines and samples come before a
shard is not counted up front (that was a pass over the whole file before any worker started).
A shard is read as if it began the file, with a `Tally` of the lines and samples it went through,
and `thinklint.parallel.rebase` places its findings once the shards before it have reported
theirs: the line numbers and sample indices are then those of a whole-file read. A shard that met
an error (whose messages name lines) is read again in place, counted with `count_before`, exactly
as the reader counts (blank lines are no sample, an over-long line is one, a byte order mark on
line 1 is none).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from thinklint.readers.files import DEFAULT_MAX_LINE_BYTES, file_kind

#: a newline followed by a line of only whitespace (bytes.strip's set, without the newline itself)
_BLANK_AFTER = re.compile(rb"\n(?=[ \t\r\x0b\x0c]*(?:\n|\Z))")
_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class Shard:
    """Bytes [start, end) of a file; `line` lines and `index` samples come before `start`, or, in a
    shard that is not the first with both 0, are not known yet (`relative`: see the module doc)."""

    start: int
    end: int
    line: int = 0
    index: int = 0

    @property
    def first(self) -> bool:
        return self.start == 0

    @property
    def relative(self) -> bool:
        """Its lines and samples are counted from its own start (a shard that is not the first has
        at least one line before it, so 0 can only mean 'not counted')."""
        return self.start > 0 and self.line == 0


@dataclass
class Tally:
    """The line and sample counts a reader reached at the end of its range; None until it got there."""

    lines: int | None = None
    samples: int | None = None

    def done(self, lines: int, samples: int) -> None:
        self.lines, self.samples = lines, samples


def shardable(path: Path) -> bool:
    """Plain JSONL only: a gzip stream cannot be entered in the middle, JSON arrays and Parquet need a parse."""
    try:
        return file_kind(path) == "jsonl" and not path.name.lower().endswith(".gz")
    except Exception:
        return False


def _count(region: bytes, at_file_start: bool, ends_file: bool, max_line_bytes: int) -> tuple[int, int]:
    """(lines, samples) in `region`, which starts at a line start and ends at one or at the end of the file."""
    if not region:
        return 0, 0
    if len(region) > max_line_bytes or at_file_start:
        return _count_slowly(region, at_file_start, max_line_bytes)
    newlines = region.count(b"\n")
    lines = newlines + (0 if region.endswith(b"\n") else 1)
    first_end = region.find(b"\n")
    first = region[: first_end if first_end >= 0 else len(region)]
    blank = (not first.strip()) + len(_BLANK_AFTER.findall(region))
    if region.endswith(b"\n"):
        blank -= 1  # the match at the final newline sees the next region's line, or the file's end
    return lines, lines - blank


def _count_slowly(region: bytes, at_file_start: bool, max_line_bytes: int) -> tuple[int, int]:
    """Line by line: for regions that may hold an over-long line, and for the file's first line (its BOM)."""
    parts = region.split(b"\n")
    if region.endswith(b"\n"):
        parts.pop()
    samples = 0
    for i, part in enumerate(parts):
        # the reader measures a line with its newline: every part has one but an unterminated last
        if len(part) + (i < len(parts) - 1 or region.endswith(b"\n")) > max_line_bytes:
            samples += 1  # reported as too long, and counted as a sample, however blank
            continue
        if i == 0 and at_file_start and part.startswith(_BOM):
            part = part[3:]
        samples += bool(part.strip())
    return len(parts), samples


#: a shard is counted in pieces of about this size, so that planning a huge file stays small
_PIECE = 4 << 20
_CHUNK = 1 << 20
_NOT_BLANK = re.compile(rb"[^ \t\r\n\x0b\x0c]")


def _find_newline(fh: BinaryIO, pos: int, end: int | None = None) -> int:
    """The offset of the first newline at or after `pos` (before `end`), or -1; read in 1 MiB chunks,
    so a line of any length costs no more memory than a chunk."""
    fh.seek(pos)
    while end is None or pos < end:
        chunk = fh.read(_CHUNK if end is None else min(_CHUNK, end - pos))
        if not chunk:
            return -1
        i = chunk.find(b"\n")
        if i >= 0:
            return pos + i
        pos += len(chunk)
    return -1


def _blank(fh: BinaryIO, start: int, stop: int) -> bool:
    fh.seek(start)
    while start < stop:
        chunk = fh.read(min(_CHUNK, stop - start))
        if not chunk:
            break
        if _NOT_BLANK.search(chunk):
            return False
        start += len(chunk)
    return True


def _count_range(fh: BinaryIO, start: int, end: int, size: int, max_line_bytes: int) -> tuple[int, int]:
    """(lines, samples) in [start, end), read in pieces cut at line starts."""
    lines = samples = 0
    a = start
    while a < end:
        b = min(end, a + _PIECE)
        if b < end:
            nl = _find_newline(fh, b - 1, end)
            b = end if nl < 0 else nl + 1
        if b - a > 2 * _PIECE:  # a long line: walked, never held whole (it may be gigabytes)
            piece_lines, piece_samples = _walk_lines(fh, a, b, max_line_bytes)
        else:
            fh.seek(a)
            piece_lines, piece_samples = _count(fh.read(b - a), a == 0, b == size, max_line_bytes)
        lines, samples, a = lines + piece_lines, samples + piece_samples, b
    return lines, samples


def _walk_lines(fh: BinaryIO, start: int, end: int, max_line_bytes: int) -> tuple[int, int]:
    """(lines, samples) in [start, end), line by line, as the reader counts them."""
    lines = samples = 0
    pos = start
    while pos < end:
        nl = _find_newline(fh, pos, end)
        stop = end if nl < 0 else nl + 1
        lines += 1
        if stop - pos > max_line_bytes:
            samples += 1  # reported as too long, and counted as a sample, however blank
        else:
            fh.seek(pos)
            body = pos + 3 if pos == 0 and fh.read(3) == _BOM else pos
            samples += not _blank(fh, body, stop)
        pos = stop
    return lines, samples


def plan_shards(path: Path, shard_bytes: int) -> list[Shard]:
    """Cut `path` into shards of about `shard_bytes` at line starts (one when it is smaller); each but
    the first is `relative`: nothing is counted here."""
    size = path.stat().st_size
    if size <= shard_bytes or not shardable(path):
        return [Shard(0, size)]
    shards: list[Shard] = []
    with path.open("rb") as fh:
        start = 0
        while start < size:
            target = start + shard_bytes
            if target >= size:
                end = size
            else:
                nl = _find_newline(fh, target - 1)  # the line that contains byte target-1 ends the shard
                end = size if nl < 0 else nl + 1
            if size - end < shard_bytes // 4:
                end = size  # no sliver of a shard at the end
            shards.append(Shard(start, end))
            start = end
    return shards


def count_before(path: Path, start: int, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES) -> tuple[int, int]:
    """(lines, samples) in the bytes of `path` before `start` (a line start), as the reader counts them."""
    size = path.stat().st_size
    with path.open("rb") as fh:
        return _count_range(fh, 0, start, size, max_line_bytes)
