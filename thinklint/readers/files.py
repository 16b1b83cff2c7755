"""Bytes to decoded records, streaming: memory stays flat in the number of samples.

JSONL keeps 1-based line numbers; JSON arrays are decoded element by element; Parquet is read
in record batches. A record that cannot be decoded is yielded with an error so that the engine
can report it at its place and go on.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import math
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Iterator

if TYPE_CHECKING:
    from thinklint.readers.shards import Shard, Tally

#: a longer JSONL line (or JSON array element) is reported, not loaded: a runaway line must not
#: exhaust memory
DEFAULT_MAX_LINE_BYTES = 64 * 1024 * 1024
#: a record nested deeper is reported, not checked: rules, the template renderer and reporters
#: walk records recursively, and Python's stack is ~1,000 frames (real samples nest < 20 levels)
MAX_DEPTH = 100
_CHUNK = 1 << 20
#: what may follow a decoded number and still belong to it when the next chunk arrives
_NUMBER_TAIL = re.compile(r"[0-9.eE+-]*")
DATA_SUFFIXES = (".jsonl", ".json", ".parquet", ".jsonl.gz", ".json.gz")


class FileError(Exception):
    """A whole file cannot be read (missing, a directory, unreadable, not the format it claims)."""


#: what reading a (possibly compressed) file can raise beyond FileError: I/O errors, a truncated or
#: corrupt gzip stream (EOFError, zlib.error, gzip.BadGzipFile is an OSError)
_READ_ERRORS = (OSError, EOFError, zlib.error)


@dataclass(frozen=True)
class Record:
    line: int | None
    index: int | None  # None for file-level notices (a byte order mark)
    value: Any
    digest: str
    error: str | None = None
    error_kind: str | None = None
    #: bytes of the file this record used up (JSONL: its line; elsewhere 0), for progress
    nbytes: int = 0
    #: the undecoded line of a lazily read JSONL record (`decode` parses it); None once decoded
    raw: bytes | None = None
    #: the cache's key of a JSONL line (`readers.scan`); None: derived from `digest`
    key: bytes | None = field(default=None, compare=False)


def decode(record: Record) -> Record:
    """A lazily read record, parsed (as an eager read would have parsed it, keeping its cache key); others
    unchanged."""
    if record.raw is None or record.line is None or record.index is None:
        return record
    return _decode_one(record.raw, record.line, record.index, record.nbytes, record.key)


#: what `peek` returns for a line that `decode` would report as unreadable
UNREAD = object()


def peek(record: Record) -> Any:
    """The value `decode` would give a record, or UNREAD where it would give an error; a lazy record's
    line is parsed without hashing it, nor checking its depth (a caller that keeps the value checks
    the depth of what it does not walk itself: `thinklint.shapes`)."""
    if record.raw is None:
        return UNREAD if record.error is not None or record.index is None else record.value
    try:
        return loads(record.raw.decode("utf-8"))
    except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        return UNREAD


def record_digest(record: Record) -> str:
    """A record's digest, which a lazily read record has only once decoded: hashed here if not."""
    return record.digest or (digest_bytes(record.raw) if record.raw is not None else "")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


_decoder = json.JSONDecoder(parse_constant=_reject_constant)


def loads(text: str) -> Any:
    """json.loads without NaN/Infinity, which JSON forbids and trainers choke on."""
    value, end = _decoder.raw_decode(text, _skip_ws(text, 0))
    if _skip_ws(text, end) != len(text):
        raise json.JSONDecodeError("Extra data", text, end)
    return value


def _skip_ws(text: str, pos: int) -> int:
    n = len(text)
    while pos < n and text[pos] in " \t\r\n":
        pos += 1
    return pos


def digest_bytes(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=12).hexdigest()


def file_kind(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(".parquet"):
        return "parquet"
    if name.endswith((".jsonl", ".jsonl.gz", ".ndjson")):
        return "jsonl"
    if name.endswith((".json", ".json.gz")):
        return "json"
    raise FileError(f"unsupported file type (expected {', '.join(DATA_SUFFIXES)})")


def _open(path: Path) -> IO[bytes]:
    try:
        if path.name.lower().endswith(".gz"):
            import gzip  # here: most runs read no compressed file

            return gzip.open(path, "rb")  # type: ignore[return-value]
        return path.open("rb")
    except OSError as exc:
        raise FileError(f"cannot open: {exc.strerror or exc}") from None


def read_records(path: Path, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
                 shard: Shard | None = None, tally: Tally | None = None) -> Iterator[Record]:
    """Every record of `path`; with a `shard` (plain JSONL only), those of its byte range.

    A failure that ends the file (I/O, corrupt compression) is a FileError. (The cache's reader,
    `readers.scan`, makes records that carry their bytes unparsed: see `decode`.)
    """
    try:
        yield from _records(path, max_line_bytes, shard, tally)
    except _READ_ERRORS as exc:
        raise FileError(f"read failed: {_reason(exc)}") from None


def _reason(exc: BaseException) -> str:
    return str(getattr(exc, "strerror", None) or exc or type(exc).__name__)


def _records(path: Path, max_line_bytes: int, shard: Shard | None, tally: Tally | None) -> Iterator[Record]:
    if path.is_dir():  # before the suffix: `path: data/math` is a folder, not an unsupported file type
        raise FileError(f"is a directory, expected a data file (a glob such as {path.name}/*.jsonl reads the files in it)")
    kind = file_kind(path)
    if shard is not None and not shard.first:
        with _open(path) as fh:
            fh.seek(shard.start)
            yield from _read_jsonl(fh, max_line_bytes, shard.line, shard.index, shard.end - shard.start, tally)
        return
    if kind == "parquet":
        yield from _read_parquet(path, max_line_bytes)
        return
    with _open(path) as fh:
        try:
            head = fh.peek(64)[:64] if hasattr(fh, "peek") else b""
        except _READ_ERRORS as exc:
            raise FileError(f"cannot read: {_reason(exc)}") from None
        first = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
        # LLaMA-Factory (through `datasets`) accepts JSON lines in .json files: decide by content
        if kind == "json" and first == b"[":
            yield from _read_array(fh, path, max_line_bytes)
        else:
            yield from _read_jsonl(fh, max_line_bytes, 0, 0, shard.end if shard is not None else None, tally)


def _read_jsonl(fh: IO[bytes], max_line_bytes: int, lineno: int = 0, index: int = 0,
                limit: int | None = None, tally: Tally | None = None) -> Iterator[Record]:
    """JSON lines from the current position; `lineno` lines and `index` samples came before it.

    With `limit`, stop at the first line that starts `limit` bytes or more from where reading began.
    A `tally` is told the line and sample counts reached, once the whole range is read.
    """
    used = 0
    while limit is None or used < limit:
        try:
            raw, size, head = _read_line(fh, max_line_bytes)
        except _READ_ERRORS as exc:
            raise FileError(f"read failed after line {lineno}: {_reason(exc)}") from None
        if not size:
            break
        lineno += 1
        used += size
        if raw is None:
            yield too_long(lineno, index, size, head, max_line_bytes)
            index += 1
            continue
        if lineno == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
            yield Record(1, None, None, "", "file starts with a UTF-8 byte order mark", "bom")
        stripped = raw.strip()
        if not stripped:
            continue
        yield _decode_one(stripped, lineno, index, len(raw))
        index += 1
    if tally is not None:
        tally.done(lineno, index)


def too_long(lineno: int, index: int, size: int, head: bytes, max_line_bytes: int) -> Record:
    """A line over the size limit, known by its first bytes (a digest of the whole would mean reading it)."""
    return Record(lineno, index, None, digest_bytes(head[:4096]),
                  f"line is {size:,} bytes, over the {max_line_bytes:,}-byte limit; not loaded", "line_too_long", size)


def _read_line(fh: IO[bytes], max_line_bytes: int) -> tuple[bytes | None, int, bytes]:
    """The next line, its size in bytes and its first 4 KiB (a line over the limit is identified by
    them); the line is None when over the limit: it is read through in chunks and dropped, so memory
    stays within the limit (readline(limit) would hold a joined copy too) whatever its length."""
    first = fh.readline(_CHUNK)
    if first.endswith(b"\n") or len(first) < _CHUNK:
        return (first if len(first) <= max_line_bytes else None), len(first), first[:4096]
    parts = [first]
    size = len(first)
    while True:
        chunk = fh.readline(_CHUNK)
        size += len(chunk)
        if size > max_line_bytes:
            parts.clear()
        else:
            parts.append(chunk)
        if not chunk or chunk.endswith(b"\n"):
            return (b"".join(parts) if size <= max_line_bytes else None), size, first[:4096]


def _decode_one(data: bytes, line: int | None, index: int, nbytes: int = 0, key: bytes | None = None) -> Record:
    digest = digest_bytes(data)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Record(line, index, None, digest, f"not valid UTF-8 (byte {exc.start})", "invalid_json", nbytes,
                      key=key)
    try:
        value = loads(text)
    except (ValueError, RecursionError) as exc:
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc) or "nested too deeply"
        if isinstance(exc, json.JSONDecodeError):
            reason = f"{reason} at column {exc.colno}"
        elif isinstance(exc, RecursionError):
            reason = "nested too deeply"
        return Record(line, index, None, digest, f"not valid JSON: {reason}", "invalid_json", nbytes, key=key)
    if _may_be_deep(data) and too_deep(value):
        return Record(line, index, None, digest, DEPTH_MESSAGE, "invalid_json", nbytes, key=key)
    return Record(line, index, value, digest, nbytes=nbytes, key=key)


DEPTH_MESSAGE = f"nested more than {MAX_DEPTH} levels deep; not checked"


def _may_be_deep(data: bytes | str) -> bool:
    """Cheap pre-filter: a value cannot nest deeper than its number of opening brackets."""
    if isinstance(data, str):
        return data.count("[") + data.count("{") > MAX_DEPTH
    return data.count(b"[") + data.count(b"{") > MAX_DEPTH


def too_deep(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether containers nest deeper than `limit` (iterative: a deep value cannot overflow the stack)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        v, depth = stack.pop()
        children = v.values() if isinstance(v, dict) else v if isinstance(v, list) else None
        if children is None:
            continue
        if depth > limit:
            return True
        stack.extend((c, depth + 1) for c in children if isinstance(c, (dict, list)))
    return False


def _read_array(fh: IO[bytes], path: Path, max_bytes: int = DEFAULT_MAX_LINE_BYTES) -> Iterator[Record]:
    decoder = codecs.getincrementaldecoder("utf-8")()
    buf = ""
    pos = 0
    eof = False

    def fill() -> bool:
        nonlocal buf, pos, eof
        if eof:
            return False
        # read as much as is pending, so that an element spanning many chunks is decoded O(log n)
        # times rather than once per chunk, but not past the size limit: memory stays ~2x the limit
        pending = len(buf) - pos
        chunk = fh.read(max(_CHUNK, min(pending, max_bytes + 1 - pending)))
        try:
            text = decoder.decode(chunk, final=not chunk)
        except UnicodeDecodeError as exc:
            raise FileError(f"not valid UTF-8 near byte {exc.start}") from None
        eof = not chunk
        del chunk
        rest, buf = buf[pos:], ""  # drop the old buffer before the new one is built
        buf = rest + text
        pos = 0
        return True

    fill()
    while not buf.lstrip("\ufeff \t\r\n") and fill():  # a small first read may hold only a BOM or blanks
        pass
    if buf.startswith("\ufeff"):
        buf = buf[1:]
        yield Record(None, None, None, "", "file starts with a UTF-8 byte order mark", "bom")
    pos = _skip_ws(buf, 0)
    if pos >= len(buf) or buf[pos] != "[":
        raise FileError("expected a JSON array of samples")
    pos += 1
    index = 0
    while True:
        pos = _skip_ws(buf, pos)
        while pos >= len(buf) and fill():
            pos = _skip_ws(buf, pos)
        if pos >= len(buf):
            raise FileError("JSON array is not closed" + (f" (after element {index - 1})" if index else ""))
        if buf[pos] == "]":
            pos += 1
            while True:
                pos = _skip_ws(buf, pos)
                if pos < len(buf):
                    raise FileError(f"unexpected data after the closing ']' of the JSON array: {buf[pos:pos + 20]!r}")
                if not fill():
                    return
        if index:
            if buf[pos] != ",":
                raise FileError(f"expected ',' or ']' after element {index - 1}")
            pos = _skip_ws(buf, pos + 1)
            while pos >= len(buf) and fill():
                pos = _skip_ws(buf, pos)
            if pos >= len(buf):
                raise FileError(f"JSON array is not closed (after element {index - 1})")
        while True:
            try:
                value, end = _decoder.raw_decode(buf, pos)
                # a value that ends at the buffer's end may continue in the next chunk, and so may a
                # number followed only by characters that could still extend it ("0." then "5")
                number = isinstance(value, (int, float)) and not isinstance(value, bool)
                if eof or (end < len(buf) and not (number and _NUMBER_TAIL.fullmatch(buf, end))):
                    break
            except json.JSONDecodeError as exc:
                if eof:
                    yield Record(None, index, None, "", f"not valid JSON: {exc.msg}", "invalid_json")
                    raise FileError(f"cannot continue after malformed element {index}") from None
            except (ValueError, RecursionError) as exc:
                msg = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
                yield Record(None, index, None, "", f"not valid JSON: {msg}", "invalid_json")
                raise FileError(f"cannot continue after malformed element {index}") from None
            if len(buf) - pos > max_bytes:
                # the characters held are at least as many bytes: the element is over the limit.
                # Without decoding it there is no telling where it ends, so the file stops here.
                yield Record(None, index, None, "",
                             f"element is over the {max_bytes:,}-byte limit; not loaded", "line_too_long")
                raise FileError(
                    f"the rest of the file after element {index} (over the size limit) is not read")
            if not fill():
                continue
        digest = digest_bytes(buf[pos:end].encode("utf-8", "surrogatepass"))
        if _may_be_deep(buf[pos:end]) and too_deep(value):
            yield Record(None, index, None, digest, DEPTH_MESSAGE, "invalid_json")
        else:
            yield Record(None, index, value, digest)
        index += 1
        pos = end


def _read_parquet(path: Path, max_bytes: int = DEFAULT_MAX_LINE_BYTES) -> Iterator[Record]:
    """Rows in batches of at most 512, fewer when rows are large (a batch stays near `max_bytes`);
    a row larger than `max_bytes` as JSON is reported (FMT013) rather than checked. Parquet stores a
    cell whole in its page, so one row is read whole: the limit bounds the batch, not the row."""
    try:
        import pyarrow.parquet as pq
    except ImportError:  # pragma: no cover - pyarrow is a runtime dependency
        raise FileError("reading Parquet needs pyarrow (pip install pyarrow)") from None
    try:
        pf = pq.ParquetFile(path)
        depth = _type_depth(pf.schema_arrow)
        if depth > MAX_DEPTH:
            raise FileError(f"the Parquet schema nests {depth} levels deep, over the {MAX_DEPTH}-level limit")
        meta = pf.metadata
        widest = max((meta.row_group(i).total_byte_size / max(meta.row_group(i).num_rows, 1)
                      for i in range(meta.num_row_groups)), default=0.0)
        batches = pf.iter_batches(batch_size=max(1, min(512, int(max_bytes // max(widest, 1.0)))))
        index = 0
        for batch in batches:
            for row in batch.to_pylist():
                blob = json.dumps(row, sort_keys=True, default=_typed, ensure_ascii=False).encode("utf-8")
                if len(blob) > max_bytes:
                    yield Record(None, index, None, digest_bytes(blob[:4096]),
                                 f"row is {len(blob):,} bytes as JSON, over the {max_bytes:,}-byte limit; "
                                 "not checked", "line_too_long")
                else:
                    yield Record(None, index, jsonable(row), digest_bytes(blob))
                index += 1
    except FileError:
        raise
    except Exception as exc:  # pyarrow raises many types for corrupt or foreign files
        raise FileError(f"cannot read Parquet: {exc}") from None


def _typed(value: Any) -> str:
    """A cell JSON cannot hold (a date, bytes, a decimal), as text that keeps its type: the row's digest is
    its cache key, and a date must not share one with the string that reads the same (FMT004 tells them
    apart). JSON-native rows are dumped exactly as before, so their digests (and baselines) stay."""
    return f"\x00{type(value).__module__}.{type(value).__qualname__}\x00{value}"


def _type_depth(schema: Any) -> int:
    """How deep an Arrow schema nests (a row of it is that deep in Python), counted without recursion."""
    deepest = 0
    stack = [(schema.field(i).type, 1) for i in range(len(schema))]
    while stack:
        t, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((t.field(i).type, depth + 1) for i in range(t.num_fields))
    return deepest


def jsonable(value: Any) -> Any:
    """Parquet cells may be floats that JSON cannot hold; keep everything else as decoded."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    return value
