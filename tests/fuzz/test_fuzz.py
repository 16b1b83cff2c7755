"""Fuzzing (issue 9, item 2): generated samples and specs, and byte-mutated data files, through the CLI.

Zero tracebacks, zero internal errors, exit codes only 0/1/2 (and 2 only for a spec error).
CI runs a bounded number of examples (derandomized, so CI is reproducible); for a long run:

    THINKLINT_FUZZ_EXAMPLES=5000 python -m pytest tests/fuzz -q
"""

from __future__ import annotations

import gzip
import io
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result
from hypothesis import assume, given
from hypothesis import strategies as st

from tests.fuzz.strategies import DATASET_EXTRA, FORMATS, budget, mutated, samples, specs
from tests.util import GOOD, write
from thinklint.cli import main

pytestmark = pytest.mark.fuzz


def run_check(root: Path, *args: str) -> Result:
    """`thinklint check ARGS` in-process from `root`; nothing may escape as an exception."""
    cwd = os.getcwd()
    os.chdir(root)
    try:
        result = CliRunner().invoke(main, ["check", *args], catch_exceptions=True)
    finally:
        os.chdir(cwd)
    return result


def assert_no_crash(result: Result, allowed: tuple[int, ...] = (0, 1, 2)) -> None:
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert result.exit_code in allowed, result.output
    assert "Traceback" not in result.output, result.output
    assert "internal error" not in result.output, result.output


def spec_for(fmt: str, pattern: str = "data/*") -> str:
    return f"version: 1\ndatasets:\n  - {{name: d, path: '{pattern}', format: {fmt}{DATASET_EXTRA.get(fmt, '')}}}\n"


def container(records: list[Any], kind: str) -> bytes | None:
    """`records` as a .jsonl, .json or .parquet file (None when Parquet cannot hold them)."""
    if kind == "jsonl":
        return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode("utf-8", "surrogatepass")
    if kind == "json":
        return json.dumps(records, ensure_ascii=False).encode("utf-8", "surrogatepass")
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pa.Table.from_pylist([r for r in records if isinstance(r, dict)])
        sink = io.BytesIO()
        pq.write_table(table, sink)
    except Exception:  # noqa: BLE001 - mixed types in a column: pyarrow cannot build a table (many types)
        return None
    return sink.getvalue()


@budget(120)
@given(fmt=st.sampled_from(list(FORMATS)), kind=st.sampled_from(["jsonl", "json", "parquet"]), data=st.data())
def test_generated_samples_in_every_format(tmp_path_factory: pytest.TempPathFactory, fmt: str, kind: str,
                                           data: st.DataObject) -> None:
    records = data.draw(st.lists(samples(fmt), min_size=1, max_size=4))
    payload = container(records, kind)
    assume(payload is not None)
    assert payload is not None
    root = tmp_path_factory.mktemp("fuzz")
    write(root / "thinklint.yaml", spec_for(fmt))
    (root / "data").mkdir()
    (root / "data" / f"a.{kind}").write_bytes(payload)
    result = run_check(root, "--format", "json")
    assert_no_crash(result, (0, 1))
    report = json.loads(result.stdout)
    if kind != "parquet":  # Parquet holds only the dict records
        assert report["summary"]["samples"] == len(records)


@budget(150)
@given(spec=specs())
def test_generated_specs(tmp_path_factory: pytest.TempPathFactory, spec: dict[str, Any]) -> None:
    root = tmp_path_factory.mktemp("fuzz")
    write(root / "thinklint.yaml", yaml.safe_dump(spec, allow_unicode=True))
    write(root / "data" / "a.jsonl", json.dumps(GOOD) + "\n")
    write(root / "info.json", json.dumps({"x": {"file_name": "data/a.jsonl"}}))
    result = run_check(root, "--format", "json")
    assert_no_crash(result)
    if result.exit_code == 2:  # a spec error: one line naming the spec
        assert result.stdout == ""
        assert result.stderr.startswith("thinklint: error: "), result.stderr
        assert result.stderr.count("\n") == 1, result.stderr


@budget(100)
@given(text=st.text(max_size=200) | st.binary(max_size=200).map(lambda b: b.decode("latin-1")))
def test_arbitrary_spec_text(tmp_path_factory: pytest.TempPathFactory, text: str) -> None:
    root = tmp_path_factory.mktemp("fuzz")
    (root / "thinklint.yaml").write_text("version: 1\n" + text, encoding="utf-8", errors="surrogatepass")
    result = run_check(root)
    assert_no_crash(result)
    if result.exit_code == 2:
        assert result.stderr.count("\n") == 1, result.stderr


def seeds() -> Iterator[tuple[str, str, bytes]]:
    """Valid files to mutate: (format, file name, bytes)."""
    rows: dict[str, list[Any]] = {fmt: [GOOD] for fmt in FORMATS}
    rows["sharegpt"] = [{"conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "<think>\nr\n"
                                                                                                "</think>\n\na"}]}]
    rows["alpaca"] = [{"instruction": "q", "input": "", "output": "<think>\nr\n</think>\n\na", "history": [["a", "b"]]}]
    rows["text"] = [{"text": "<|im_start|>user\nq<|im_end|>\n<|im_start|>assistant\n<think>\nr\n</think>\n\na"
                             "<|im_end|>\n"}]
    rows["tokenized"] = [{"input_ids": [151644, 872, 198, 151645], "labels": [-100, -100, 198, 151645]}]
    for fmt, records in rows.items():
        records = records * 3
        jsonl = container(records, "jsonl")
        assert jsonl is not None
        yield fmt, "a.jsonl", jsonl
        yield fmt, "a.json", container(records, "json") or b""
        yield fmt, "a.jsonl.gz", gzip.compress(jsonl, mtime=0)
        yield fmt, "a.parquet", container(records, "parquet") or b""


SEEDS = list(seeds())


def mutated_project(tmp_path_factory: pytest.TempPathFactory, seed: tuple[str, str, bytes],
                    data: st.DataObject) -> tuple[Path, bytes]:
    """A project whose one data file is a byte mutation of the seed file, and those bytes."""
    fmt, name, original = seed
    payload = data.draw(mutated(original))
    root = tmp_path_factory.mktemp("fuzz")
    write(root / "thinklint.yaml", spec_for(fmt))
    (root / "data").mkdir()
    (root / "data" / name).write_bytes(payload)
    return root, payload


@budget(250)
@given(seed=st.sampled_from(SEEDS), data=st.data(),
       output=st.sampled_from(["json", "json", "text", "sarif", "github", "html"]))
def test_byte_mutations_of_valid_files(tmp_path_factory: pytest.TempPathFactory, seed: tuple[str, str, bytes],
                                       data: st.DataObject, output: str) -> None:
    root, _ = mutated_project(tmp_path_factory, seed, data)
    result = run_check(root, "--format", output, *(["--statistics"] if output == "text" else []))
    assert_no_crash(result, (0, 1))
    if output in ("json", "sarif"):
        json.loads(result.stdout)


@budget(100)
@given(seed=st.sampled_from(SEEDS), data=st.data(),
       args=st.sampled_from([("--fix",), ("--fix", "--unsafe-fixes"), ("--diff",), ("--diff", "--unsafe-fixes")]))
def test_fixes_on_byte_mutations(tmp_path_factory: pytest.TempPathFactory, seed: tuple[str, str, bytes],
                                 data: st.DataObject, args: tuple[str, ...]) -> None:
    """--fix rewrites what it can and leaves no temporary file; --diff never writes."""
    root, payload = mutated_project(tmp_path_factory, seed, data)
    name = seed[1]
    assert_no_crash(run_check(root, *args), (0, 1))
    assert [p.name for p in (root / "data").iterdir()] == [name]
    if "--diff" in args:
        assert (root / "data" / name).read_bytes() == payload
