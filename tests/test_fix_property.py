"""Property: --fix changes nothing outside the repaired span.

Random JSONL files (random text, extra fields, ensure_ascii or not, compact or spaced separators,
LF or CRLF, with or without a final newline) with defects planted in some records: every other
line stays byte for byte; in a fixed line every byte outside the repaired JSON string (or key)
stays; in the record every other field stays; in the repaired string the reasoning and the answer
stay, only the block's markers and layout change. A second --fix changes nothing.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from thinklint.app import run_check
from thinklint.settings import Settings

SPEC = ("version: 1\nmodel: {profile: qwen3}\ntraining: {framework: chat_template}\n"
        "datasets:\n  - {name: d, path: data.jsonl}\n")
PLACEHOLDER = "\x00slot\x00"

# no markup characters in the random text: a '<' could plant a defect of its own
CHARS = st.one_of(st.sampled_from(["\n", " ", "\t", '"', "\\", "/", "é", "😀", "\u2028", "think"]),
                  st.characters(blacklist_categories=["Cs"], blacklist_characters="<>&\r"))
TEXT = st.lists(CHARS, max_size=12).map("".join)
REASONING = TEXT.filter(lambda r: r.strip() != "" and r == r.strip("\n"))
ANSWER = TEXT.filter(lambda a: a == a.lstrip("\n"))
SCALAR = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6),
                   st.floats(allow_nan=False, allow_infinity=False), TEXT)
EXTRA = st.dictionaries(st.text("abcdefxyz", min_size=1, max_size=5),
                        st.recursive(SCALAR, lambda inner: st.lists(inner, max_size=3), max_leaves=5), max_size=3)
DEFECTS = ("none", "spacing", "near_miss", "moved", "markers")


@st.composite
def record(draw: Any) -> dict[str, Any]:
    r, a, defect = draw(REASONING), draw(ANSWER), draw(st.sampled_from(DEFECTS))
    canonical = f"<think>\n{r}\n</think>\n\n{a}"
    assistant: dict[str, Any] = {"role": "assistant", "content": canonical}
    fixed: dict[str, Any] = dict(assistant)
    changed = "content"
    if defect == "spacing":
        ws = [draw(st.sampled_from(["", "\n", "\n\n"])) for _ in range(3)]
        assistant["content"] = f"<think>{ws[0]}{r}{ws[1]}</think>{ws[2]}{a}"
    elif defect == "near_miss":
        opener = draw(st.sampled_from(["<think>", "<Think>", "< think>", "<THINK>"]))
        closer = draw(st.sampled_from(["</think>", "</ think>", "<\\think>", "</Think >"]))
        assistant["content"] = f"{opener}\n{r}\n{closer}\n\n{a}"
    elif defect == "moved":
        assistant = {"role": "assistant", "thinking": r, "content": a}
        fixed = {"role": "assistant", "reasoning_content": r, "content": a}
        changed = "key"
    elif defect == "markers":
        assistant = {"role": "assistant", "reasoning_content": f"<think>{r}</think>", "content": a}
        fixed = {"role": "assistant", "reasoning_content": r, "content": a}
        changed = "reasoning_content"
    extra = draw(EXTRA)
    extra.pop("messages", None)
    user = {"role": "user", "content": draw(TEXT) or "q"}
    return {"before": {**extra, "messages": [user, assistant]}, "after": {**extra, "messages": [user, fixed]},
            "changed": changed if assistant != fixed else None}


@st.composite
def dataset(draw: Any) -> dict[str, Any]:
    return {"records": draw(st.lists(record(), min_size=1, max_size=5)),
            "ascii": draw(st.booleans()),
            "seps": draw(st.sampled_from([(", ", ": "), (",", ":")])),
            "endings": draw(st.lists(st.sampled_from(["\n", "\r\n"]), min_size=5, max_size=5)),
            "final_newline": draw(st.booleans())}


def _line(rec: dict[str, Any], ds: dict[str, Any], slot: str | None) -> tuple[str, int, int]:
    """The record's JSON text, and where the literal of the `slot` field of its assistant message sits."""
    def dumps(value: Any) -> str:
        return json.dumps(value, ensure_ascii=ds["ascii"], separators=ds["seps"])

    if slot is None:
        return dumps(rec), -1, -1
    probe = json.loads(json.dumps(rec))
    literal = dumps(probe["messages"][1][slot])
    probe["messages"][1][slot] = PLACEHOLDER
    text = dumps(probe)
    start = text.index(dumps(PLACEHOLDER))
    return text.replace(dumps(PLACEHOLDER), literal), start, start + len(literal)


def _fix(root: Path) -> None:
    run_check(Settings(config=root / "thinklint.yaml", fix=True), io.StringIO(), io.StringIO())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(dataset())
def test_fixing_changes_nothing_outside_the_repaired_span(ds: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "thinklint.yaml").write_text(SPEC, encoding="utf-8")
        lines = []
        for i, rec in enumerate(ds["records"]):
            slot = rec["changed"] if rec["changed"] in ("content", "reasoning_content") else None
            text, start, end = _line(rec["before"], ds, slot)
            last = i == len(ds["records"]) - 1
            ending = "" if last and not ds["final_newline"] else ds["endings"][i]
            lines.append((text, start, end, ending))
        data = root / "data.jsonl"
        data.write_bytes("".join(t + e for t, _, _, e in lines).encode("utf-8"))
        cwd = os.getcwd()
        os.chdir(root)
        try:
            _fix(root)
            once = data.read_bytes()
            _fix(root)
            assert data.read_bytes() == once, "a second --fix changed the file"
        finally:
            os.chdir(cwd)

    new_lines = once.decode("utf-8").split("\n")
    old_lines = "".join(t + e for t, _, _, e in lines).split("\n")
    assert len(new_lines) == len(old_lines)
    for rec, (text, start, end, ending), new in zip(ds["records"], lines, new_lines):
        old = (text + ending).split("\n")[0]
        if rec["changed"] is None:
            assert new == old  # untouched: byte for byte
            continue
        assert new.endswith("\r") == old.endswith("\r")  # the line keeps its ending
        body = new.removesuffix("\r")
        assert json.loads(body) == rec["after"]  # every other field, the reasoning and the answer stay
        if rec["changed"] == "key":
            key = json.dumps("thinking"), json.dumps("reasoning_content")
            assert body == text.replace(key[0], key[1], 1)
        else:  # outside the repaired string's literal, every byte stays
            assert body.startswith(text[:start]) and body.endswith(text[end:])
