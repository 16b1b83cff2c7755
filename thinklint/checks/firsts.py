"""The first of several markers in a long text, found where a marker can start rather than once per marker."""

from __future__ import annotations

from functools import lru_cache
from typing import Sequence

#: candidate places tried before giving up on the shortcut: a text dense in '<' (code, HTML) is
#: searched once per marker instead, which costs what it always did
_CANDIDATES = 32


@lru_cache(maxsize=64)
def _starts(markers: tuple[str, ...]) -> str | None:
    """The one character every marker starts with, None when they do not share one."""
    firsts = {mk[0] for mk in markers if mk}
    return firsts.pop() if len(firsts) == 1 and all(markers) else None


def first_marker(text: str, markers: Sequence[str]) -> tuple[int, str] | None:
    """`min((text.find(mk), mk) for mk in markers if mk in text)`, or None when none is in `text`.

    Think markers share their first character ('<'), which a reasoning text holds a few times at
    most: str.find jumps from one to the next and only there are the markers tried, where searching
    the whole text once per marker read it as many times as there are markers.
    """
    key = tuple(markers)
    start = _starts(key)
    if start is not None:
        pos = text.find(start)
        for _ in range(_CANDIDATES):
            if pos < 0:
                return None
            if text.startswith(key, pos):
                return pos, min(mk for mk in key if text.startswith(mk, pos))
            pos = text.find(start, pos + 1)
    return min(((text.find(mk), mk) for mk in key if mk in text), default=None)
