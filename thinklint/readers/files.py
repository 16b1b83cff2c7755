"""Bytes to decoded records, streaming: memory stays flat in the number of samples.

JSONL keeps 1-based line numbers; JSON arrays are decoded element by element; Parquet is read
in record batches. A record that cannot be decoded is yielded with an error so that the engine
can report it at its place and go on.
"""

from __future__ import annotations

import codecs
import gzip
import hashlib
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Iterator

if TYPE_CHECKING:
    from thinklint.readers.shards import Shard

#: a longer JSONL line is reported, not loaded (a runaway line must not exhaust memory)
DEFAULT_MAX_LINE_BYTES = 64 * 1024 * 1024
_CHUNK = 1 << 20
#: what may follow a decoded number and still belong to it when the next chunk arrives
_NUMBER_TAIL = re.compile(r"[0-9.eE+-]*")
DATA_SUFFIXES = (".jsonl", ".json", ".parquet", ".jsonl.gz", ".json.gz")


class FileError(Exception):
    """A whole file cannot be read (missing, a directory, unreadable, not the format it claims)."""


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


def decode(record: Record) -> Record:
    """A lazily read record, parsed (as an eager read would have parsed it); others unchanged."""
    if record.raw is None or record.line is None or record.index is None:
        return record
    return _decode_one(record.raw, record.line, record.index, record.nbytes)


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
            return gzip.open(path, "rb")  # type: ignore[return-value]
        return path.open("rb")
    except OSError as exc:
        raise FileError(f"cannot open: {exc.strerror or exc}") from None


def read_records(path: Path, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
                 shard: Shard | None = None, lazy: bool = False) -> Iterator[Record]:
    """Every record of `path`; with a `shard` (plain JSONL only), those of its byte range.

    `lazy` JSONL records carry their bytes and digest but are not parsed (see `decode`): a cache
    that knows the digest needs no parse.
    """
    if path.is_dir():  # before the suffix: `path: data/math` is a folder, not an unsupported file type
        raise FileError(f"is a directory, expected a data file (a glob such as {path.name}/*.jsonl reads the files in it)")
    kind = file_kind(path)
    if shard is not None and not shard.first:
        with _open(path) as fh:
            fh.seek(shard.start)
            yield from _read_jsonl(fh, max_line_bytes, shard.line, shard.index, shard.end - shard.start, lazy)
        return
    if kind == "parquet":
        yield from _read_parquet(path)
        return
    with _open(path) as fh:
        try:
            head = fh.peek(64)[:64] if hasattr(fh, "peek") else b""
        except OSError as exc:
            raise FileError(f"cannot read: {exc}") from None
        first = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
        # LLaMA-Factory (through `datasets`) accepts JSON lines in .json files: decide by content
        if kind == "json" and first == b"[":
            yield from _read_array(fh, path)
        else:
            yield from _read_jsonl(fh, max_line_bytes, 0, 0, shard.end if shard is not None else None, lazy)


def _read_jsonl(fh: IO[bytes], max_line_bytes: int, lineno: int = 0, index: int = 0,
                limit: int | None = None, lazy: bool = False) -> Iterator[Record]:
    """JSON lines from the current position; `lineno` lines and `index` samples came before it.

    With `limit`, stop at the first line that starts `limit` bytes or more from where reading began.
    """
    used = 0
    while limit is None or used < limit:
        try:
            raw = fh.readline(max_line_bytes + 1)
        except (OSError, EOFError) as exc:
            raise FileError(f"read failed after line {lineno}: {exc}") from None
        if not raw:
            return
        lineno += 1
        used += len(raw)
        if len(raw) > max_line_bytes and not raw.endswith(b"\n"):
            rest = _skip_rest_of_line(fh)
            used += rest
            yield Record(lineno, index, None, digest_bytes(raw[:4096]),
                         f"line is {len(raw) + rest:,} bytes, over the {max_line_bytes:,}-byte limit; not loaded",
                         "line_too_long", len(raw) + rest)
            index += 1
            continue
        if lineno == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
            yield Record(1, None, None, "", "file starts with a UTF-8 byte order mark", "bom")
        stripped = raw.strip()
        if not stripped:
            continue
        if lazy:
            yield Record(lineno, index, None, digest_bytes(stripped), nbytes=len(raw), raw=stripped)
        else:
            yield _decode_one(stripped, lineno, index, len(raw))
        index += 1


def _skip_rest_of_line(fh: IO[bytes]) -> int:
    skipped = 0
    while True:
        chunk = fh.readline(_CHUNK)
        skipped += len(chunk)
        if not chunk or chunk.endswith(b"\n"):
            return skipped


def _decode_one(data: bytes, line: int | None, index: int, nbytes: int = 0) -> Record:
    digest = digest_bytes(data)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Record(line, index, None, digest, f"not valid UTF-8 (byte {exc.start})", "invalid_json", nbytes)
    try:
        return Record(line, index, loads(text), digest, nbytes=nbytes)
    except (ValueError, RecursionError) as exc:
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc) or "nested too deeply"
        if isinstance(exc, json.JSONDecodeError):
            reason = f"{reason} at column {exc.colno}"
        elif isinstance(exc, RecursionError):
            reason = "nested too deeply"
        return Record(line, index, None, digest, f"not valid JSON: {reason}", "invalid_json", nbytes)


def _read_array(fh: IO[bytes], path: Path) -> Iterator[Record]:
    decoder = codecs.getincrementaldecoder("utf-8")()
    buf = ""
    pos = 0
    eof = False

    def fill() -> bool:
        nonlocal buf, pos, eof
        if eof:
            return False
        chunk = fh.read(_CHUNK)
        try:
            text = decoder.decode(chunk, final=not chunk)
        except UnicodeDecodeError as exc:
            raise FileError(f"not valid UTF-8 near byte {exc.start}") from None
        buf = buf[pos:] + text
        pos = 0
        eof = not chunk
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
            if not fill():
                continue
        yield Record(None, index, value, digest_bytes(buf[pos:end].encode("utf-8", "surrogatepass")))
        index += 1
        pos = end


def _read_parquet(path: Path) -> Iterator[Record]:
    try:
        import pyarrow.parquet as pq
    except ImportError:  # pragma: no cover - pyarrow is a runtime dependency
        raise FileError("reading Parquet needs pyarrow (pip install pyarrow)") from None
    try:
        pf = pq.ParquetFile(path)
        batches = pf.iter_batches(batch_size=512)
        index = 0
        for batch in batches:
            for row in batch.to_pylist():
                blob = json.dumps(row, sort_keys=True, default=str, ensure_ascii=False).encode("utf-8")
                yield Record(None, index, _jsonable(row), digest_bytes(blob))
                index += 1
    except FileError:
        raise
    except Exception as exc:  # pyarrow raises many types for corrupt or foreign files
        raise FileError(f"cannot read Parquet: {exc}") from None


def _jsonable(value: Any) -> Any:
    """Parquet cells may be floats that JSON cannot hold; keep everything else as decoded."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value
