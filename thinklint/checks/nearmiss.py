"""Near misses of a family's think markers (THK007): spellings that look like a marker but are not one."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Iterator

from thinklint.profiles import Profile


@lru_cache(maxsize=64)
def _near_miss_regex(marker: str, style: str) -> re.Pattern[str] | None:
    words = re.findall(r"[A-Za-z]+", marker)
    if not words:
        return None
    if style == "tags":
        # spaces, case, a backslash for the slash, an -ing ending, a self-closing slash, HTML escapes;
        # the words of a namespaced tag may be split or glued ('<seed: think>', '<seedthink>')
        body = r"[\s:_-]*".join(words)
        # `\s*(?:/\s*)?`, not `\s*/?\s*`: two adjacent runs of spaces can split a long run of
        # spaces in n ways, and a '<' followed by 200,000 spaces took minutes
        return re.compile(rf"(?:<|&lt;)\s*(?:[/\\]\s*)?{body}(?:ing)?\s*(?:/\s*)?(?:>|&gt;)", re.IGNORECASE)
    # plain text: the same words in another case or spacing, brackets optional
    # `(?:\[\s*)?`, not `\[?\s*`: a pattern that can start with spaces is tried at every space of
    # a long run of them, each try running to its end (quadratic: minutes on 200,000 spaces)
    head = r"(?:\[\s*)?" if marker.lstrip().startswith("[") else ""
    tail = r"\s*\]?" if marker.rstrip().endswith("]") else r"\s*:?"
    return re.compile(head + r"\W+".join(words) + tail, re.IGNORECASE)


_TAG_START = "(?:<|&lt;)"


def finditer(rx: re.Pattern[str], text: str) -> Iterator[re.Match[str]]:
    """`rx.finditer(text)`; a tag pattern is tried only where a tag can start ('<' or '&'), found by
    str.find in C: the regex engine would try every character of a long reasoning text instead."""
    if not rx.pattern.startswith(_TAG_START):
        yield from rx.finditer(text)
        return
    pos = 0
    lt = amp = -2
    while True:
        # each is searched for again only once `pos` has passed it: a text without '&' was scanned
        # to its end for one at every '<'
        if lt == -2 or -1 < lt < pos:
            lt = text.find("<", pos)
        if amp == -2 or -1 < amp < pos:
            amp = text.find("&", pos)
        if lt < 0 and amp < 0:
            return
        at = lt if amp < 0 or 0 <= lt < amp else amp
        m = rx.match(text, at)
        if m is None:
            pos = at + 1
        else:
            yield m
            pos = m.end()


def has_near_miss(text: str, p: Profile) -> bool:
    """True when `text` holds something that looks like one of the profile's markers but is not."""
    exact = {mk.strip() for mk in (p.open, p.close) if mk}
    return any(h.group(0).strip() not in exact
               for mk in (p.open or "", p.close or "") if (rx := _near_miss_regex(mk, p.style))
               for h in finditer(rx, text))


@lru_cache(maxsize=64)
def near_miss_setup(open_: str, close: str, style: str) -> tuple[tuple[re.Pattern[str], ...], frozenset[str]]:
    """The near-miss patterns of a marker pair (one when both give the same) and the exact markers."""
    rxs = {_near_miss_regex(mk, style) for mk in (open_, close)}
    return tuple(rx for rx in rxs if rx), frozenset(mk.strip() for mk in (open_, close) if mk)
