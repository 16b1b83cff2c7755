"""Minimal textual JSON edits: the new text decodes to the new value, and what did not change keeps
its text (escapes, numbers, spacing), for any value and any mutation."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from thinklint.fix.jsontext import _Offsets, patch, patch_string, style_of

CHARS = st.one_of(st.sampled_from(["\n", '"', "\\", "/", "é", "😀", "\u2028", "\x00"]), st.characters())
TEXT = st.lists(CHARS, max_size=10).map("".join)
SCALAR = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False), TEXT)
VALUE = st.recursive(SCALAR, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                     st.dictionaries(TEXT, inner, max_size=4)), max_leaves=12)


def _dumps(value: Any, ascii_: bool, compact: bool) -> str | None:
    try:
        text = json.dumps(value, ensure_ascii=ascii_, separators=(",", ":") if compact else None)
        text.encode("utf-8")  # a lone surrogate cannot be written raw
    except UnicodeEncodeError:
        return None
    return text


@settings(max_examples=400, deadline=None)
@given(TEXT, st.booleans(), TEXT, st.integers(0, 12), st.integers(0, 3))
def test_string_offsets_and_patches(old: str, ascii_: bool, insert: str, at: int, cut: int) -> None:
    literal = _dumps(old, ascii_, False)
    if literal is None:
        return
    offsets = _Offsets(literal)
    assert offsets.count == len(old)
    for i in range(len(old) + 1):
        assert json.loads('"' + literal[offsets[i]:]) == old[i:]
    new = old[:at] + insert + old[at + cut:]
    out = patch_string(literal, old, new, ascii_)
    assert json.loads(out) == new
    if new == old:
        assert out == literal


def _mutate(value: Any, data: Any) -> Any:
    """`value` with one leaf replaced, one key added or removed, or an element appended."""
    if isinstance(value, dict) and value and data.draw(st.booleans()):
        key = data.draw(st.sampled_from(sorted(value)))
        choice = data.draw(st.sampled_from(["recurse", "drop", "add"]))
        if choice == "recurse":
            return {k: (_mutate(v, data) if k == key else v) for k, v in value.items()}
        if choice == "drop":
            return {k: v for k, v in value.items() if k != key}
        return {**value, data.draw(TEXT): data.draw(SCALAR)}
    if isinstance(value, list) and value and data.draw(st.booleans()):
        i = data.draw(st.integers(0, len(value) - 1))
        if data.draw(st.booleans()):
            return [*value, data.draw(SCALAR)]
        return [(_mutate(v, data) if j == i else v) for j, v in enumerate(value)]
    return data.draw(SCALAR)


@settings(max_examples=400, deadline=None)
@given(VALUE, st.booleans(), st.booleans(), st.data())
def test_patch_decodes_to_the_new_value(old: Any, ascii_: bool, compact: bool, data: Any) -> None:
    text = _dumps(old, ascii_, compact)
    if text is None:
        return
    new = _mutate(old, data)
    padded = "  " + text + " \t"
    out = patch(padded, 2, 2 + len(text), old, new, style_of(padded, 2))
    assert json.loads(out) == new
    if json.dumps(old) == json.dumps(new):
        assert out == text  # nothing changed: not a byte either


def test_unchanged_members_keep_their_text() -> None:
    text = '{"a": 1.50, "b": "caf\\u00e9", "c": [1e5, {"d": "x"}], "e": "y"}'
    old = json.loads(text)
    new = {**old, "e": "z"}
    assert patch(text, 0, len(text), old, new, style_of(text)) == text.replace('"y"', '"z"')
    renamed = {("f" if k == "b" else k): v for k, v in old.items()}
    assert patch(text, 0, len(text), old, renamed, style_of(text)) == text.replace('"b"', '"f"')
    dropped = {k: v for k, v in old.items() if k != "c"}
    assert patch(text, 0, len(text), old, dropped, style_of(text)) == '{"a": 1.50, "b": "caf\\u00e9", "e": "y"}'
