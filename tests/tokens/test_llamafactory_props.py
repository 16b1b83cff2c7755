"""Invariants of the LLaMA-Factory trainer model over generated conversations and settings."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from thinklint.model import Message
from thinklint.spec import TrainingSpec
from thinklint.tokens.encoding import IGNORE_INDEX
from thinklint.tokens.lf_templates import llamafactory_template
from thinklint.tokens.llamafactory import encode_llamafactory

pytestmark = pytest.mark.tokens

ANSWERS = ["ANS", "<think>\nR\n</think>\n\nANS", "<think>R</think>ANS", "<think>\n\n</think>\n\nANS",
           " lead", "", "<think>\nunclosed", "x</think>\n\ny", "数学 <think>\n思考\n</think>\n\n答案"]

conversations = st.lists(
    st.tuples(st.sampled_from(["Hi", "What?", "", " two words"]), st.sampled_from(ANSWERS)),
    min_size=1,
    max_size=3,
)
trainings = st.builds(
    TrainingSpec,
    enable_thinking=st.sampled_from([True, False, None]),
    preserve_thinking=st.booleans(),
    mask_history=st.booleans(),
    cutoff_len=st.sampled_from([3, 9, 16, 31, 4096]),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(turns=conversations, training=trainings, template=st.sampled_from(["qwen3", "qwen3_nothink"]))
def test_encoding_invariants(qwen3_tokenizer: Any, turns: list[tuple[str, str]], training: TrainingSpec,
                             template: str) -> None:
    messages = [Message(role, text) for user, answer in turns
                for role, text in (("user", user), ("assistant", answer))]
    e = encode_llamafactory(messages, None, training, llamafactory_template(template), qwen3_tokenizer)
    last = len(messages) - 1

    assert len(e) <= training.cutoff_len
    assert e.labels_match_inputs()
    assert e.truncated == (len(e) < e.full_length)
    assert sum(len(s) for s in e.segments) == len(e)
    for seg in e.of_kind("prompt"):
        assert e.is_masked(seg)  # train_on_prompt is off
    if training.mask_history:
        assert all(seg.turn == last for seg in e.segments if e.supervised_in(seg))
    if template == "qwen3_nothink" and not e.truncated:  # a plain template adds nothing to the data
        assert qwen3_tokenizer.decode(e.input_ids) == "".join(
            f"<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n{answer}<|im_end|>\n"
            for user, answer in turns
        )
    if not e.truncated:
        assert e.ids(e.of_turn(last)[-1])[0] == 151645  # the last turn ends with its own <|im_end|>
        assert e.labels[-2:] == (151645, 198)
    assert all(label == IGNORE_INDEX or label == tok for tok, label in zip(e.input_ids, e.labels))
