"""The cached path's reader: each JSONL line by a hash of its bytes, made into a record only when the cache lacks it.

A run after a small edit reads every line of a large file to learn which ones changed, so this is
the part of such a run that grows with the file. It reads in large blocks and finds lines in them
(rather than a readline call and a record object per line), hashes each with SHA-256 (hardware
accelerated where the CPU has it: about twice as fast as the BLAKE2b of a record's digest), and
looks the key up in the cache entry's rows: a known line becomes a bare (line, index, row, bytes)
tuple; an unknown one becomes a record that carries its bytes, parsed later (`decode`). Line
numbers, sample indices, blank lines, a byte order mark, over-long lines and shard limits are
those of `read_records` (tests compare them). JSON arrays and Parquet are read by `read_records`,
their keys derived from their digests.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import IO, Iterator, Mapping, Union

from thinklint.readers.files import (
    _READ_ERRORS,
    FileError,
    Record,
    _open,
    _reason,
    file_kind,
    read_records,
    too_long,
)
from thinklint.readers.shards import Shard, Tally

KEY_BYTES = 16
#: a line the cache knows: (line, index, row of the cache entry, bytes used)
Hit = tuple[int, int, int, int]
_WS = frozenset(b" \t\n\r\x0b\x0c")  # what bytes.strip() strips
#: read size: small enough that each read's buffer is reused from the heap (a block of 128 KiB or more
#: is a fresh mmap, whose page faults cost as much system time as the parsing saves); a line longer
#: than what is held doubles the next read, so a long line is still read in O(its length)
_BLOCK = 64 << 10
_BOM = b"\xef\xbb\xbf"


def line_key(data: bytes | memoryview) -> bytes:
    return hashlib.sha256(data).digest()[:KEY_BYTES]


def record_key(record: Record) -> bytes:
    """A record's key in the cache: its line's (JSONL), else its digest's (arrays and Parquet)."""
    if record.key is not None:
        return record.key
    return bytes(KEY_BYTES - 12) + bytes.fromhex(record.digest)


def scan_records(path: Path, max_line_bytes: int, shard: Shard | None,
                 rows: Mapping[bytes, int] | None, tally: Tally | None = None) -> Iterator[Union[Record, Hit]]:
    """`read_records(path, max_line_bytes, shard)` with each JSONL line left unparsed (its digest too,
    until `decode`), and a line whose key is in `rows` a `Hit`; with no `rows` (no cache), lines are
    not hashed at all."""
    try:
        kind = "folder" if path.is_dir() else file_kind(path)
    except FileError:
        kind = "other"
    if kind not in ("jsonl", "json"):
        yield from read_records(path, max_line_bytes, shard, tally)  # and its errors
        return
    try:
        with _open(path) as fh:
            if shard is not None and not shard.first:
                fh.seek(shard.start)
                yield from _scan(fh, max_line_bytes, shard.line, shard.index, shard.end - shard.start, rows, tally)
                return
            try:  # as `read_records` looks at a file first: the same error, and the same choice of reader
                head = fh.peek(64)[:64] if hasattr(fh, "peek") else b""
            except _READ_ERRORS as exc:
                raise FileError(f"cannot read: {_reason(exc)}") from None
            if kind == "jsonl" or head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] != b"[":
                yield from _scan(fh, max_line_bytes, 0, 0, shard.end if shard is not None else None, rows, tally)
                return
    except _READ_ERRORS as exc:
        raise FileError(f"read failed: {_reason(exc)}") from None
    yield from read_records(path, max_line_bytes, shard, tally)  # a JSON array


def _scan(fh: IO[bytes], max_line_bytes: int, lineno: int, index: int, limit: int | None,
          rows: Mapping[bytes, int] | None, tally: Tally | None) -> Iterator[Union[Record, Hit]]:
    buf = b""
    view = memoryview(buf)
    pos = used = 0
    eof = False
    get = rows.get if rows is not None else None
    ws = _WS
    sha256 = hashlib.sha256
    while limit is None or used < limit:
        nl = buf.find(b"\n", pos)
        if nl >= 0:
            end = nl + 1
        elif not eof and len(buf) - pos <= max_line_bytes:
            try:
                held = len(buf) - pos  # doubled while a line grows, never far past the size limit
                block = fh.read(max(_BLOCK, min(held, max_line_bytes + 1 - held)))
            except _READ_ERRORS as exc:
                raise FileError(f"read failed after line {lineno}: {_reason(exc)}") from None
            eof = not block
            buf = buf[pos:] + block
            view = memoryview(buf)  # lines are hashed in place, not copied out
            pos = 0
            continue
        elif eof:
            if pos >= len(buf):
                break
            end = len(buf)
        else:  # no newline within the limit: read the rest of the line through, keeping only its head
            head = buf[pos:pos + 4096]
            size = len(buf) - pos
            buf, eof, more, head = _skip_line(fh, lineno, head)
            view = memoryview(buf)
            pos = 0
            size += more
            lineno += 1
            used += size
            yield too_long(lineno, index, size, head, max_line_bytes)
            index += 1
            continue
        size = end - pos
        lineno += 1
        used += size
        if size > max_line_bytes:
            yield too_long(lineno, index, size, buf[pos:min(end, pos + 4096)], max_line_bytes)
            index += 1
            pos = end
            continue
        start = pos
        pos = end
        if lineno == 1 and buf.startswith(_BOM, start):
            start += 3
            size -= 3
            yield Record(1, None, None, "", "file starts with a UTF-8 byte order mark", "bom")
        while start < end and buf[start] in ws:
            start += 1
        while end > start and buf[end - 1] in ws:
            end -= 1
        if start == end:
            continue  # a blank line is no sample
        if get is None:
            yield Record(lineno, index, None, "", nbytes=size, raw=buf[start:end])
            index += 1
            continue
        key = sha256(view[start:end]).digest()[:KEY_BYTES]
        row = get(key)
        if row is not None:
            yield (lineno, index, row, size)
        else:
            # the digest (a second hash) waits for `decode`: a sample of a known clean shape never needs it
            yield Record(lineno, index, None, "", nbytes=size, raw=buf[start:end], key=key)
        index += 1
    if tally is not None:
        tally.done(lineno, index)


def _skip_line(fh: IO[bytes], lineno: int, head: bytes) -> tuple[bytes, bool, int, bytes]:
    """Read past the end of an over-long line: (what follows it, at the end of the file, bytes skipped,
    its first 4 KiB: `head` completed)."""
    skipped = 0
    while True:
        try:
            block = fh.read(_BLOCK)
        except _READ_ERRORS as exc:
            raise FileError(f"read failed after line {lineno}: {_reason(exc)}") from None
        if not block:
            return b"", True, skipped, head
        nl = block.find(b"\n")
        if len(head) < 4096:
            head += block[:min(4096 - len(head), nl + 1 if nl >= 0 else len(block))]
        if nl >= 0:
            return block[nl + 1:], False, skipped + nl + 1, head
        skipped += len(block)
