"""Minimal textual edits of JSON: rewrite only what changed, byte for byte elsewhere.

`patch(text, start, end, old, new)` returns the new text for the JSON value at text[start:end]
(which decodes to `old`) so that it decodes to `new`. Unchanged members and elements keep their
text exactly (numbers, escapes, spacing, indentation); a changed string keeps the text outside
the changed span of characters, escapes included; a member that is added takes the separators
of its neighbours. Only when the text cannot be read member by member (duplicate keys) is a
value re-serialised whole, in its key order.
"""

from __future__ import annotations

import bisect
import difflib
import json
import re
from dataclasses import dataclass
from json.decoder import scanstring  # type: ignore[attr-defined]
from typing import Any

from thinklint.jsonpath import same

_decoder = json.JSONDecoder()


@dataclass(frozen=True)
class Style:
    """How new text is written: escape non-ASCII (the file has none raw), and the separators."""

    ensure_ascii: bool
    item_sep: str = ", "
    key_sep: str = ": "

    def dumps(self, value: Any) -> str:
        # allow_nan=False: a number too large for a float was read as inf (`1e400`), and writing
        # `Infinity` would leave a line no JSON reader takes; the fix is refused instead (ValueError)
        try:
            return json.dumps(value, ensure_ascii=self.ensure_ascii, separators=(self.item_sep, self.key_sep),
                              allow_nan=False)
        except ValueError:
            raise ValueError("a number in it is too large for a float (read as infinity) or is NaN, and "
                             "JSON cannot write that back") from None


def style_of(text: str, pos: int = 0) -> Style:
    """The style of the document around the value at `pos`: ASCII-only text gets escapes, and the
    separators of its first object (one-line ones: a fresh value is written on one line)."""
    item, key = ", ", ": "
    start = skip_ws(text, pos)
    if text.startswith("{", start):
        try:
            members, _ = _members(text, start)
        except (ValueError, IndexError):
            members = []
        if members:
            found = text[members[0].key_end:members[0].value_start]
            key = found if "\n" not in found else key
        if len(members) > 1:
            found = text[members[0].value_end:members[1].key_start]
            item = found if "\n" not in found else item
    return Style(text.isascii(), item, key)


def skip_ws(text: str, pos: int) -> int:
    n = len(text)
    while pos < n and text[pos] in " \t\r\n":
        pos += 1
    return pos


@dataclass(frozen=True)
class _Member:
    key: str
    key_start: int
    key_end: int
    value_start: int
    value_end: int


def _members(text: str, pos: int) -> tuple[list[_Member], int]:
    """The members of the object at text[pos] == '{', and the offset just past its '}'."""
    out: list[_Member] = []
    i = skip_ws(text, pos + 1)
    if text[i] == "}":
        return out, i + 1
    while True:
        if text[i] != '"':
            raise ValueError("expected a key")
        key, key_end = scanstring(text, i + 1)
        colon = skip_ws(text, key_end)
        if text[colon] != ":":
            raise ValueError("expected ':'")
        vstart = skip_ws(text, colon + 1)
        _, vend = _decoder.raw_decode(text, vstart)
        out.append(_Member(key, i, key_end, vstart, vend))
        j = skip_ws(text, vend)
        if text[j] == "}":
            return out, j + 1
        if text[j] != ",":
            raise ValueError("expected ',' or '}'")
        i = skip_ws(text, j + 1)


def elements(text: str, pos: int) -> tuple[list[tuple[int, int]], int]:
    """The (start, end) of each element of the array at text[pos] == '[', and the offset past ']'."""
    out: list[tuple[int, int]] = []
    i = skip_ws(text, pos + 1)
    if text[i] == "]":
        return out, i + 1
    while True:
        _, end = _decoder.raw_decode(text, i)
        out.append((i, end))
        j = skip_ws(text, end)
        if text[j] == "]":
            return out, j + 1
        if text[j] != ",":
            raise ValueError("expected ',' or ']'")
        i = skip_ws(text, j + 1)


def patch(text: str, start: int, end: int, old: Any, new: Any, style: Style) -> str:
    """The text of the value at text[start:end] (decoding to `old`) rewritten to decode to `new`."""
    if same(old, new):
        return text[start:end]
    if isinstance(old, dict) and isinstance(new, dict) and text[start] == "{":
        return _patch_object(text, start, end, old, new, style)
    if isinstance(old, list) and isinstance(new, list) and text[start] == "[":
        return _patch_array(text, start, end, old, new, style)
    if isinstance(old, str) and isinstance(new, str) and text[start] == '"':
        return patch_string(text[start:end], old, new, style.ensure_ascii)
    return style.dumps(new)


def _join(text: str, start: int, end: int, first: int, last: int, parts: list[str], sep: str) -> str:
    """Reassemble a container: its opening bracket and the layout before its first item and after
    its last one as they were, the items joined by the separator it used."""
    if not parts:
        return text[start] + text[end - 1]
    return text[start:first] + sep.join(parts) + text[last:end - 1] + text[end - 1]


def _patch_object(text: str, start: int, end: int, old: dict[str, Any], new: dict[str, Any], style: Style) -> str:
    members, _ = _members(text, start)
    if len({m.key for m in members}) != len(members):
        return style.dumps(new)  # duplicate keys: which text belongs to which value is ambiguous
    by_key = {m.key: m for m in members}
    if list(new) == [m.key for m in members]:
        # same keys in the same order: splice the changed values into the text as it is
        out, pos = [], start
        for m in members:
            if not same(old[m.key], new[m.key]):
                out += [text[pos:m.value_start], patch(text, m.value_start, m.value_end, old[m.key], new[m.key], style)]
                pos = m.value_end
        return "".join(out) + text[pos:end]
    item_sep = text[members[0].value_end:members[1].key_start] if len(members) > 1 else style.item_sep
    key_sep = text[members[0].key_end:members[0].value_start] if members else style.key_sep
    # a key that goes away may come back under another name (a renamed field): its value's text moves
    gone = [m for m in members if m.key not in new]
    parts = []
    for key, value in new.items():
        kept = by_key.get(key)
        if kept is None:
            moved = next((m for m in gone if same(old[m.key], value)), None)
            text_of = text[moved.value_start:moved.value_end] if moved else style.dumps(value)
            parts.append(json.dumps(key, ensure_ascii=style.ensure_ascii) + key_sep + text_of)
        else:
            parts.append(text[kept.key_start:kept.value_start]
                         + patch(text, kept.value_start, kept.value_end, old[key], value, style))
    first = members[0].key_start if members else start + 1
    last = members[-1].value_end if members else start + 1
    return _join(text, start, end, first, last, parts, item_sep)


def _patch_array(text: str, start: int, end: int, old: list[Any], new: list[Any], style: Style) -> str:
    spans, _ = elements(text, start)
    if len(new) == len(spans):
        out, pos = [], start
        for (s, e), o, n in zip(spans, old, new):
            if not same(o, n):
                out += [text[pos:s], patch(text, s, e, o, n, style)]
                pos = e
        return "".join(out) + text[pos:end]
    # elements added or removed: keep the text of each old element that is still there, in order
    item_sep = text[spans[0][1]:spans[1][0]] if len(spans) > 1 else style.item_sep
    parts, k = [], 0
    for value in new:
        j = next((i for i in range(k, len(old)) if same(old[i], value)), None)
        if j is None:
            parts.append(style.dumps(value))
        else:
            parts.append(text[spans[j][0]:spans[j][1]])
            k = j + 1
    first = spans[0][0] if spans else start + 1
    last = spans[-1][1] if spans else start + 1
    return _join(text, start, end, first, last, parts, item_sep)


#: one escape of a JSON string: a surrogate pair (decoded as one character), a \\uXXXX, or \\n and kin
_ESCAPE = re.compile(r"\\(?:u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|.)", re.DOTALL)


class _Offsets:
    """Where decoded character i of a string literal starts in the literal (quotes included); the
    literal's length in characters is `count`. Only escapes take more than one raw character, so
    only they are recorded: a literal without any costs nothing."""

    def __init__(self, literal: str) -> None:
        self.literal = literal
        self.decoded: list[int] = []  # decoded index of each escape
        self.extra: list[int] = []  # raw characters beyond one, up to and including that escape
        total = 0
        for m in _ESCAPE.finditer(literal, 1, len(literal) - 1):
            self.decoded.append(m.start() - 1 - total)
            total += m.end() - m.start() - 1
            self.extra.append(total)
        self.count = len(literal) - 2 - total

    def __getitem__(self, i: int) -> int:
        k = bisect.bisect_left(self.decoded, i)  # escapes that start before character i
        return 1 + i + (self.extra[k - 1] if k else 0)


#: above this (characters of old times new in the changed span) the span is written anew whole:
#: matching characters inside it costs quadratic time, and only keeps the escapes it holds
_MATCH_LIMIT = 4_000_000


def patch_string(literal: str, old: str, new: str, ensure_ascii: bool) -> str:
    """The string literal for `new`, keeping the text of `literal` (which decodes to `old`) for the
    characters that stay: the common head and tail, and within the changed span the runs of
    characters a repair moved but did not change (the reasoning a block is rewritten around)."""
    offsets = _Offsets(literal)
    if offsets.count != len(old):
        return json.dumps(new, ensure_ascii=ensure_ascii)  # lone surrogates and the like: write anew
    limit = min(len(old), len(new))
    head = 0
    while head < limit and old[head] == new[head]:
        head += 1
    tail = 0
    while tail < limit - head and old[-1 - tail] == new[-1 - tail]:
        tail += 1
    old_end, new_end = len(old) - tail, len(new) - tail

    def encode(text: str) -> str:
        return json.dumps(text, ensure_ascii=ensure_ascii)[1:-1]

    out = [literal[:offsets[head]]]
    if (old_end - head) * (new_end - head) <= _MATCH_LIMIT:
        matcher = difflib.SequenceMatcher(None, old[head:old_end], new[head:new_end], autojunk=False)
        for op, i1, i2, j1, j2 in matcher.get_opcodes():
            if op == "equal":
                out.append(literal[offsets[head + i1]:offsets[head + i2]])
            else:
                out.append(encode(new[head + j1:head + j2]))
    else:
        out.append(encode(new[head:new_end]))
    out.append(literal[offsets[old_end]:])
    return "".join(out)
