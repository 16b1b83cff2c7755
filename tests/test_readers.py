"""Readers: bytes to records (with their places), records to normalised samples, dataset_info imports."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.util import GOOD, write, write_jsonl
from thinklint.app import run_lint
from thinklint.model import Finding, Sample
from thinklint.profiles import builtin_profiles
from thinklint.readers import files
from thinklint.readers.files import FileError, Record, read_records
from thinklint.readers.formats import normalise
from thinklint.settings import Settings
from thinklint.spec import DatasetSpec, load_spec

QWEN3 = builtin_profiles()["qwen3"]


def records(path: Path) -> list[Record]:
    return list(read_records(path))


def values(path: Path) -> list[Any]:
    return [r.value for r in read_records(path) if r.index is not None]


def lint(root: Path, spec_text: str) -> list[Finding]:
    result, _, _ = run_lint(load_spec(write(root / "thinklint.yaml", spec_text)), Settings())
    assert not result.internal_errors, result.internal_errors
    return list(result.findings)


# --- JSONL ------------------------------------------------------------------------------------

def test_jsonl_lines_are_1_based_blank_lines_skipped_index_counts_samples(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_bytes(b'{"a": 1}\n\n   \n{"a": 2}\n\t\n{"a": 3}')  # no final newline
    got = [(r.line, r.index, r.value) for r in records(path)]
    assert got == [(1, 0, {"a": 1}), (4, 1, {"a": 2}), (6, 2, {"a": 3})]


def test_jsonl_crlf(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_bytes(b'{"a": "x"}\r\n\r\n{"a": "y"}\r\n')
    assert [(r.line, r.value) for r in records(path)] == [(1, {"a": "x"}), (3, {"a": "y"})]


def test_jsonl_digest_ignores_the_line_ending_but_not_the_content(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a.jsonl", tmp_path / "b.jsonl", tmp_path / "c.jsonl"
    a.write_bytes(b'{"a": 1}\n')
    b.write_bytes(b'\n\n{"a": 1}\r\n')
    c.write_bytes(b'{"a": 2}\n')
    assert records(a)[0].digest == records(b)[0].digest != records(c)[0].digest


def test_gzip_jsonl(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl.gz"
    with gzip.open(path, "wb") as fh:
        fh.write(b'{"a": 1}\n\n{"a": 2}\n')
    assert [(r.line, r.index, r.value) for r in records(path)] == [(1, 0, {"a": 1}), (3, 1, {"a": 2})]


def test_a_bad_line_is_reported_at_its_place_and_reading_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_bytes(b'{"a": 1}\n{"a": \n{"a": NaN}\n{"a": Infinity}\n{"a": "\xff"}\n{"a": 2}\n')
    got = [(r.line, r.index, r.error_kind, r.error or "") for r in records(path)]
    assert got[0] == (1, 0, None, "")
    assert got[1][:3] == (2, 1, "invalid_json") and got[1][3].startswith("not valid JSON: Expecting value")
    assert got[2][:3] == (3, 2, "invalid_json") and "NaN is not valid JSON" in got[2][3]
    assert got[3][:3] == (4, 3, "invalid_json") and "Infinity is not valid JSON" in got[3][3]
    assert got[4][:3] == (5, 4, "invalid_json") and "not valid UTF-8" in got[4][3]
    assert got[5] == (6, 5, None, "")


def test_jsonl_bom_is_a_notice_and_the_first_line_still_reads(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"messages": []}\n{"a": 1}\n')
    got = records(path)
    assert (got[0].index, got[0].error_kind) == (None, "bom")
    assert [(r.line, r.index, r.value) for r in got[1:]] == [(1, 0, {"messages": []}), (2, 1, {"a": 1})]


def test_a_line_over_the_limit_is_reported_not_loaded(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    big = json.dumps({"text": "x" * 5000})
    path.write_text(f'{{"a": 1}}\n{big}\n{{"a": 2}}\n', encoding="utf-8")
    got = list(read_records(path, max_line_bytes=1024))
    assert [(r.line, r.index, r.error_kind) for r in got] == [(1, 0, None), (2, 1, "line_too_long"), (3, 2, None)]
    assert f"line is {len(big) + 1:,} bytes" in (got[1].error or "")


# --- JSON arrays ------------------------------------------------------------------------------

def test_json_array_elements_have_an_index_and_no_line(tmp_path: Path) -> None:
    path = write(tmp_path / "a.json", '[\n  {"a": "]["},\n  {"b": "\\"],{"},\n  {"c": [[1], {"d": "}"}]}\n]\n')
    got = [(r.line, r.index, r.value) for r in records(path)]
    assert got == [(None, 0, {"a": "]["}), (None, 1, {"b": '"],{'}), (None, 2, {"c": [[1], {"d": "}"}]})]


def test_json_array_element_spanning_a_chunk_boundary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(files, "_CHUNK", 16)
    items = [{"messages": [{"role": "user", "content": "é" * 40 + "]},{"}]}, {"n": 12345.5e-3}, {"s": "\\u00e9"}]
    path = write(tmp_path / "a.json", json.dumps(items, ensure_ascii=False))
    assert values(path) == items


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=8)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(items=st.lists(JSON_VALUES, max_size=5), chunk=st.integers(1, 12),
       ws=st.sampled_from(["", " ", "\n", "\r\n\t"]), bom=st.booleans())
def test_json_array_streaming_agrees_with_json_loads(items: list[Any], chunk: int, ws: str, bom: bool,
                                                     tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # any chunk size, any whitespace: the streaming reader returns what json.loads returns
    monkeypatch.setattr(files, "_CHUNK", chunk)
    text = ws + "[" + ws + ("," + ws).join(json.dumps(v, ensure_ascii=False) for v in items) + ws + "]" + ws
    path = tmp_path / "h.json"
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    got = records(path)
    assert [r.value for r in got if r.index is not None] == json.loads(text)
    assert [r.index for r in got if r.index is not None] == list(range(len(items)))
    assert [r.error_kind for r in got if r.index is None] == (["bom"] if bom else [])


def test_json_array_number_split_across_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # "0." ends one chunk and "5" starts the next: the element is 0.5, not 0 followed by garbage
    monkeypatch.setattr(files, "_CHUNK", 3)
    path = write(tmp_path / "a.json", "[0.5,12e3]")
    assert values(path) == [0.5, 12000.0]


def test_json_array_missing_comma(tmp_path: Path) -> None:
    path = write(tmp_path / "a.json", '[{"a": 1} {"b": 2}]')
    got = []
    with pytest.raises(FileError, match=r"expected ',' or ']' after element 0"):
        for r in read_records(path):
            got.append(r.value)
    assert got == [{"a": 1}]  # what came before the mistake was read


@pytest.mark.parametrize(("text", "message"), [
    ('[{"a": 1}, {"b": 2}', r"^JSON array is not closed \(after element 1\)$"),
    ('[{"a": 1},', r"^JSON array is not closed \(after element 0\)$"),
    ("[", r"^JSON array is not closed$"),
    ('[{"a": 1}] {"b": 2}', r"unexpected data after the closing '\]'"),
    ('[{"a": 1}]]', r"unexpected data after the closing '\]'"),
])
def test_json_array_not_properly_closed(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(FileError, match=message):
        records(write(tmp_path / "a.json", text))


def test_json_array_with_a_malformed_element(tmp_path: Path) -> None:
    path = write(tmp_path / "a.json", '[{"a": 1}, {"a": NaN}, {"a": 2}]')
    seen: list[Record] = []
    with pytest.raises(FileError, match="cannot continue after malformed element 1"):
        seen.extend(read_records(path))
    assert [(r.index, r.error_kind) for r in seen] == [(0, None), (1, "invalid_json")]
    assert "NaN" in (seen[1].error or "")


def test_json_array_with_invalid_utf8_is_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_bytes(b'[{"a": "\xff"}]')
    with pytest.raises(FileError, match="not valid UTF-8"):
        records(path)


def test_json_array_with_a_bom_is_reported_like_jsonl(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_bytes(b'\xef\xbb\xbf[{"a": 1}]')
    got = records(path)
    assert [(r.index, r.error_kind, r.value) for r in got] == [(None, "bom", None), (0, None, {"a": 1})]


def test_json_lines_inside_a_json_file_keep_line_numbers(tmp_path: Path) -> None:
    # LLaMA-Factory (through `datasets`) reads JSON lines from a .json file; so do we
    path = write(tmp_path / "a.json", '{"a": 1}\n\n{"a": 2}\n')
    assert [(r.line, r.index, r.value) for r in records(path)] == [(1, 0, {"a": 1}), (3, 1, {"a": 2})]


def test_a_json_object_file_is_one_record(tmp_path: Path) -> None:
    path = write(tmp_path / "a.json", '{"a": 1}')
    assert [(r.line, r.index, r.value) for r in records(path)] == [(1, 0, {"a": 1})]


# --- Parquet ----------------------------------------------------------------------------------

def test_parquet_rows_with_nested_messages(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    rows = [
        {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "<think>\nR\n</think>\n\nA"}],
         "score": 1.0},
        {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "B"}], "score": float("nan")},
    ]
    path = tmp_path / "a.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path, row_group_size=1)
    got = records(path)
    assert [(r.line, r.index) for r in got] == [(None, 0), (None, 1)]
    assert got[0].value == rows[0]
    assert got[1].value["messages"] == rows[1]["messages"]
    assert got[1].value["score"] is None  # NaN has no JSON form
    assert got[0].digest != got[1].digest


def test_parquet_findings_have_a_sample_index_and_no_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    rows = [GOOD, {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "<think>\nR\nA"}]}]
    (tmp_path / "data").mkdir()
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "data" / "a.parquet")
    monkeypatch.chdir(tmp_path)
    found = lint(tmp_path, "version: 1\ndatasets:\n  - {name: p, path: data/*.parquet}\n")
    assert [(f.rule, f.path, f.line, f.sample) for f in found] == [("THK001", "data/a.parquet", None, 1)]


def test_not_parquet_is_unreadable(tmp_path: Path) -> None:
    path = write(tmp_path / "a.parquet", "this is not parquet")
    with pytest.raises(FileError, match="cannot read Parquet"):
        records(path)


# --- whole-file problems ----------------------------------------------------------------------

def test_a_directory_named_like_a_data_file(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").mkdir()
    with pytest.raises(FileError, match="is a directory"):
        records(tmp_path / "a.jsonl")


def test_an_unsupported_extension(tmp_path: Path) -> None:
    with pytest.raises(FileError, match="unsupported file type"):
        records(write(tmp_path / "a.csv", "a,b\n"))


def test_whole_file_problems_become_findings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "data" / "dir.jsonl").mkdir(parents=True)
    write(tmp_path / "data" / "open.json", '[{"a": 1},')
    (tmp_path / "data" / "bom.jsonl").write_bytes(b"\xef\xbb\xbf" + json.dumps(GOOD).encode() + b"\n")
    monkeypatch.chdir(tmp_path)
    # a glob skips folders; a literal path to one is read, and reported
    found = lint(tmp_path, "version: 1\ndatasets:\n"
                           "  - {name: d, path: ['data/*.jsonl', 'data/*.json', data/dir.jsonl]}\n")
    got = {(f.rule, f.path, f.line, f.sample) for f in found}
    assert ("FMT009", "data/dir.jsonl", None, None) in got
    assert "is a directory" in next(f.message for f in found if f.path == "data/dir.jsonl")
    assert ("FMT009", "data/open.json", None, None) in got
    assert ("FMT012", "data/bom.jsonl", 1, None) in got
    assert ("FMT002", "data/open.json", None, 0) not in got  # element 0 is an object: fine
    assert not any(f.rule == "FMT003" and f.path == "data/bom.jsonl" for f in found)  # BOM stripped before decoding


# --- normalisation ----------------------------------------------------------------------------

def sample(fmt: str, value: Any, **dataset: Any) -> Sample:
    ds = DatasetSpec(name="d", paths=("x",), base=Path("."), format=fmt, **dataset)
    return normalise(Record(1, 0, value, "digest"), ds, "p.jsonl", QWEN3)


def turns(s: Sample) -> list[tuple[str, str]]:
    return [(m.role, m.content) for m in s.messages]


def kinds(s: Sample) -> list[str]:
    return [p.kind for p in s.problems]


def test_openai_keeps_reasoning_content_and_other_keys_in_extra() -> None:
    s = sample("openai", {"messages": [
        {"role": "system", "content": "S"}, {"role": "user", "content": "q"},
        {"role": "assistant", "content": "A", "reasoning_content": "R", "name": "bot"}]})
    assert turns(s) == [("system", "S"), ("user", "q"), ("assistant", "A")]
    assert dict(s.messages[2].extra) == {"reasoning_content": "R", "name": "bot"}
    assert s.messages[2].source == ("messages", 2, "content")
    assert s.problems == ()


def test_openai_tool_calls_with_null_content() -> None:
    calls = [{"type": "function", "function": {"name": "f", "arguments": "{}"}}]
    s = sample("openai", {"messages": [
        {"role": "user", "content": "q"}, {"role": "assistant", "content": None, "tool_calls": calls},
        {"role": "tool", "content": "42"}, {"role": "assistant", "content": "42"}],
        "tools": [{"type": "function", "function": {"name": "f"}}]})
    assert turns(s) == [("user", "q"), ("assistant", ""), ("tool", "42"), ("assistant", "42")]
    assert s.messages[1].extra["tool_calls"] == calls
    assert s.problems == ()
    assert json.loads(s.tools or "") == [{"type": "function", "function": {"name": "f"}}]


def test_openai_null_content_without_tool_calls_is_a_wrong_type() -> None:
    s = sample("openai", {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": None}]})
    assert kinds(s) == ["wrong_type"]
    assert s.problems[0].turn == 2
    assert "'content' must be a string, got null" in s.problems[0].message


def test_openai_unknown_role_is_reported_and_the_message_skipped() -> None:
    s = sample("openai", {"messages": [{"role": "user", "content": "q"}, {"role": "bot", "content": "x"},
                                       {"role": "assistant", "content": "a"}]})
    assert turns(s) == [("user", "q"), ("assistant", "a")]
    assert kinds(s) == ["unknown_role"]
    assert "role 'bot'" in s.problems[0].message


def test_openai_missing_messages_column() -> None:
    s = sample("openai", {"conversations": []})
    assert kinds(s) == ["missing_field"]
    assert not s.ok


def test_sharegpt_default_tags() -> None:
    s = sample("sharegpt", {"conversations": [
        {"from": "system", "value": "S"}, {"from": "human", "value": "q"},
        {"from": "function_call", "value": '{"name": "f"}'}, {"from": "observation", "value": "o"},
        {"from": "gpt", "value": "a"}]})
    assert turns(s) == [("system", "S"), ("user", "q"), ("assistant", '{"name": "f"}'), ("tool", "o"),
                        ("assistant", "a")]
    assert s.messages[2].extra == {"function_call": True}
    assert s.messages[1].source == ("conversations", 1, "value")
    assert s.problems == ()


def test_sharegpt_custom_tags_and_columns() -> None:
    tags = {"role_tag": "role", "content_tag": "content", "user_tag": "user", "assistant_tag": "assistant",
            "system_tag": "system"}
    s = sample("sharegpt", {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]},
               columns={"messages": "messages"}, tags=tags)
    assert turns(s) == [("user", "q"), ("assistant", "a")]
    assert s.messages[0].source == ("messages", 0, "content")
    # with the custom tags the default 'from'/'value' keys mean nothing
    s = sample("sharegpt", {"messages": [{"from": "human", "value": "q"}]}, columns={"messages": "messages"},
               tags=tags)
    assert kinds(s) == ["unknown_role"]


def test_sharegpt_system_tag_must_come_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_jsonl(tmp_path / "d.jsonl", [{"conversations": [
        {"from": "human", "value": "q"}, {"from": "system", "value": "S"}, {"from": "gpt", "value": "a"}]}])
    monkeypatch.chdir(tmp_path)
    found = lint(tmp_path, "version: 1\ndatasets:\n  - {name: d, path: d.jsonl, format: sharegpt}\n")
    assert [(f.rule, f.turn) for f in found if f.rule == "FMT006"] == [("FMT006", 2)]
    assert "system message at turn 2" in next(f.message for f in found if f.rule == "FMT006")


def test_sharegpt_system_column_mapped_or_not() -> None:
    value = {"conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}], "system": "S"}
    unmapped = sample("sharegpt", value)
    assert turns(unmapped) == [("user", "q"), ("assistant", "a")]
    assert kinds(unmapped) == ["unmapped_column"]
    mapped = sample("sharegpt", value, columns={"messages": "conversations", "system": "system"})
    assert turns(mapped) == [("system", "S"), ("user", "q"), ("assistant", "a")]
    assert mapped.problems == ()


def test_alpaca_joins_instruction_and_input_with_one_newline() -> None:
    s = sample("alpaca", {"instruction": "Translate.", "input": "Bonjour", "output": "Hello"})
    assert turns(s) == [("user", "Translate.\nBonjour"), ("assistant", "Hello")]
    assert turns(sample("alpaca", {"instruction": "Say hi.", "input": "", "output": "hi"}))[0] == ("user", "Say hi.")
    assert turns(sample("alpaca", {"instruction": "", "input": "only input", "output": "x"}))[0] == \
        ("user", "only input")


def test_alpaca_history_pairs_come_before_the_prompt() -> None:
    s = sample("alpaca", {"instruction": "I", "output": "O", "history": [["h1", "a1"], ["h2", "a2"]]},
               columns={"history": "history"})
    assert turns(s) == [("user", "h1"), ("assistant", "a1"), ("user", "h2"), ("assistant", "a2"),
                        ("user", "I"), ("assistant", "O")]
    assert s.messages[1].source == ("history", 0, 1)
    bad = sample("alpaca", {"instruction": "I", "output": "O", "history": [["only one"]]},
                 columns={"history": "history"})
    assert kinds(bad) == ["wrong_type"]


def test_alpaca_system_column_mapped_vs_unmapped() -> None:
    value = {"instruction": "I", "output": "O", "system": "Be terse."}
    unmapped = sample("alpaca", value)
    assert turns(unmapped) == [("user", "I"), ("assistant", "O")]
    assert kinds(unmapped) == ["unmapped_column"]
    assert "'system' is present but not mapped" in unmapped.problems[0].message
    mapped = sample("alpaca", value, columns={"system": "system"})
    assert turns(mapped)[0] == ("system", "Be terse.")
    assert mapped.problems == ()
    # an empty system column is nothing to lose
    assert sample("alpaca", {**value, "system": ""}).problems == ()


def test_alpaca_unmapped_system_is_fmt011_end_to_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "d.json", json.dumps([{"instruction": "I", "output": "<think>\nR\n</think>\n\nO", "system": "S"}]))
    monkeypatch.chdir(tmp_path)
    found = lint(tmp_path, "version: 1\ndatasets:\n  - {name: d, path: d.json, format: alpaca}\n")
    assert [(f.rule, f.severity, f.line, f.sample) for f in found] == [("FMT011", "warning", None, 0)]


def test_alpaca_missing_output() -> None:
    s = sample("alpaca", {"instruction": "I"})
    assert kinds(s) == ["missing_field"]
    assert "missing column 'output'" in s.problems[0].message


def test_text_is_parsed_into_turns_by_the_profile() -> None:
    text = ("<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nq<|im_end|>\n"
            "<|im_start|>assistant\n<think>\nR\n</think>\n\nA<|im_end|>\n")
    s = sample("text", {"text": text})
    assert s.text == text
    assert turns(s) == [("system", "S"), ("user", "q"), ("assistant", "<think>\nR\n</think>\n\nA")]
    assert s.problems == ()


def test_text_that_is_not_in_the_profile_format() -> None:
    s = sample("text", {"text": "User: hi\nAssistant: hello"})
    assert kinds(s) == ["text_format"]
    assert "not a turn of the qwen3 format" in s.problems[0].message
    unclosed = sample("text", {"text": "<|im_start|>user\nq<|im_end|>\n<|im_start|>assistant\nA"})
    assert turns(unclosed) == [("user", "q")]
    assert kinds(unclosed) == ["text_format"]


def test_tokenized() -> None:
    s = sample("tokenized", {"input_ids": [1, 2, 3], "labels": [-100, 2, 3]})
    assert (s.input_ids, s.labels, s.problems) == ((1, 2, 3), (-100, 2, 3), ())
    bad = sample("tokenized", {"input_ids": [1, True], "labels": "x"})
    assert kinds(bad) == ["wrong_type", "wrong_type"]
    assert bad.input_ids is None and bad.labels is None


def test_a_record_that_is_not_an_object() -> None:
    s = sample("openai", [1, 2])
    assert kinds(s) == ["not_object"]
    assert "got array" in s.problems[0].message


# --- LLaMA-Factory dataset_info.json ----------------------------------------------------------

INFO: dict[str, dict[str, Any]] = {
    "alp": {"file_name": "alp.json"},
    "alp_cols": {"file_name": "alp.json", "columns": {"prompt": "instruction", "response": "output"}},
    "sg": {"file_name": "sg.jsonl", "formatting": "sharegpt", "columns": {"messages": "messages"},
           "tags": {"role_tag": "role", "content_tag": "content", "user_tag": "user", "assistant_tag": "assistant"}},
    "folder": {"file_name": "parts", "formatting": "sharegpt"},
    "hub": {"hf_hub_url": "someone/something"},
    "rank": {"file_name": "pairs.json", "ranking": True},
}
CLOSED = "<think>\nR\n</think>\n\n"


def lf_project(root: Path) -> None:
    data = root / "lf" / "data"
    write(data / "dataset_info.json", json.dumps(INFO))
    write(data / "alp.json", json.dumps([{"instruction": "I", "input": "X", "output": CLOSED + "O"}]))
    write_jsonl(data / "sg.jsonl", [{"messages": [{"role": "user", "content": "q"},
                                                  {"role": "assistant", "content": CLOSED + "a"}]}])
    for name in ("p1.jsonl", "p2.jsonl"):
        write_jsonl(data / "parts" / name, [{"conversations": [{"from": "human", "value": "q"},
                                                               {"from": "gpt", "value": CLOSED + "a"}]}])


def test_dataset_info_entries_become_datasets(tmp_path: Path) -> None:
    lf_project(tmp_path)
    spec = load_spec(write(tmp_path / "thinklint.yaml",
                           "version: 1\ndatasets:\n  - llamafactory: lf/data/dataset_info.json\n    mode: thinking\n"))
    by_name = {d.name: d for d in spec.datasets}
    assert list(by_name) == list(INFO)
    base = (tmp_path / "lf" / "data").resolve()
    assert all(d.base == base for d in spec.datasets)  # file_name is relative to the info file
    assert by_name["alp"].format == "alpaca"  # formatting defaults to alpaca
    assert dict(by_name["alp"].columns) == {}  # no columns table: LLaMA-Factory's defaults
    # a columns table replaces the defaults wholesale: `query` is no longer mapped to `input`
    assert by_name["alp_cols"].columns["prompt"] == "instruction"
    assert by_name["alp_cols"].columns["query"] == ""
    assert by_name["sg"].format == "sharegpt"
    assert dict(by_name["sg"].tags) == INFO["sg"]["tags"]
    assert by_name["folder"].paths == ("parts/*",)  # a folder means every file in it
    assert by_name["hub"].skipped and "hub" in by_name["hub"].skipped
    assert by_name["rank"].skipped and "ranking" in by_name["rank"].skipped
    assert {d.mode for d in spec.datasets} == {"thinking"}


def test_dataset_info_end_to_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lf_project(tmp_path)
    write(tmp_path / "thinklint.yaml", "version: 1\ndatasets:\n  - llamafactory: lf/data/dataset_info.json\n")
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")  # paths are shown relative to where thinklint runs
    result, _, _ = run_lint(load_spec(tmp_path / "thinklint.yaml"), Settings())
    found = [(f.rule, f.severity, f.path, f.message) for f in result.findings]
    assert found == [
        ("FMT010", "warning", "../lf/data/dataset_info.json",
         "dataset 'hub': loaded from a hub or a script, not a local file; not checked"),
        ("FMT010", "warning", "../lf/data/dataset_info.json",
         "dataset 'rank': a preference (ranking) dataset; thinklint checks supervised data"),
    ]
    assert result.files == 5  # alp.json twice (two entries), sg.jsonl, parts/p1 and parts/p2
    assert result.samples == 5


def test_dataset_info_columns_replace_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # with `columns` naming only prompt and response, LLaMA-Factory never reads `input`:
    # a custom rule sees the user turn as the instruction alone
    lf_project(tmp_path)
    monkeypatch.chdir(tmp_path)
    rule = ("rules:\n  select: [FMT901]\n  custom:\n    - code: FMT901\n      name: joined\n      severity: error\n"
            "      summary: s\n      pattern: {roles: [user], regex: '\\n', message: joined}\n")
    found = lint(tmp_path, "version: 1\ndatasets:\n  - llamafactory: lf/data/dataset_info.json\n"
                           "    names: [alp, alp_cols]\n" + rule)
    assert len(found) == 1  # only `alp`, whose default columns join instruction and input
    result, _, _ = run_lint(load_spec(tmp_path / "thinklint.yaml"), Settings())
    assert result.files == 2


def test_dataset_info_names_filter(tmp_path: Path) -> None:
    lf_project(tmp_path)
    spec = load_spec(write(tmp_path / "thinklint.yaml",
                           "version: 1\ndatasets:\n  - llamafactory: lf/data/dataset_info.json\n"
                           "    names: [sg, hub]\n"))
    assert [d.name for d in spec.datasets] == ["sg", "hub"]


def test_dataset_info_entry_without_file_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "info.json", '{\n  "a": {"formatting": "sharegpt"}\n}\n')
    monkeypatch.chdir(tmp_path)
    from thinklint.yamlsrc import SourceError

    with pytest.raises(SourceError) as err:
        load_spec(write(tmp_path / "thinklint.yaml", "version: 1\ndatasets:\n  - llamafactory: info.json\n"))
    assert (err.value.path, err.value.line, err.value.key) == ("info.json", 2, "a")
    assert "no file_name" in err.value.message


def test_a_dataset_path_naming_a_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_jsonl(tmp_path / "data" / "math" / "a.jsonl", [GOOD])
    monkeypatch.chdir(tmp_path)
    found = lint(tmp_path, "version: 1\ndatasets:\n  - {name: m, path: data/math}\n")
    assert [(f.rule, f.path) for f in found] == [("FMT009", "data/math")]
    assert found[0].message == "is a directory, expected a data file (a glob such as math/*.jsonl reads the files in it)"
