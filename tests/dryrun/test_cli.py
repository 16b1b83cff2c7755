"""`thinklint dryrun` on the command line: output formats, exit codes, sample selection, errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.dryrun.conftest import NON_THINKING, THINKING, TWO_TURNS, Repo
from thinklint.cli import main

ROOT = Path(__file__).resolve().parents[2]


def invoke(*args: str) -> Any:
    return CliRunner().invoke(main, ["dryrun", *args], catch_exceptions=False)


def test_text_output_has_the_per_segment_tables(repo: Repo, tiny_model_dir: Path) -> None:
    repo([THINKING, TWO_TURNS])
    result = invoke("--model", str(tiny_model_dir), "--no-progress")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "data.jsonl:1  " in out and "data.jsonl:2  " in out and "Total: 2 samples" in out
    for cell in ("segment", "tokens", "supervised", "loss sum", "loss mean", "reasoning", "end of turn"):
        assert cell in out
    assert "All checks passed in 2 samples (1 file)." in out
    assert "tokens/s" in out and "on cpu (fp32)" in out
    assert "\x1b[" not in out  # not a terminal: plain columns


def test_json_output_follows_the_check_contract(repo: Repo, tiny_model_dir: Path) -> None:
    repo([NON_THINKING, THINKING], spec={"training": {"enable_thinking": True}})
    result = invoke("--model", str(tiny_model_dir), "--format", "json")
    assert result.exit_code == 1, result.output
    data = json.loads(result.output)
    assert data["findings"] == [{"rule": "MSK005", "category": "mask", "severity": "error", "path": "data.jsonl",
                                 "line": 1, "sample": 0, "message": data["findings"][0]["message"]}]
    assert data["summary"] == {"files": 1, "samples": 2, "errors": 1, "warnings": 0, "by_rule": {"MSK005": 1}}
    first = data["samples"][0]
    assert {s["kind"] for s in first["segments"]} == {"prompt", "empty_think", "answer", "eot"}
    empty = next(s for s in first["segments"] if s["kind"] == "empty_think")
    assert empty["tokens"] == 4 and empty["supervised"] == 4 and empty["loss_mean"] > 0
    assert first["loss"]["abs_diff"] < 1e-3 and first["loss"]["leak_delta"] == 0.0
    assert data["run"]["device"] == "cpu" and data["run"]["dtype"] == "fp32"
    assert data["run"]["tokens_per_second"] > 0 and data["run"]["tolerance"] == {"rtol": 1e-4, "atol": 1e-5}
    assert data["total"]["supervised"] == sum(s["supervised"] for s in data["samples"])
    assert data["skipped"] == []


def test_sample_file_line_picks_one_sample(repo: Repo, tiny_model_dir: Path) -> None:
    repo([THINKING, NON_THINKING, TWO_TURNS], spec={"training": {"enable_thinking": True}})
    result = invoke("--model", str(tiny_model_dir), "--sample", "data.jsonl:2", "--format", "json")
    data = json.loads(result.output)
    assert [s["line"] for s in data["samples"]] == [2]
    assert [(f["rule"], f["line"]) for f in data["findings"]] == [("MSK005", 2)] and result.exit_code == 1
    # FILE alone: its first --samples samples
    data = json.loads(invoke("--model", str(tiny_model_dir), "--sample", "data.jsonl", "--samples", "1",
                             "--format", "json").output)
    assert [s["line"] for s in data["samples"]] == [1]


def test_missing_line_is_a_usage_error(repo: Repo, tiny_model_dir: Path) -> None:
    repo([THINKING])
    result = invoke("--model", str(tiny_model_dir), "--sample", "data.jsonl:7")
    assert result.exit_code == 2 and "data.jsonl has no sample on line 7" in result.output


def test_a_model_that_cannot_load_is_a_clear_error(repo: Repo, tmp_path: Path) -> None:
    repo([THINKING])
    (tmp_path / "empty-model").mkdir()
    result = invoke("--model", str(tmp_path / "empty-model"))
    assert result.exit_code == 2
    assert "thinklint: error: cannot load model" in result.output and "Traceback" not in result.output


def test_a_spec_without_tokenizer_is_a_clear_error(repo: Repo, tiny_model_dir: Path) -> None:
    repo([THINKING], spec={"model": {"tokenizer": None}})
    result = invoke("--model", str(tiny_model_dir))
    assert result.exit_code == 2 and "needs model.tokenizer" in result.output


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="this machine has a GPU")
def test_cuda_without_a_gpu_is_a_clear_error(repo: Repo, tiny_model_dir: Path) -> None:
    repo([THINKING])
    result = invoke("--model", str(tiny_model_dir), "--device", "cuda")
    assert result.exit_code == 2 and "--device cuda: no CUDA device is available" in result.output


def test_nothing_runnable_exits_2(repo: Repo, tiny_model_dir: Path) -> None:
    repo([{"messages": [{"role": "user", "content": "x " * 600}, {"role": "assistant", "content": "y"}]}],
         spec={"training": {"cutoff_len": 4096}})
    result = invoke("--model", str(tiny_model_dir))
    assert result.exit_code == 2
    assert "more than the model's max_position_embeddings 512" in result.output
    assert "no sample could be run through the model" in result.output


def test_check_cli_does_not_import_torch() -> None:
    code = "import sys, thinklint.cli; print('torch' in sys.modules, 'transformers' in sys.modules)"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == "False False"


def test_rules_lists_the_dryrun_stage() -> None:
    runner = CliRunner()
    listing = runner.invoke(main, ["rules"]).output
    line = next(l for l in listing.splitlines() if l.startswith("MSK007"))
    assert "dryrun" in line
    data = json.loads(runner.invoke(main, ["rules", "--format", "json"]).output)
    stages = {r["code"]: r["stage"] for r in data}
    assert stages["MSK007"] == stages["MSK008"] == "dryrun" and stages["MSK001"] == "check"
    assert "Runs under `thinklint dryrun` only" in runner.invoke(main, ["rule", "MSK008"]).output
    assert "Confirmed in a forward pass" in runner.invoke(main, ["rule", "MSK005"]).output


def test_check_skips_dryrun_rules(repo: Repo) -> None:
    repo([THINKING], spec={"rules": {"select": ["MSK"]}})
    result = CliRunner().invoke(main, ["check", "--format", "json"])
    data = json.loads(result.output)
    assert result.exit_code == 0 and data["findings"] == []
