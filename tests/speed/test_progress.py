"""The progress bar: only for someone watching a terminal, never under pre-commit or CI."""

from __future__ import annotations

import io

import pytest

from thinklint import progress


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("env", "shown"), [
    ({}, True), ({"PRE_COMMIT": "1"}, False), ({"CI": "true"}, False), ({"CI": "1"}, False),
    ({"CI": "false"}, True), ({"TERM": "dumb"}, False),
])
def test_shown_only_on_a_terminal_outside_pre_commit_and_ci(env: dict[str, str], shown: bool) -> None:
    pytest.importorskip("rich")
    assert progress.wanted(_Tty(), env) is shown
    assert progress.wanted(io.StringIO(), env) is False  # not a terminal: never


def test_silent_for_a_second_then_draws_and_clears(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("rich")
    clock = [100.0]
    monkeypatch.setattr("thinklint.progress.time.monotonic", lambda: clock[0])
    out = _Tty()
    bar = progress.Progress(1000, out)
    bar(10, 100)
    assert out.getvalue() == "" and bar._bar is None
    clock[0] += 2
    bar(10, 100)
    assert bar._bar is not None and bar.samples == 20
    bar.close()
    assert bar._bar is None
