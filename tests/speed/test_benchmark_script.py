"""benchmarks/run.py runs end to end on a tiny dataset and prints every figure the README records (the
figures themselves are measured by hand: timed tests flake on shared machines)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.util import ROOT

pytestmark = [pytest.mark.tokens, pytest.mark.slow]


def test_the_benchmark_prints_each_figure_with_its_floor(tmp_path: Path, qwen3_available: None) -> None:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run.py"), "--samples", "40", "--repeat", "2",
                           "--only", "structural,token,cache,startup", "--work", str(tmp_path)],
                          capture_output=True, text=True, env=env, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    ratios = re.findall(r"ratio +(\d+\.\d+)x", out)
    assert len(ratios) == 5, out  # structural (1 job, default), token (no cache, snapshot), per-sample loop
    assert re.search(r"one sample edited +\d+\.\d+ s \( *\d+\.\d+%\)", out), out
    assert re.search(r"structural check of 5 samples \d+\.\d+ s", out), out


def test_the_ab_script_compares_the_edited_run_of_two_trees(tmp_path: Path, qwen3_available: None) -> None:
    """benchmarks/ab.py against HEAD: both trees run, each tree's timings are printed, and the reports agree
    (the worktree and HEAD give the same findings on a clean checkout, as CI runs it)."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "ab.py"), "HEAD", "--samples", "40", "--runs", "2",
                           "--work", str(tmp_path)], capture_output=True, text=True, env=env, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    out = done.stdout
    assert len(re.findall(r"wall min \d+\.\d+ s +median \d+\.\d+ s \| CPU median \d+\.\d+ s", out)) == 2, out
    assert "same report: yes" in out, out
    assert list(tmp_path.glob("rev-*/thinklint/__pycache__/*.pyc")), "HEAD's tree has its bytecode compiled"
