"""Golden tests: the LLaMA-Factory 0.9.5 trainer model, token for token, on the real Qwen3 tokenizer.

Every expected sequence below was produced once, decoded and checked by eye against
notes/llamafactory.md, and cross-checked against LLaMA-Factory 0.9.5's own template and
processor code on random samples during development. Frequent ids: 151644 <|im_start|>,
151645 <|im_end|>, 151667 <think>, 151668 </think>, 198 "\\n", 271 "\\n\\n", 872 "user",
77091 "assistant", 8948 "system", 13048 "Hi", 11692 "ANS", 49 "R", 48 "Q", 32 "A", 16 "1", 17 "2".
"""

from __future__ import annotations

from typing import Any

import pytest

from thinklint.model import Message
from thinklint.resources import trainers_dir, validator
from thinklint.spec import TrainingSpec
from thinklint.tokens.encoding import IGNORE_INDEX, Encoding, Segment
from thinklint.tokens.lf_convert import LlamaFactoryReject, ignored_reasoning
from thinklint.tokens.lf_templates import llamafactory_template, load_llamafactory
from thinklint.tokens.llamafactory import encode_llamafactory, infer_seqlen, remove_thought
from thinklint.yamlsrc import load_yaml, validate

pytestmark = pytest.mark.tokens

M = IGNORE_INDEX
COT = "<think>\nR\n</think>\n\nANS"
TWO_COT = [("user", "Q1"), ("assistant", "<think>\nR1\n</think>\n\nA1"),
           ("user", "Q2"), ("assistant", "<think>\nR2\n</think>\n\nA2")]


def enc(tok: Any, msgs: list[Any], template: str = "qwen3", tools: str | None = None,
        formatting: str = "sharegpt", **training: Any) -> Encoding:
    messages = [m if isinstance(m, Message) else Message(m[0], m[1]) for m in msgs]
    spec, lf_template = TrainingSpec(**training), llamafactory_template(template)
    return encode_llamafactory(messages, tools, spec, lf_template, tok, formatting=formatting)


def hi(content: str) -> list[Any]:
    return [("user", "Hi"), ("assistant", content)]


def kinds(e: Encoding) -> list[tuple[str, int, int, int]]:
    return [(s.kind, s.turn, s.start, s.end) for s in e.segments]


# --- Qwen3 facts from the design note --------------------------------------------------------------

def test_qwen3_special_ids_and_empty_block(qwen3_tokenizer: Any) -> None:
    ids = {t: qwen3_tokenizer.convert_tokens_to_ids(t)
           for t in ("<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>", "</think>")}
    assert ids == {"<|endoftext|>": 151643, "<|im_start|>": 151644, "<|im_end|>": 151645,
                   "<think>": 151667, "</think>": 151668}
    assert qwen3_tokenizer.eos_token_id == 151645
    template = llamafactory_template("qwen3")
    assert template.empty_thought == "<think>\n\n</think>\n\n"
    empty = qwen3_tokenizer.encode(template.empty_thought, add_special_tokens=False)
    assert empty == [151667, 271, 151668, 271]


# --- the design note's LLaMA-Factory table ---------------------------------------------------------

def test_no_cot_enable_thinking_true_trains_the_empty_block(qwen3_tokenizer: Any) -> None:
    e = enc(qwen3_tokenizer, hi("ANS"), enable_thinking=True)
    assert e.input_ids == (151644, 872, 198, 13048, 151645, 198, 151644, 77091, 198,
                           151667, 271, 151668, 271, 11692, 151645, 198)
    assert e.labels == (M, M, M, M, M, M, M, M, M, 151667, 271, 151668, 271, 11692, 151645, 198)
    assert kinds(e) == [("prompt", 1, 0, 9), ("empty_think", 1, 9, 13),
                        ("answer", 1, 13, 14), ("eot", 1, 14, 16)]
    assert e.full_length == 16 and not e.truncated


@pytest.mark.parametrize("thinking", [False, None])
def test_no_cot_false_or_null_masks_the_empty_block(qwen3_tokenizer: Any, thinking: bool | None) -> None:
    e = enc(qwen3_tokenizer, hi("ANS"), enable_thinking=thinking)
    assert e.input_ids == (151644, 872, 198, 13048, 151645, 198, 151644, 77091, 198,
                           151667, 271, 151668, 271, 11692, 151645, 198)
    assert e.labels == (M, M, M, M, M, M, M, M, M, M, M, M, M, 11692, 151645, 198)
    assert kinds(e) == [("prompt", 1, 0, 9), ("empty_think", 1, 9, 13),
                        ("answer", 1, 13, 14), ("eot", 1, 14, 16)]
    assert e.is_masked(e.of_kind("empty_think")[0])


@pytest.mark.parametrize("thinking", [True, None])
def test_cot_true_or_null_trains_the_block(qwen3_tokenizer: Any, thinking: bool | None) -> None:
    e = enc(qwen3_tokenizer, hi(COT), enable_thinking=thinking)
    assert e.input_ids == (151644, 872, 198, 13048, 151645, 198, 151644, 77091, 198,
                           151667, 198, 49, 198, 151668, 271, 11692, 151645, 198)
    assert e.labels == (M, M, M, M, M, M, M, M, M, 151667, 198, 49, 198, 151668, 271, 11692, 151645, 198)
    assert kinds(e) == [("prompt", 1, 0, 9), ("reasoning", 1, 9, 15),
                        ("answer", 1, 15, 16), ("eot", 1, 16, 18)]


def test_cot_false_removes_the_cot_from_every_turn(qwen3_tokenizer: Any) -> None:
    single = enc(qwen3_tokenizer, hi(COT), enable_thinking=False)
    assert single.input_ids == (151644, 872, 198, 13048, 151645, 198, 151644, 77091, 198,
                                151667, 271, 151668, 271, 11692, 151645, 198)
    assert single.labels == (M, M, M, M, M, M, M, M, M, M, M, M, M, 11692, 151645, 198)

    e = enc(qwen3_tokenizer, TWO_COT, enable_thinking=False)
    assert e.input_ids == (151644, 872, 198, 48, 16, 151645, 198, 151644, 77091, 198,
                           151667, 271, 151668, 271, 32, 16, 151645, 198,
                           151644, 872, 198, 48, 17, 151645, 198, 151644, 77091, 198,
                           151667, 271, 151668, 271, 32, 17, 151645, 198)
    assert e.labels == (M, M, M, M, M, M, M, M, M, M, M, M, M, M, 32, 16, 151645, 198,
                        M, M, M, M, M, M, M, M, M, M, M, M, M, M, 32, 17, 151645, 198)
    assert not e.of_kind("reasoning")


@pytest.mark.parametrize("thinking", [True, False, None])
def test_qwen3_nothink_adds_no_think_tokens(qwen3_tokenizer: Any, thinking: bool | None) -> None:
    e = enc(qwen3_tokenizer, hi("ANS"), template="qwen3_nothink", enable_thinking=thinking)
    assert e.input_ids == (151644, 872, 198, 13048, 151645, 198, 151644, 77091, 198, 11692, 151645, 198)
    assert e.labels == (M, M, M, M, M, M, M, M, M, 11692, 151645, 198)
    assert kinds(e) == [("prompt", 1, 0, 9), ("answer", 1, 9, 10), ("eot", 1, 10, 12)]


def test_two_turns_cot_mask_history_false_trains_both_with_history_cot(qwen3_tokenizer: Any) -> None:
    e = enc(qwen3_tokenizer, TWO_COT)
    assert e.input_ids == (151644, 872, 198, 48, 16, 151645, 198, 151644, 77091, 198,
                           151667, 198, 49, 16, 198, 151668, 271, 32, 16, 151645, 198,
                           151644, 872, 198, 48, 17, 151645, 198, 151644, 77091, 198,
                           151667, 198, 49, 17, 198, 151668, 271, 32, 17, 151645, 198)
    assert e.labels == (M, M, M, M, M, M, M, M, M, M,
                        151667, 198, 49, 16, 198, 151668, 271, 32, 16, 151645, 198,
                        M, M, M, M, M, M, M, M, M, M,
                        151667, 198, 49, 17, 198, 151668, 271, 32, 17, 151645, 198)
    assert kinds(e) == [("prompt", 1, 0, 10), ("reasoning", 1, 10, 17), ("answer", 1, 17, 19),
                        ("eot", 1, 19, 21), ("prompt", 3, 21, 31), ("reasoning", 3, 31, 38),
                        ("answer", 3, 38, 40), ("eot", 3, 40, 42)]


def test_two_turns_cot_mask_history_strips_history_cot(qwen3_tokenizer: Any) -> None:
    e = enc(qwen3_tokenizer, TWO_COT, mask_history=True)
    assert e.input_ids == (151644, 872, 198, 48, 16, 151645, 198, 151644, 77091, 198, 32, 16, 151645, 198,
                           151644, 872, 198, 48, 17, 151645, 198, 151644, 77091, 198,
                           151667, 198, 49, 17, 198, 151668, 271, 32, 17, 151645, 198)
    assert e.labels == (M, M, M, M, M, M, M, M, M, M, M, M, M, M,
                        M, M, M, M, M, M, M, M, M, M,
                        151667, 198, 49, 17, 198, 151668, 271, 32, 17, 151645, 198)
    # the stripped history turn gets no block at all, not even an empty one
    assert kinds(e) == [("prompt", 1, 0, 10), ("answer", 1, 10, 12), ("eot", 1, 12, 14),
                        ("prompt", 3, 14, 24), ("reasoning", 3, 24, 31), ("answer", 3, 31, 33),
                        ("eot", 3, 33, 35)]


def test_two_turns_cot_mask_history_preserve_thinking_keeps_history_cot_masked(qwen3_tokenizer: Any) -> None:
    e = enc(qwen3_tokenizer, TWO_COT, mask_history=True, preserve_thinking=True)
    assert e.input_ids == (151644, 872, 198, 48, 16, 151645, 198, 151644, 77091, 198,
                           151667, 198, 49, 16, 198, 151668, 271, 32, 16, 151645, 198,
                           151644, 872, 198, 48, 17, 151645, 198, 151644, 77091, 198,
                           151667, 198, 49, 17, 198, 151668, 271, 32, 17, 151645, 198)
    assert e.labels == (M,) * 31 + (151667, 198, 49, 17, 198, 151668, 271, 32, 17, 151645, 198)
    history_reasoning = e.of_turn(1)[1]
    assert history_reasoning == Segment("reasoning", 1, 10, 17) and e.is_masked(history_reasoning)


def test_null_history_without_cot_masks_its_empty_block(qwen3_tokenizer: Any) -> None:
    msgs = [("user", "Q1"), ("assistant", "A1"), ("user", "Q2"), ("assistant", "<think>\nR2\n</think>\n\nA2")]
    e = enc(qwen3_tokenizer, msgs, enable_thinking=None)
    assert e.input_ids == (151644, 872, 198, 48, 16, 151645, 198, 151644, 77091, 198,
                           151667, 271, 151668, 271, 32, 16, 151645, 198,
                           151644, 872, 198, 48, 17, 151645, 198, 151644, 77091, 198,
                           151667, 198, 49, 17, 198, 151668, 271, 32, 17, 151645, 198)
    assert e.labels == (M, M, M, M, M, M, M, M, M, M, M, M, M, M, 32, 16, 151645, 198,
                        M, M, M, M, M, M, M, M, M, M,
                        151667, 198, 49, 17, 198, 151668, 271, 32, 17, 151645, 198)
    assert e.of_kind("empty_think") == (Segment("empty_think", 1, 10, 14),)


# --- quirks -------------------------------------------------------------------------------------------

def test_non_canonical_cot_survives_enable_thinking_false_and_is_trained(qwen3_tokenizer: Any) -> None:
    e = enc(qwen3_tokenizer, hi("<think>R</think>ANS"), enable_thinking=False)
    assert e.input_ids == (151644, 872, 198, 13048, 151645, 198, 151644, 77091, 198,
                           151667, 49, 151668, 11692, 151645, 198)
    assert e.labels == (M, M, M, M, M, M, M, M, M, 151667, 49, 151668, 11692, 151645, 198)
    assert kinds(e) == [("prompt", 1, 0, 9), ("reasoning", 1, 9, 12),
                        ("answer", 1, 12, 13), ("eot", 1, 13, 15)]


def test_non_canonical_history_cot_is_not_stripped_by_mask_history(qwen3_tokenizer: Any) -> None:
    msgs = [("user", "Q1"), ("assistant", "<think>R1</think>A1"), ("user", "Q2"),
            ("assistant", "<think>\nR2\n</think>\n\nA2")]
    e = enc(qwen3_tokenizer, msgs, mask_history=True)
    assert e.input_ids == (151644, 872, 198, 48, 16, 151645, 198, 151644, 77091, 198,
                           151667, 49, 16, 151668, 32, 16, 151645, 198,
                           151644, 872, 198, 48, 17, 151645, 198, 151644, 77091, 198,
                           151667, 198, 49, 17, 198, 151668, 271, 32, 17, 151645, 198)
    assert e.labels == (M,) * 28 + (151667, 198, 49, 17, 198, 151668, 271, 32, 17, 151645, 198)
    assert e.of_turn(1)[1] == Segment("reasoning", 1, 10, 14)


def test_hand_written_empty_block_under_null_is_trained(qwen3_tokenizer: Any) -> None:
    e = enc(qwen3_tokenizer, hi("<think>\n\n</think>\n\nANS"), enable_thinking=None)
    assert e.input_ids == (151644, 872, 198, 13048, 151645, 198, 151644, 77091, 198,
                           151667, 271, 151668, 271, 11692, 151645, 198)
    assert e.labels == (M, M, M, M, M, M, M, M, M, 151667, 271, 151668, 271, 11692, 151645, 198)
    assert e.is_supervised(e.of_kind("empty_think")[0])


def test_train_on_prompt_supervises_the_prompt_and_its_empty_block(qwen3_tokenizer: Any) -> None:
    e = enc(qwen3_tokenizer, hi("ANS"), enable_thinking=None, train_on_prompt=True)
    assert e.input_ids == (151644, 872, 198, 13048, 151645, 198, 151644, 77091, 198,
                           151667, 271, 151668, 271, 11692, 151645, 198)
    assert e.labels == e.input_ids
    assert e.is_supervised(e.of_kind("prompt")[0])


def test_mask_history_with_train_on_prompt_is_refused(qwen3_tokenizer: Any) -> None:
    with pytest.raises(ValueError, match="incompatible"):
        enc(qwen3_tokenizer, hi("ANS"), mask_history=True, train_on_prompt=True)


LONG = "<think>\nOne two three four five six seven eight.\n</think>\n\nANS"


def test_cutoff_cuts_the_closing_think_and_keeps_the_row(qwen3_tokenizer: Any) -> None:
    e = enc(qwen3_tokenizer, hi(LONG), cutoff_len=20)
    assert e.input_ids == (151644, 872, 198, 13048, 151645, 198, 151644, 77091, 198,
                           151667, 198, 3966, 1378, 2326, 3040, 4236, 4743, 8094, 8063, 624)
    assert e.labels == (M, M, M, M, M, M, M, M, M,
                        151667, 198, 3966, 1378, 2326, 3040, 4236, 4743, 8094, 8063, 624)
    assert e.truncated and e.full_length == 25
    assert 151668 not in e.input_ids and not e.of_kind("eot")


def test_cutoff_cuts_the_end_of_turn_token(qwen3_tokenizer: Any) -> None:
    e = enc(qwen3_tokenizer, hi(LONG), cutoff_len=23)
    assert e.input_ids == (151644, 872, 198, 13048, 151645, 198, 151644, 77091, 198,
                           151667, 198, 3966, 1378, 2326, 3040, 4236, 4743, 8094, 8063, 624,
                           151668, 271, 11692)
    assert e.labels[-3:] == (151668, 271, 11692) and e.labels[:9] == (M,) * 9
    assert kinds(e) == [("prompt", 1, 0, 9), ("reasoning", 1, 9, 22), ("answer", 1, 22, 23)]


def test_cutoff_cuts_the_assistant_header_out_of_the_prompt(qwen3_tokenizer: Any) -> None:
    e = enc(qwen3_tokenizer, hi("ANS"), enable_thinking=None, cutoff_len=10)
    # infer_seqlen keeps the short response whole and cuts the prompt's end: header and empty block
    assert e.input_ids == (151644, 872, 198, 13048, 151645, 198, 151644, 11692, 151645, 198)
    assert e.labels == (M, M, M, M, M, M, M, 11692, 151645, 198)
    assert kinds(e) == [("prompt", 1, 0, 7), ("answer", 1, 7, 8), ("eot", 1, 8, 10)]


@pytest.mark.parametrize("mask_history, kept_turn, ids", [
    (False, 1, (151644, 872, 198, 48, 16, 151645, 151667, 198, 49, 16, 198, 151668)),
    (True, 3, (151644, 872, 198, 48, 17, 151645, 151667, 198, 49, 17, 198, 151668)),
])
def test_cutoff_keeps_the_first_turn_or_under_mask_history_the_last(
    qwen3_tokenizer: Any, mask_history: bool, kept_turn: int, ids: tuple[int, ...],
) -> None:
    e = enc(qwen3_tokenizer, TWO_COT, cutoff_len=12, mask_history=mask_history)
    assert e.input_ids == ids
    assert e.labels == (M,) * 6 + ids[6:]
    assert e.turns == (kept_turn,)


def test_infer_seqlen_matches_llamafactory_branches() -> None:
    assert infer_seqlen(9, 3, 10) == (7, 3)     # short target: the source is cut
    assert infer_seqlen(9, 16, 20) == (9, 11)   # short source: the target is cut
    assert infer_seqlen(9, 9, 9) == (5, 4)      # both cut, in proportion, rounding down the target
    assert infer_seqlen(0, 0, 5) == (0, 0)


# --- converters: what LLaMA-Factory never sees ---------------------------------------------------------

def test_openai_formatting_appends_detailed_thinking_off(qwen3_tokenizer: Any) -> None:
    msgs = [("system", "Be brief."), ("user", "Hi"), ("assistant", "ANS")]
    e = enc(qwen3_tokenizer, msgs, formatting="openai", enable_thinking=None)
    assert e.input_ids == (151644, 8948, 198, 3430, 9814, 624, 67, 10111, 7274, 1007, 151645, 198,
                           151644, 872, 198, 13048, 151645, 198, 151644, 77091, 198,
                           151667, 271, 151668, 271, 11692, 151645, 198)
    assert e.labels == (M,) * 25 + (11692, 151645, 198)
    system = qwen3_tokenizer.decode(e.input_ids[:12])
    assert system == "<|im_start|>system\nBe brief.\ndetailed thinking off<|im_end|>\n"
    assert e.of_kind("prompt")[0].turn == 2


def test_openai_formatting_adds_a_system_prompt_when_there_is_none(qwen3_tokenizer: Any) -> None:
    e = enc(qwen3_tokenizer, hi("ANS"), formatting="openai")
    assert e.input_ids[:9] == (151644, 8948, 198, 67, 10111, 7274, 1007, 151645, 198)
    same = enc(qwen3_tokenizer, hi("ANS"), formatting="sharegpt")
    assert e.input_ids[9:] == same.input_ids


@pytest.mark.parametrize("system, tools, expected", [
    ("S\ndetailed thinking on", None, "<|im_start|>system\nS\ndetailed thinking on<|im_end|>\n"),
    ("S", "[]", "<|im_start|>system\nS\n<|im_end|>\n"),  # tools present (even empty): a bare newline
])
def test_openai_system_rewrite_variants(
    qwen3_tokenizer: Any, system: str, tools: str | None, expected: str,
) -> None:
    e = enc(qwen3_tokenizer, [("system", system), *hi("ANS")], formatting="openai", tools=tools)
    assert qwen3_tokenizer.decode(e.ids(e.segments[0])).startswith(expected)


def test_reasoning_content_is_ignored(qwen3_tokenizer: Any) -> None:
    msgs = [Message("user", "Hi"), Message("assistant", "ANS", {"reasoning_content": "R"})]
    e = enc(qwen3_tokenizer, msgs)
    assert e.input_ids == enc(qwen3_tokenizer, hi("ANS")).input_ids
    assert e.of_kind("empty_think") and not e.of_kind("reasoning")
    assert ignored_reasoning(msgs) == (1,)


def test_openai_tool_calls_replace_the_assistant_content(qwen3_tokenizer: Any) -> None:
    call = {"type": "function", "function": {"name": "f", "arguments": "{\"x\": 1}"}}
    msgs = [Message("user", "Hi"),
            Message("assistant", "<think>\nR\n</think>\n\nlost", {"tool_calls": [call]}),
            Message("tool", "r1"), Message("tool", "r2"), Message("assistant", "ANS")]
    e = enc(qwen3_tokenizer, msgs, formatting="openai", enable_thinking=None)
    text = qwen3_tokenizer.decode(e.input_ids)
    assert "lost" not in text and "R\n" not in text
    assert '<tool_call>\n{"name": "f", "arguments": "{\\"x\\": 1}"}\n</tool_call><|im_end|>' in text
    assert "<tool_response>\nr1\n</tool_response>\n<tool_response>\nr2\n</tool_response>" in text
    assert e.turns == (1, 4)


def test_rows_llamafactory_skips_are_rejected(qwen3_tokenizer: Any) -> None:
    with pytest.raises(LlamaFactoryReject) as info:
        enc(qwen3_tokenizer, [("user", "Hi"), ("system", "late"), ("assistant", "ANS")])
    assert not info.value.fatal
    with pytest.raises(LlamaFactoryReject):
        enc(qwen3_tokenizer, [("user", "Hi"), ("assistant", "ANS"), ("user", "dangling")])
    with pytest.raises(LlamaFactoryReject) as info:
        enc(qwen3_tokenizer, hi("ANS"), tools="not json")
    assert info.value.fatal


def test_user_text_idx_placeholder_is_filled_as_llamafactory_does(qwen3_tokenizer: Any) -> None:
    e = enc(qwen3_tokenizer, [("user", "a {{idx}}"), ("assistant", "ANS")])
    assert qwen3_tokenizer.decode(e.input_ids).startswith("<|im_start|>user\na 0<|im_end|>")


# --- the data file ---------------------------------------------------------------------------------------

def test_trainer_yaml_validates_and_loads() -> None:
    path = trainers_dir() / "llamafactory.yaml"
    located = load_yaml(path.read_text(encoding="utf-8"), str(path))
    assert validate(located, validator("trainer"), str(path)) == []
    model = load_llamafactory()
    assert model.version == "0.9.5" and model.ignore_index == IGNORE_INDEX
    qwen3, nothink = model.template("qwen3"), model.template("qwen3_nothink")
    assert qwen3.reasoning and not nothink.reasoning
    assert qwen3.thought_words == ("<think>\n", "\n</think>\n\n") and qwen3.markers == ("<think>", "</think>")
    assert qwen3.format_user == ("<|im_start|>user\n{{content}}<|im_end|>\n<|im_start|>assistant\n",)
    assert qwen3.stop_words == ("<|im_end|>",) and not qwen3.efficient_eos
    with pytest.raises(KeyError, match="modelled"):
        model.template("llama3")


def test_remove_thought_only_matches_the_exact_form() -> None:
    t = llamafactory_template("qwen3")
    assert remove_thought(t, "<think>\nR\n</think>\n\n\nANS") == "ANS"
    assert remove_thought(t, "<think>R</think>ANS") == "<think>R</think>ANS"
    assert remove_thought(t, "<think>\nR\n</think>\nANS") == "<think>\nR\n</think>\nANS"
    assert remove_thought(t, "pre<think>\nR\n</think>\n\npost") == "prepost"
