"""How the program ends: `os._exit` after a flush when nothing needs an orderly exit, else as usual."""

from __future__ import annotations

import atexit
import os
import sys
import threading
from pathlib import Path

import pytest

from tests.util import UNCLOSED, run_python, simple_project
from thinklint import __main__ as program


class _Left(Exception):
    pass


@pytest.fixture
def exits(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """`os._exit` recorded (and stopping the call) instead of ending pytest; no atexit callbacks and one
    thread (the suite's earlier tests may have left both)."""
    left: list[int] = []

    def fake_exit(code: int) -> None:
        left.append(code)
        raise _Left

    monkeypatch.setattr(os, "_exit", fake_exit)
    monkeypatch.setattr(atexit, "_ncallbacks", lambda: 0)
    monkeypatch.setattr(threading, "active_count", lambda: 1)
    return left


def test_a_finished_command_leaves_at_once_with_its_code(exits: list[int]) -> None:
    with pytest.raises(_Left):
        program.exit_now(1)
    assert exits == [1]


def test_an_atexit_callback_or_another_thread_means_an_ordinary_exit(
        exits: list[int], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(atexit, "_ncallbacks", lambda: 1)  # logging, multiprocessing, Ray... registered one
    program.exit_now(0)
    monkeypatch.setattr(atexit, "_ncallbacks", lambda: 0)
    monkeypatch.setattr(threading, "active_count", lambda: 2)  # a worker's or a tokenizer's thread
    program.exit_now(0)
    assert exits == []


def test_output_that_cannot_be_flushed_means_an_ordinary_exit(exits: list[int],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    class Broken:
        def flush(self) -> None:
            raise BrokenPipeError

    monkeypatch.setattr(sys, "stdout", Broken())
    program.exit_now(1)
    assert exits == []


def test_a_real_run_leaves_early_with_all_of_its_output_and_its_exit_code(tmp_path: Path) -> None:
    # thousands of findings (more than a pipe's buffer): all must be written before the process leaves
    simple_project(tmp_path, [UNCLOSED] * 3000)
    flag = tmp_path / "left"
    code = ("import os, sys\nimport thinklint.__main__ as program\nreal = os._exit\n"
            f"def record(code):\n    open({str(flag)!r}, 'w').write(str(code))\n    real(code)\n"
            "os._exit = record\n"
            "sys.argv = ['thinklint', 'check', '--no-cache', '--jobs', '1']\nprogram.run()\n")
    proc = run_python(code, tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert flag.read_text() == "1"
    lines = proc.stdout.splitlines()
    assert sum(": THK001 [error] " in ln for ln in lines) == 3000
    assert lines[-1].startswith("Skipped 10 token-level rules")  # the closing note, written last
