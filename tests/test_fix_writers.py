"""check --fix writes files back in their own format: what changes, what must not, and atomically.

JSONL keeps every untouched line byte for byte (endings, spacing, escapes, numbers), the changed
line's text outside the repaired span, the final newline or its absence, a BOM, gzip; JSON arrays
keep their layout; Parquet its schema, row groups and compression. A file that cannot be parsed
whole is left alone; a crash mid-write leaves the original intact and no temporary file.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from thinklint.app import run_check
from thinklint.settings import Settings

Q = {"role": "user", "content": "2+2?"}
OK = {"messages": [Q, {"role": "assistant", "content": "<think>\nadd\n</think>\n\n4"}]}
#: THK008 (safe): '<think>R</think>4' becomes '<think>\nR\n</think>\n\n4'
SPACING = {"messages": [Q, {"role": "assistant", "content": "<think>add</think>4"}]}


def project(root: Path, data_name: str = "data.jsonl", extra: str = "", fmt: str = "openai") -> Path:
    spec = root / "thinklint.yaml"
    spec.write_text("version: 1\nmodel: {profile: qwen3}\ntraining: {framework: chat_template}\n"
                    f"datasets:\n  - {{name: d, path: {data_name}, format: {fmt}}}\n{extra}", encoding="utf-8")
    return spec


def fix(root: Path, **flags: Any) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run_check(Settings(config=root / "thinklint.yaml", fix=True, **flags), out, err)
    return code, out.getvalue(), err.getvalue()


def leftovers(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.name.endswith(".tmp"))


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


# --- JSONL ------------------------------------------------------------------------------------

MIXED = [
    (b'{"id": 1.50, "messages": [{"role": "user", "content": "caf\\u00e9 \\/ 2+2?"}, '
     b'{"role": "assistant", "content": "<think>add</think>4"}], "n": 1e5}\r\n'),
    b'{"messages":[{"role":"user","content":"x"},{"role":"assistant","content":"<think>\\nadd\\n</think>\\n\\n4"}]}\n',
    b"\n",
    (b'  {"messages": [{"role": "user", "content": "\xc3\xa9\xf0\x9f\x98\x80"},   '
     b'{"role": "assistant", "content": "<think>\\u00e9</think>\xc3\xa9 4"}]}  \r\n'),
    b'{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "4"}], "x": [1, 2.0, true]}\n',
    b'{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "<think>R</think>\\ud83d\\ude00"}]}',
]


def test_jsonl_rewrites_only_the_changed_lines(here: Path) -> None:
    project(here)
    data = here / "data.jsonl"
    data.write_bytes(b"".join(MIXED))
    os.chmod(data, 0o640)
    code, out, err = fix(here)
    after = data.read_bytes().split(b"\n")
    before = b"".join(MIXED).split(b"\n")
    assert len(after) == len(before)
    changed = [i for i, (a, b) in enumerate(zip(before, after)) if a != b]
    assert changed == [0, 3, 5]  # the three lines with '<think>R</think>ANSWER'
    # a changed line differs only inside the repaired string: numbers, escapes, spacing, CRLF stay
    assert after[0] == (b'{"id": 1.50, "messages": [{"role": "user", "content": "caf\\u00e9 \\/ 2+2?"}, '
                        b'{"role": "assistant", "content": "<think>\\nadd\\n</think>\\n\\n4"}], "n": 1e5}\r')
    assert after[3] == (b'  {"messages": [{"role": "user", "content": "\xc3\xa9\xf0\x9f\x98\x80"},   '
                        b'{"role": "assistant", "content": "<think>\\n\\u00e9\\n</think>\\n\\n\xc3\xa9 4"}]}  \r')
    # the last line had no newline and still has none; its surrogate-pair escape is kept
    assert after[5] == (b'{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", '
                        b'"content": "<think>\\nR\\n</think>\\n\\n\\ud83d\\ude00"}]}')
    assert stat.S_IMODE(data.stat().st_mode) == 0o640
    assert "Fixed 3 findings (0 remaining)." in out
    assert code == 0 and not err and not leftovers(here)


def test_fix_is_idempotent_and_the_file_passes(here: Path) -> None:
    project(here)
    data = here / "data.jsonl"
    data.write_bytes(b"".join(MIXED))
    fix(here)
    once = data.read_bytes()
    mtime = data.stat().st_mtime_ns
    code, out, _ = fix(here)
    assert data.read_bytes() == once
    assert data.stat().st_mtime_ns == mtime  # nothing to fix: the file is not even rewritten
    assert "Fixed 0 findings (0 remaining)." in out and code == 0


def test_bom_and_crlf_survive(here: Path) -> None:
    project(here)
    data = here / "data.jsonl"
    data.write_bytes(b"\xef\xbb\xbf" + json.dumps(SPACING).encode() + b"\r\n" + json.dumps(OK).encode() + b"\r\n")
    fix(here)
    raw = data.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf{") and raw.endswith(b"\r\n") and raw.count(b"\r\n") == 2
    assert json.loads(raw[3:].split(b"\r\n")[0])["messages"][1]["content"] == "<think>\nadd\n</think>\n\n4"


def test_gzip_stays_gzip(here: Path) -> None:
    project(here, "data.jsonl.gz")
    data = here / "data.jsonl.gz"
    body = (json.dumps(OK) + "\n" + json.dumps(SPACING) + "\n").encode()
    data.write_bytes(gzip.compress(body, mtime=1234567))
    fix(here)
    raw = data.read_bytes()
    assert raw[:2] == b"\x1f\x8b"
    assert int.from_bytes(raw[4:8], "little") == 1234567  # the header's time is kept
    lines = gzip.decompress(raw).split(b"\n")
    assert lines[0] == json.dumps(OK).encode() and lines[2] == b""
    assert json.loads(lines[1])["messages"][1]["content"] == "<think>\nadd\n</think>\n\n4"


def test_a_file_with_an_unparseable_line_is_not_rewritten(here: Path) -> None:
    project(here)
    data = here / "data.jsonl"
    original = (json.dumps(SPACING) + "\n{not json\n").encode()
    data.write_bytes(original)
    code, out, err = fix(here)
    assert data.read_bytes() == original
    assert "data.jsonl: not fixed: line 2 cannot be parsed" in err
    assert "FMT001" in out and "THK008" in out and code == 1


def test_a_key_move_keeps_key_order_and_the_rest_of_the_line(here: Path) -> None:
    project(here)
    data = here / "data.jsonl"
    line = ('{"id":7,"messages":[{"role":"user","content":"q"},'
            '{"role":"assistant","thinking":"R","content":"4","weight":0.5}]}\n')
    data.write_text(line, encoding="utf-8")
    fix(here)
    assert data.read_text(encoding="utf-8") == line.replace('"thinking"', '"reasoning_content"')


# --- crashes ----------------------------------------------------------------------------------

@pytest.mark.parametrize("where", ["patch", "fsync", "replace"])
def test_a_crash_mid_write_leaves_the_original(here: Path, monkeypatch: pytest.MonkeyPatch, where: str) -> None:
    from thinklint.fix import writers

    project(here)
    data = here / "data.jsonl"
    original = "".join(json.dumps(r) + "\n" for r in [SPACING, OK, SPACING, OK]).encode()
    data.write_bytes(original)
    if where == "patch":  # the second changed line fails: half the new file is already written
        real, calls = writers._patch_line, []

        def flaky(raw: bytes, change: Any) -> bytes:
            calls.append(change)
            if len(calls) == 2:
                raise OSError("disk full")
            return real(raw, change)

        monkeypatch.setattr(writers, "_patch_line", flaky)
    elif where == "fsync":
        monkeypatch.setattr(os, "fsync", lambda fd: (_ for _ in ()).throw(OSError("I/O error")))
    else:
        monkeypatch.setattr(os, "replace", lambda a, b: (_ for _ in ()).throw(OSError("read-only")))
    code, _, err = fix(here)
    assert data.read_bytes() == original
    assert not leftovers(here)
    assert "data.jsonl: not fixed:" in err and code == 0  # THK008 is a warning


def test_an_interrupt_mid_write_leaves_the_original(here: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from thinklint.fix import writers

    project(here)
    data = here / "data.jsonl"
    original = "".join(json.dumps(r) + "\n" for r in [SPACING, OK, SPACING]).encode()
    data.write_bytes(original)

    def interrupted(raw: bytes, change: Any) -> bytes:
        raise KeyboardInterrupt

    monkeypatch.setattr(writers, "_patch_line", interrupted)
    with pytest.raises(KeyboardInterrupt):
        fix(here)
    assert data.read_bytes() == original and not leftovers(here)


# --- JSON arrays ------------------------------------------------------------------------------

def test_json_array_keeps_its_layout(here: Path) -> None:
    project(here, "data.json")
    data = here / "data.json"
    moved = {"messages": [Q, {"role": "assistant", "thinking": "R", "content": "4"}]}
    text = json.dumps([OK, SPACING, moved], indent=2, ensure_ascii=False) + "\n"
    data.write_text(text, encoding="utf-8")
    code, out, _ = fix(here)
    new = data.read_text(encoding="utf-8")
    expected = text.replace('"<think>add</think>4"', '"<think>\\nadd\\n</think>\\n\\n4"').replace(
        '"thinking": "R"', '"reasoning_content": "R"')
    assert new == expected
    assert "Fixed 2 findings (0 remaining)." in out and code == 0


def test_json_array_is_not_written_by_diff(here: Path) -> None:
    project(here, "data.json")
    data = here / "data.json"
    text = json.dumps([OK, SPACING], indent=2)
    data.write_text(text, encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    code = run_check(Settings(config=here / "thinklint.yaml", diff=True), out, err)
    assert data.read_text(encoding="utf-8") == text
    assert code == 1
    assert '-        "content": "<think>add</think>4"' in out.getvalue()
    assert '+        "content": "<think>\\nadd\\n</think>\\n\\n4"' in out.getvalue()


# --- Parquet ----------------------------------------------------------------------------------

def _parquet(path: Path, rows: list[dict[str, Any]], with_field: bool = True) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    fields = [pa.field("role", pa.string()), pa.field("content", pa.string())]
    if with_field:
        fields.append(pa.field("reasoning_content", pa.string()))
    fields.append(pa.field("thinking", pa.string()))
    schema = pa.schema([pa.field("id", pa.int32()), pa.field("messages", pa.list_(pa.struct(fields)))],
                       metadata={b"huggingface": b'{"info": "kept"}'})
    table = pa.Table.from_pylist(rows, schema=schema)
    pq.write_table(table, path, row_group_size=2, compression="zstd")


def _rows() -> list[dict[str, Any]]:
    return [{"id": i, "messages": [dict(m) for m in (OK if i % 2 else SPACING)["messages"]]} for i in range(5)]


def test_parquet_keeps_schema_row_groups_and_compression(here: Path) -> None:
    import pyarrow.parquet as pq

    project(here, "data.parquet")
    data = here / "data.parquet"
    _parquet(data, _rows())
    before = pq.ParquetFile(data)
    old_table = before.read()
    code, out, _ = fix(here)
    after = pq.ParquetFile(data)
    assert after.schema_arrow.equals(before.schema_arrow, check_metadata=True)
    assert [after.metadata.row_group(i).num_rows for i in range(after.num_row_groups)] == [2, 2, 1]
    assert after.metadata.row_group(0).column(0).compression == "ZSTD"
    new_rows = after.read().to_pylist()
    for i, (old, new) in enumerate(zip(old_table.to_pylist(), new_rows)):
        if i % 2:
            assert new == old  # untouched rows as they were
        else:
            assert new["messages"][1]["content"] == "<think>\nadd\n</think>\n\n4"
            assert {**new, "messages": new["messages"][:1]} == {**old, "messages": old["messages"][:1]}
    assert "Fixed 3 findings (0 remaining)." in out and code == 0


def test_parquet_fix_that_needs_a_new_field_is_refused(here: Path) -> None:
    project(here, "data.parquet")
    data = here / "data.parquet"
    rows = [{"id": 0, "messages": [Q, {"role": "assistant", "thinking": "R", "content": "4"}]}]
    _parquet(data, rows, with_field=False)
    original = data.read_bytes()
    code, _, err = fix(here)
    assert data.read_bytes() == original
    assert "needs a field the Parquet schema does not have" in err and code == 1


def test_parquet_diff_shows_rows(here: Path) -> None:
    project(here, "data.parquet")
    data = here / "data.parquet"
    _parquet(data, _rows()[:1])
    original = data.read_bytes()
    out, err = io.StringIO(), io.StringIO()
    code = run_check(Settings(config=here / "thinklint.yaml", diff=True), out, err)
    assert data.read_bytes() == original and code == 1
    assert out.getvalue().startswith("--- data.parquet (rows as JSON)\n+++ data.parquet (rows as JSON)\n@@ -1,1 +1,1 @@\n")


def test_a_renamed_key_keeps_its_value_text(here: Path) -> None:
    project(here)
    data = here / "data.jsonl"
    line = ('{"messages": [{"role": "user", "content": "é"}, '
            '{"role": "assistant", "thinking": "caf\\u00e9 \\/ R", "content": "4"}]}\n')
    data.write_text(line, encoding="utf-8")
    fix(here)
    assert data.read_text(encoding="utf-8") == line.replace('"thinking"', '"reasoning_content"')


def test_an_unclosed_json_array_is_not_rewritten(here: Path) -> None:
    project(here, "data.json")
    data = here / "data.json"
    text = "[" + json.dumps(SPACING) + ",\n"
    data.write_text(text, encoding="utf-8")
    code, _, err = fix(here)
    assert data.read_text(encoding="utf-8") == text
    assert "data.json: not fixed: JSON array is not closed" in err and code == 1
