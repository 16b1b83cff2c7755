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
import threading
from pathlib import Path
from typing import IO, Callable, Iterator, Mapping, Union

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
#: lines wait for their keys until this many of their bytes are read, then half of them are hashed on a
#: second thread (SHA-256 releases the GIL): after a small edit, hashing is most of a run's reading and
#: the other core is idle by then
_HASH_BATCH = 4 << 20
#: fewer bytes than this are hashed on one thread: starting another would cost more than it saves
_SPLIT_BYTES = 256 << 10
#: a line waiting for its key: (line, index, bytes used, buffer, start, end)
_Waiting = tuple[int, int, int, bytes, int, int]


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
    pos = used = 0
    eof = False
    get = rows.get if rows is not None else None
    ws = _WS
    # what was read, in order: records, and (with `rows`) lines waiting for their keys
    out: list[Record | _Waiting] = []
    waiting = 0
    while limit is None or used < limit:
        if out and (get is None or waiting >= _HASH_BATCH):
            yield from _keyed(out, get)
            out, waiting = [], 0
        nl = buf.find(b"\n", pos)
        if nl >= 0:
            end = nl + 1
        elif not eof and len(buf) - pos <= max_line_bytes:
            try:
                held = len(buf) - pos  # doubled while a line grows, never far past the size limit
                block = fh.read(max(_BLOCK, min(held, max_line_bytes + 1 - held)))
            except _READ_ERRORS as exc:
                yield from _keyed(out, get)  # what was read before the error, as always
                raise FileError(f"read failed after line {lineno}: {_reason(exc)}") from None
            eof = not block
            buf = buf[pos:] + block
            pos = 0
            continue
        elif eof:
            if pos >= len(buf):
                break
            end = len(buf)
        else:  # no newline within the limit: read the rest of the line through, keeping only its head
            head = buf[pos:pos + 4096]
            size = len(buf) - pos
            try:
                buf, eof, more, head = _skip_line(fh, lineno, head)
            except FileError:
                yield from _keyed(out, get)
                raise
            pos = 0
            size += more
            lineno += 1
            used += size
            out.append(too_long(lineno, index, size, head, max_line_bytes))
            index += 1
            continue
        size = end - pos
        lineno += 1
        used += size
        if size > max_line_bytes:
            out.append(too_long(lineno, index, size, buf[pos:min(end, pos + 4096)], max_line_bytes))
            index += 1
            pos = end
            continue
        start = pos
        pos = end
        if lineno == 1 and buf.startswith(_BOM, start):
            start += 3
            size -= 3
            out.append(Record(1, None, None, "", "file starts with a UTF-8 byte order mark", "bom"))
        while start < end and buf[start] in ws:
            start += 1
        while end > start and buf[end - 1] in ws:
            end -= 1
        if start == end:
            continue  # a blank line is no sample
        if get is None:
            out.append(Record(lineno, index, None, "", nbytes=size, raw=buf[start:end]))
        else:
            out.append((lineno, index, size, buf, start, end))
            waiting += end - start
        index += 1
    yield from _keyed(out, get)
    if tally is not None:
        tally.done(lineno, index)


def _keyed(read: list[Record | _Waiting], get: Callable[[bytes], int | None] | None) -> Iterator[Union[Record, Hit]]:
    """What was read, in order, each waiting line hashed: a `Hit` if the cache knows its key, else a
    record carrying its bytes and key."""
    lines = [r for r in read if not isinstance(r, Record)]
    keys = iter(_keys(lines))
    for r in read:
        if isinstance(r, Record):
            yield r
            continue
        lineno, index, size, buf, start, end = r
        key = next(keys)
        row = get(key) if get is not None else None
        if row is not None:
            yield (lineno, index, row, size)
        else:
            # the digest (a second hash) waits for `decode`: a sample of a known clean shape never needs it
            yield Record(lineno, index, None, "", nbytes=size, raw=buf[start:end], key=key)


def _keys(lines: list[_Waiting]) -> list[bytes]:
    """`line_key` of each line, the first half of their bytes hashed on a second thread."""
    keys = [b""] * len(lines)
    total = sum(end - start for *_, start, end in lines)
    if total < _SPLIT_BYTES:
        _hash(lines, keys, 0, len(lines))
        return keys
    half = acc = 0
    while half < len(lines) - 1 and acc < total // 2:
        acc += lines[half][5] - lines[half][4]
        half += 1
    other = threading.Thread(target=_hash, args=(lines, keys, 0, half), daemon=True)
    other.start()
    _hash(lines, keys, half, len(lines))
    other.join()  # no thread outlives the call: the run may fork workers later
    if not all(keys[:half]):  # the thread failed (it cannot, short of memory): hash here
        _hash(lines, keys, 0, half)
    return keys


def _hash(lines: list[_Waiting], keys: list[bytes], first: int, stop: int) -> None:
    sha256 = hashlib.sha256
    for i in range(first, stop):
        _, _, _, buf, start, end = lines[i]
        keys[i] = sha256(memoryview(buf)[start:end]).digest()[:KEY_BYTES]


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
