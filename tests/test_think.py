"""The think parser and the switch reader, read the way each family's template reads a turn."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from thinklint.checks.firsts import first_marker
from thinklint.model import Location, Message, Sample
from thinklint.profiles import builtin_profiles
from thinklint.think import active_switch, parse, turn_mode, turn_parse, turn_reasoning, unread_switches

P = builtin_profiles()


def sample(*msgs: tuple[str, str], fmt: str = "openai", **extra: Any) -> Sample:
    messages = tuple(Message(role, content, dict(extra) if role == "assistant" else {}) for role, content in msgs)
    return Sample(Location("x", 1, 0), "d", fmt, messages)


def test_a_lone_closer_is_the_empty_block_only_where_the_family_writes_it() -> None:
    s = sample(("user", "q"), ("assistant", "</think>4"))
    glm = turn_parse(s, 2, P["glm-4.7"])
    assert glm is not None and len(glm.blocks) == 1 and not glm.stray_closes and glm.answer() == "4"
    qwen = turn_parse(s, 2, P["qwen3"])
    assert qwen is not None and not qwen.blocks and qwen.stray_closes == (0,)


def test_nemotron_v2_last_turn_starts_inside_the_prefilled_block() -> None:
    v2 = P["nemotron-nano-v2"]
    s = sample(("user", "q"), ("assistant", "\nadd\n</think>\n\n4\n"))
    parsed = turn_parse(s, 2, v2)
    assert parsed is not None and parsed.lead == len("<think>\n")
    assert parsed.text == "<think>\nadd\n</think>\n\n4"  # prefill + content.strip(), as the template renders
    assert len(parsed.blocks) == 1 and not parsed.stray_closes and turn_reasoning(s, 2, v2).present
    off = sample(("system", "/no_think"), ("user", "q"), ("assistant", "4"))
    parsed = turn_parse(off, 3, v2)
    assert parsed is not None and parsed.text == "<think></think>4" and not turn_reasoning(off, 3, v2).present
    # no lead: an earlier turn, a turn that writes the opener itself (THK011), pre-rendered text
    history = sample(("user", "q"), ("assistant", "r</think>a"), ("user", "q2"), ("assistant", "4"))
    assert turn_parse(history, 2, v2).lead == 0  # type: ignore[union-attr]
    opened = sample(("user", "q"), ("assistant", "<think>\nadd\n</think>\n\n4"))
    assert turn_parse(opened, 2, v2).lead == 0  # type: ignore[union-attr]
    text = sample(("user", "q"), ("assistant", "add\n</think>\n\n4"), fmt="text")
    assert turn_parse(text, 2, v2).lead == 0  # type: ignore[union-attr]


def test_harmony_has_no_inline_blocks() -> None:
    s = sample(("user", "q"), ("assistant", "<|channel|>analysis<|message|>r<|end|>4"), thinking="add")
    assert turn_parse(s, 2, P["gpt-oss"]) is None
    r = turn_reasoning(s, 2, P["gpt-oss"])
    assert (r.field, r.text, r.inline) == ("thinking", "add", None)


def test_text_before_a_closer_without_opener_is_reasoning() -> None:
    s = sample(("user", "q"), ("assistant", "add</think>4"))
    assert turn_reasoning(s, 2, P["qwen3"]).text == "add"


def test_ignored_fields_are_named() -> None:
    s = sample(("user", "q"), ("assistant", "4"), reasoning_content="add")
    r = turn_reasoning(s, 2, P["gpt-oss"])
    assert not r.present and r.ignored == "reasoning_content"


@pytest.mark.parametrize(("profile", "msgs", "expected"), [
    # Qwen3: a learned switch in system or user text, the latest wins
    ("qwen3", [("user", "a /no_think"), ("assistant", "x"), ("user", "b /think")], "thinking"),
    ("qwen3", [("system", "/think"), ("user", "b /no_think")], "non_thinking"),
    ("qwen3", [("user", "b /no_thinking")], None),
    # SmolLM3 reads the system message only, /no_think first
    ("smollm3", [("user", "b /no_think")], None),
    ("smollm3", [("system", "/think and /no_think"), ("user", "b")], "non_thinking"),
    # Nemotron v2: any system or user message, the last message with a flag wins, its /think first
    ("nemotron-nano-v2", [("system", "/no_think"), ("user", "b /think")], "thinking"),
    ("nemotron-nano-v2", [("user", "b /no_think /think")], "thinking"),
    ("nemotron-nano-v2", [("system", "/think"), ("user", "b /no_think")], "non_thinking"),
    # GLM-4.5 appends '/nothink' to user text itself, glued to it
    ("glm-4.5", [("user", "2+2?/nothink")], "non_thinking"),
    ("glm-4.5", [("user", "a/nothink b")], None),
    ("qwen3.5", [("user", "b /no_think")], None),  # no text switch in this family
])
def test_active_switch(profile: str, msgs: list[tuple[str, str]], expected: str | None) -> None:
    s = sample(*msgs, ("assistant", "x"))
    assert active_switch(s, P[profile], len(msgs) + 1) == expected
    assert turn_mode(s, len(msgs) + 1, P[profile]) == (expected or P[profile].default_mode)


def test_switches_in_messages_the_family_does_not_read() -> None:
    s = sample(("system", "/no_think"), ("user", "b /no_think"), ("assistant", "x"))
    assert unread_switches(s, P["smollm3"]) == [(2, "/no_think")]
    assert unread_switches(s, P["nemotron-nano-v2"]) == [] and unread_switches(s, P["qwen3"]) == []


MARKERS = st.sampled_from(["<think>", "</think>", "\n", "R", "A", " "])


@given(st.lists(MARKERS, max_size=12).map("".join), st.booleans())
def test_parse_accounts_for_every_marker(content: str, lone: bool) -> None:
    parsed = parse(content, "<think>", "</think>", lone)
    ends = [b.end for b in parsed.blocks]
    assert ends == sorted(ends) and all(b.start <= b.inner_start <= b.inner_end <= b.end for b in parsed.blocks)
    closes = content.count("</think>")
    counted = sum(b.closed for b in parsed.blocks) + len(parsed.stray_closes)
    assert counted == closes
    assert len(parsed.blocks) + len(parsed.nested_opens) <= content.count("<think>") + lone


def _reference_parse(content: str, open_: str, close: str) -> tuple[list[tuple[int, int, bool]], list[int], list[int]]:
    """The parse searching the whole text at every step: blocks (start, end, closed), stray closers, nested openers."""
    blocks, strays, nested = [], [], []
    pos = 0
    while True:
        o, c = content.find(open_, pos), content.find(close, pos)
        if o < 0 and c < 0:
            return blocks, strays, nested
        if c >= 0 and (o < 0 or c < o):
            strays.append(c)
            pos = c + len(close)
            continue
        c = content.find(close, o + len(open_))
        i = content.find(open_, o + len(open_))
        while i >= 0 and (c < 0 or i < c):
            nested.append(i)
            i = content.find(open_, i + len(open_))
        if c < 0:
            blocks.append((o, len(content), False))
            return blocks, strays, nested
        blocks.append((o, c + len(close), True))
        pos = c + len(close)


@given(st.lists(st.sampled_from(["a", "b", "ab", "ba", "x"]), max_size=14).map("".join),
       st.sampled_from([("ab", "ba"), ("a", "ab"), ("aa", "ab"), ("ab", "b"), ("aba", "ba")]))
def test_parse_agrees_with_a_naive_parse_for_overlapping_markers(content: str, markers: tuple[str, str]) -> None:
    # the parser skips scans it has done already; markers that overlap each other are where that can go wrong
    open_, close = markers
    parsed = parse(content, open_, close)
    blocks, strays, nested = _reference_parse(content, open_, close)
    assert [(b.start, b.end, b.closed) for b in parsed.blocks] == blocks
    assert list(parsed.stray_closes) == strays and list(parsed.nested_opens) == nested


_MARKER_SETS = [("<think>", "</think>"), ("<a", "<ab", "<abc"), ("[BEGIN]", "<think>"),
                ("<|channel|>analysis<|message|>", "<|channel|>final<|message|>", "<seed:think>", "</seed:think>")]


@given(st.lists(st.sampled_from(["<", "<<", "a", " ", "think>", "<think>", "</think>", "<ab", "<seed:think>",
                                 "<|channel|>", "final<|message|>", "[BEGIN]"]), max_size=80),
       st.sampled_from(_MARKER_SETS))
def test_first_marker_is_the_earliest_of_every_marker_found(pieces: list[str], markers: tuple[str, ...]) -> None:
    # texts with more '<' than the shortcut tries are in the strategy too (80 pieces)
    text = "".join(pieces)
    assert first_marker(text, markers) == min(((text.find(mk), mk) for mk in markers if mk in text), default=None)
