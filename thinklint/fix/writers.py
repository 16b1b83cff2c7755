"""Fixed records written back in their file's own format, atomically.

- JSONL (gzip too): only changed lines are rewritten, each by a minimal textual edit of its JSON
  (`jsontext.patch`); every other line is copied byte for byte, every line keeps its ending (LF or
  CRLF), the last line keeps its newline or its lack of one, a byte order mark stays.
- JSON arrays: the changed elements are edited in place in the file's text; the rest of the text
  (indentation, separators, the other elements) is kept as it is.
- Parquet: the file is rewritten row group by row group with the same Arrow schema (and its
  metadata), row group sizes and compression; row groups without a change are copied as read.
  A fix that needs a field the schema does not have is refused: the schema is not ours to change.

Each writer checks that a record still decodes to what was read before it writes the fix (the
file may have changed since), and writes through `atomic_writer`: a failure at any point leaves
the original file as it was and no temporary file behind.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, BinaryIO

from thinklint.fix.jsontext import elements, patch, skip_ws, style_of
from thinklint.fsutil import atomic_writer
from thinklint.jsonpath import same
from thinklint.readers.files import file_kind, jsonable

_BOM = b"\xef\xbb\xbf"
_decoder = json.JSONDecoder()


class WriteError(Exception):
    """The file cannot be rewritten as planned; it is left as it was."""


@dataclass(frozen=True)
class Change:
    """A record to rewrite: its 0-based index, 1-based JSONL line, value as read and as fixed."""

    index: int
    line: int | None
    old: Any
    new: Any


def _is_gzip(path: Path) -> bool:
    return path.name.lower().endswith(".gz")


def _open(path: Path) -> IO[bytes]:
    return gzip.open(path, "rb") if _is_gzip(path) else path.open("rb")  # type: ignore[return-value]


def layout(path: Path) -> str:
    """parquet, array (a JSON array) or jsonl, decided as the reader decides."""
    kind = file_kind(path)
    if kind == "parquet":
        return "parquet"
    with _open(path) as fh:
        head = fh.read(64)
    return "array" if kind == "json" and head.lstrip(_BOM + b" \t\r\n")[:1] == b"[" else "jsonl"


@contextmanager
def output(path: Path) -> Iterator[BinaryIO]:
    """An atomic output for `path`, compressed again when the file was (same name in the header,
    same modification time); the compressed bytes differ, the content keeps every guarantee."""
    with atomic_writer(path) as fh:
        if not _is_gzip(path):
            yield fh
            return
        with gzip.open(path, "rb") as old:
            old.read(1)
            mtime = getattr(old, "mtime", None)
        with gzip.GzipFile(filename=path.name, mode="wb", fileobj=fh, mtime=mtime) as gz:
            yield gz  # type: ignore[misc]


# ---------------------------------------------------------------------------------------------
# JSONL


def lines(path: Path) -> Iterator[bytes]:
    """The file's lines as the reader counts them (split at LF), endings kept."""
    with _open(path) as fh:
        yield from fh


def _patch_line(raw: bytes, change: Change) -> bytes:
    ending = b"\r\n" if raw.endswith(b"\r\n") else b"\n" if raw.endswith(b"\n") else b""
    body = raw[:len(raw) - len(ending)]
    bom = _BOM if change.line == 1 and body.startswith(_BOM) else b""
    text = body[len(bom):].decode("utf-8")
    start = skip_ws(text, 0)
    value, end = _decoder.raw_decode(text, start)
    if not same(value, change.old):
        raise WriteError(f"line {change.line} changed since it was read")
    new = patch(text, start, end, change.old, change.new, style_of(text, start))
    return bom + (text[:start] + new + text[end:]).encode("utf-8") + ending


def stream_jsonl(path: Path, changes: Iterator[Change], out: BinaryIO | None) -> dict[int, tuple[bytes, bytes]]:
    """Copy the file's lines to `out`, the changed ones patched (`changes` in line order, pulled as
    the copy reaches them, so that neither the file nor its records are held in memory). Returns
    line -> (old bytes, new bytes) for every changed line; without `out` (a diff), nothing is written."""
    patched: dict[int, tuple[bytes, bytes]] = {}
    pending = next(changes, None)
    for n, raw in enumerate(lines(path), 1):
        if pending is not None and pending.line == n:
            new = _patch_line(raw, pending)
            patched[n] = (raw, new) if out is None else (b"", b"")  # a write keeps no copy
            raw = new
            pending = next(changes, None)
            if pending is not None and (pending.line or 0) <= n:
                raise WriteError("changes out of line order")  # pragma: no cover - a bug, not data
        if out is not None:
            out.write(raw)
    if pending is not None:
        raise WriteError("the file is shorter than when it was read")
    return patched


# ---------------------------------------------------------------------------------------------
# JSON arrays


def array_text(path: Path) -> str:
    with _open(path) as fh:
        return fh.read().decode("utf-8")


def patched_array(text: str, changes: list[Change]) -> str:
    """The array file's text with the changed elements edited in place."""
    start = skip_ws(text, 1 if text.startswith("\ufeff") else 0)
    spans, _ = elements(text, start)
    if not spans:
        return text
    style = style_of(text, spans[0][0])
    out, pos = [], 0
    for change in sorted(changes, key=lambda c: c.index):
        if change.index >= len(spans):
            raise WriteError("the file has fewer samples than when it was read")
        s, e = spans[change.index]
        if not same(_decoder.raw_decode(text, s)[0], change.old):
            raise WriteError(f"sample {change.index} changed since it was read")
        out += [text[pos:s], patch(text, s, e, change.old, change.new, style)]
        pos = e
    return "".join(out) + text[pos:]


def write_text(path: Path, text: str) -> None:
    with output(path) as out:
        out.write(text.encode("utf-8"))


# ---------------------------------------------------------------------------------------------
# Parquet


def _fits(value: Any, typ: Any) -> bool:
    """True when `value` can be stored under Arrow type `typ` without losing a key."""
    import pyarrow as pa

    if value is None:
        return True
    if pa.types.is_struct(typ):
        names = {typ.field(i).name for i in range(typ.num_fields)}
        if not isinstance(value, dict) or any(v is not None for k, v in value.items() if k not in names):
            return False
        return all(_fits(value.get(typ.field(i).name), typ.field(i).type) for i in range(typ.num_fields))
    if pa.types.is_list(typ) or pa.types.is_large_list(typ):
        return isinstance(value, list) and all(_fits(v, typ.value_type) for v in value)
    if pa.types.is_string(typ) or pa.types.is_large_string(typ):
        return isinstance(value, str)
    return True


def _changed_columns(change: Change, schema: Any) -> list[str]:
    """The columns a fix changes; refused when one is not in the schema or cannot hold its value."""
    names = [n for n in {*change.old, *change.new} if not same(change.old.get(n), change.new.get(n))]
    for name in names:
        if name not in schema.names or not _fits(change.new.get(name), schema.field(name).type):
            raise WriteError(f"the fix of row {change.index} needs a field the Parquet schema does not have "
                             f"(column {name!r}); the schema is left as it is")
    return names


def check_parquet(path: Path, changes: list[Change]) -> None:
    """Refuse, before anything is shown or written, fixes the file's schema cannot hold."""
    import pyarrow.parquet as pq

    schema = pq.ParquetFile(path).schema_arrow
    for change in changes:
        _changed_columns(change, schema)


def _fixed_row(row: dict[str, Any], change: Change, schema: Any) -> dict[str, Any]:
    if not same(jsonable(row), change.old):
        raise WriteError(f"row {change.index} changed since it was read")
    out = dict(row)  # an untouched column keeps its value exactly as read
    for name in _changed_columns(change, schema):
        out[name] = change.new.get(name)
    return out


def write_parquet(path: Path, changes: list[Change]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    by_index = {c.index: c for c in changes}
    pf = pq.ParquetFile(path)
    schema = pf.schema_arrow
    check_parquet(path, changes)  # refuse before the temporary file is even created
    meta = pf.metadata
    codec = meta.row_group(0).column(0).compression if meta.num_row_groups and meta.num_columns else "SNAPPY"
    compression = "none" if codec == "UNCOMPRESSED" else codec.lower()
    if meta.num_rows <= max(by_index, default=-1):
        raise WriteError("the file has fewer rows than when it was read")
    offset = 0
    with output(path) as fh:
        writer = pq.ParquetWriter(fh, schema, compression=compression)
        try:
            for g in range(pf.num_row_groups):
                table = pf.read_row_group(g)
                n = table.num_rows
                hits = [i for i in range(offset, offset + n) if i in by_index]
                if hits:
                    rows = table.to_pylist()
                    for i in hits:
                        rows[i - offset] = _fixed_row(rows[i - offset], by_index[i], schema)
                    table = pa.Table.from_pylist(rows, schema=schema)
                writer.write_table(table, row_group_size=max(n, 1))
                offset += n
        finally:
            writer.close()
