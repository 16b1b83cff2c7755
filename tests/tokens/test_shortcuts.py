"""The token layer's shortcuts against the slow ways they replace: each must give the same answer."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from thinklint.checks.template import _NEEDLE, _first_line

#: every character str.splitlines breaks at, and strip() removes, around long and short lines
BREAKS = ["\n", "\r", "\r\n", "\v", "\f", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029", " ", "\t"]
lines = st.lists(st.one_of(st.sampled_from(BREAKS), st.text(max_size=8), st.just("x" * (_NEEDLE - 1)),
                           st.just("y" * _NEEDLE), st.just("z" * (_NEEDLE + 1))), max_size=10).map("".join)


@settings(max_examples=500, deadline=None)
@given(text=lines)
def test_first_line_is_splitlines_first(text: str) -> None:
    stripped = text.strip()
    if not stripped.splitlines():
        with pytest.raises(IndexError):
            _first_line(stripped)
        return
    assert _first_line(stripped)[:_NEEDLE] == stripped.splitlines()[0][:_NEEDLE]


@pytest.mark.parametrize("cut", [_NEEDLE - 1, _NEEDLE, _NEEDLE + 1])
def test_first_line_break_at_the_cut(cut: int) -> None:
    for brk in BREAKS:
        text = "a" * cut + brk + "b"
        assert _first_line(text)[:_NEEDLE] == text.splitlines()[0][:_NEEDLE]
