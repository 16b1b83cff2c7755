"""The command line, in-process through click's CliRunner and for real in a subprocess."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from tests.util import GOOD, ROOT, UNCLOSED, invoke, run_cli, simple_project, write, write_jsonl
from thinklint import __version__
from thinklint.catalog import builtin_rules
from thinklint.cli import main
from thinklint.resources import profiles_dir, rules_dir

NON_CANONICAL = {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "<think>R</think>A"}]}


@pytest.fixture
def clean(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    simple_project(tmp_path, [GOOD, GOOD])
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def dirty(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    simple_project(tmp_path, [GOOD, UNCLOSED, NON_CANONICAL])
    monkeypatch.chdir(tmp_path)
    return tmp_path


def codes_in(stdout: str) -> list[str]:
    return re.findall(r"^\S+: ([A-Z]{3}\d{3}) \[", stdout, flags=re.MULTILINE)


TOKEN_RULES = sorted(c for c, r in builtin_rules().items() if r.needs_tokenizer and r.stage == "check")
SKIPPED_LINE = (f"Skipped {len(TOKEN_RULES)} token-level rules (MSK, TPL, TRN): set model.tokenizer to run them.\n"
                if TOKEN_RULES else "")


def report(stdout: str) -> str:
    """The text report without the closing note on token-level rules (these specs set no tokenizer)."""
    assert stdout.endswith(SKIPPED_LINE), stdout
    return stdout[:len(stdout) - len(SKIPPED_LINE)]


# --- exit codes -------------------------------------------------------------------------------

def test_clean_dataset_exits_0(clean: Path) -> None:
    result = invoke("check")
    assert result.exit_code == 0
    assert result.stdout == "All checks passed in 2 samples (1 file).\n" + SKIPPED_LINE
    assert result.stderr == ""


def test_token_rules_are_named_as_skipped_without_a_tokenizer(clean: Path) -> None:
    assert TOKEN_RULES  # MSK, TPL and TRN rules exist
    assert invoke("check").stdout.endswith(SKIPPED_LINE)
    assert SKIPPED_LINE not in invoke("check", "--select", "THK").stdout  # none selected, none skipped


def test_an_error_finding_exits_1(dirty: Path) -> None:
    result = invoke("check")
    assert result.exit_code == 1
    assert codes_in(result.stdout) == ["THK001", "THK008"]
    assert report(result.stdout).endswith("Found 1 error, 1 warning in 3 samples (1 file).\n"
                                          "[*] 1 fixable with the --fix option.\n")


def test_warnings_alone_exit_0(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    simple_project(tmp_path, [GOOD, NON_CANONICAL])
    monkeypatch.chdir(tmp_path)
    result = invoke("check")
    assert result.exit_code == 0
    assert codes_in(result.stdout) == ["THK008"]


def test_exit_zero(dirty: Path) -> None:
    result = invoke("check", "--exit-zero")
    assert result.exit_code == 0
    assert "THK001" in result.stdout


@pytest.mark.parametrize(("spec", "message"), [
    ("version: 1\ndatasets: [{name: a, path: x}]\nbogus: 1\n", "thinklint.yaml:3: bogus: unknown key"),
    ("version: 1\ndatasets: [{name: a, path: x}\n", "thinklint.yaml:3: invalid YAML"),
])
def test_a_bad_spec_exits_2_without_a_traceback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spec: str,
                                                message: str) -> None:
    write(tmp_path / "thinklint.yaml", spec)
    monkeypatch.chdir(tmp_path)
    result = invoke("check")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith(f"thinklint: error: {message}")
    assert "Traceback" not in result.stderr


def test_no_spec_exits_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke("check", "--config", str(tmp_path / "missing.yaml"))
    assert result.exit_code == 2
    assert "spec file not found" in result.stderr


def test_an_internal_error_is_exit_2_with_a_short_message(dirty: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("thinklint.cli.run_check", boom)
    result = CliRunner().invoke(main, ["check"])
    assert result.exit_code == 2
    assert result.stderr == ("thinklint: error: internal error: RuntimeError('boom') "
                             "(run with --verbose for a traceback)\n")
    verbose = CliRunner().invoke(main, ["--verbose", "check"])
    assert isinstance(verbose.exception, RuntimeError)  # --verbose lets the traceback through


def test_a_crashing_rule_is_reported_and_the_run_goes_on(dirty: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("thinklint.checks.think.turn_parse", boom)
    result = invoke("check", "--select", "THK001,FMT")
    assert result.exit_code == 2
    first = result.stderr.splitlines()[0]
    assert first == "thinklint: internal error: rule THK001 failed on data/a.jsonl:1: RuntimeError('boom')"
    assert "Traceback" not in result.stderr
    assert "All checks passed in 3 samples" in result.stdout  # the report is still written
    verbose = invoke("--verbose", "check", "--select", "THK001")
    assert "Traceback" in verbose.stderr


# --- PATHS ------------------------------------------------------------------------------------

@pytest.fixture
def two_datasets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    write_jsonl(tmp_path / "data" / "math" / "a.jsonl", [UNCLOSED])
    write_jsonl(tmp_path / "data" / "math" / "b.jsonl", [GOOD, GOOD])
    write_jsonl(tmp_path / "data" / "chat" / "c.jsonl", [UNCLOSED, UNCLOSED, GOOD])
    write_jsonl(tmp_path / "stray.jsonl", [UNCLOSED])
    write(tmp_path / "thinklint.yaml", "version: 1\ndatasets:\n  - {name: math, path: data/math/*.jsonl}\n"
                                       "  - {name: chat, path: data/chat/*.jsonl}\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_paths_narrow_the_run_to_those_files(two_datasets: Path) -> None:
    result = invoke("check", "data/math/b.jsonl", "data/chat/c.jsonl")
    assert result.exit_code == 1
    assert [ln.split(":")[0] for ln in result.stdout.splitlines() if "THK001" in ln and ".jsonl:" in ln] == \
        ["data/chat/c.jsonl", "data/chat/c.jsonl"]
    assert "in 5 samples (2 files)" in result.stdout


def test_paths_outside_every_dataset_are_ignored(two_datasets: Path) -> None:
    result = invoke("check", "stray.jsonl", "README.md", "data/math/b.jsonl")
    assert result.exit_code == 0, result.stdout
    assert report(result.stdout) == "All checks passed in 2 samples (1 file).\n"
    nothing = invoke("check", "stray.jsonl")
    assert nothing.exit_code == 0
    assert report(nothing.stdout) == "All checks passed in 0 samples (0 files).\n"  # and no FMT010 for the others


def test_a_folder_as_path_means_the_dataset_files_below_it(two_datasets: Path) -> None:
    result = invoke("check", "data/math")
    assert result.exit_code == 1
    assert "in 3 samples (2 files)" in result.stdout
    assert "data/chat" not in result.stdout


def test_paths_are_taken_relative_to_the_working_directory(two_datasets: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(two_datasets / "data")
    result = invoke("check", "math/a.jsonl")
    assert result.exit_code == 1
    assert result.stdout.startswith("math/a.jsonl:1: THK001 [error]")


# --- selection flags --------------------------------------------------------------------------

def test_select_ignore_extend_select(dirty: Path) -> None:
    assert codes_in(invoke("check", "--select", "THK008").stdout) == ["THK008"]
    assert codes_in(invoke("check", "--select", "thk001, thk008").stdout) == ["THK001", "THK008"]
    assert codes_in(invoke("check", "--ignore", "THK001").stdout) == ["THK008"]
    assert codes_in(invoke("check", "--select", "FMT", "--extend-select", "THK008").stdout) == ["THK008"]
    ignored = invoke("check", "--ignore", "THK")
    assert ignored.exit_code == 0 and codes_in(ignored.stdout) == []


def test_cli_select_replaces_the_spec_select(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    simple_project(tmp_path, [UNCLOSED, NON_CANONICAL], "rules:\n  select: [THK001]\n")
    monkeypatch.chdir(tmp_path)
    assert codes_in(invoke("check").stdout) == ["THK001"]
    assert codes_in(invoke("check", "--select", "THK008").stdout) == ["THK008"]
    assert codes_in(invoke("check", "--extend-select", "THK008").stdout) == ["THK001", "THK008"]


def test_a_select_flag_matching_no_rule(dirty: Path) -> None:
    result = invoke("check", "--select", "ZZZ")
    assert result.exit_code == 2
    assert result.stderr == "thinklint: error: --select: 'ZZZ' matches no rule\n"


@pytest.mark.parametrize("flag", ["--ignore", "--select"])
def test_a_flag_naming_no_rule_or_none_at_all(dirty: Path, flag: str) -> None:
    result = invoke("check", flag, "THK001,ZZZ")
    assert result.exit_code == 2
    assert result.stderr == f"thinklint: error: {flag}: 'ZZZ' matches no rule\n"
    if flag == "--select":  # nothing selected would run nothing, and report that all checks passed
        result = invoke("check", "--select", " , ")
        assert result.exit_code == 2
        assert result.stderr.startswith("thinklint: error: --select: no rule code given")


def test_cache_clean_with_a_spec_that_is_not_there(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".thinklint_cache").mkdir()  # the working folder's cache is not the missing spec's
    result = invoke("cache", "clean", "--config", "nope.yaml")
    assert result.exit_code == 2
    assert result.stderr == "thinklint: error: nope.yaml: spec file not found\n"
    assert (tmp_path / ".thinklint_cache").is_dir()


# --- output -----------------------------------------------------------------------------------

def test_statistics(dirty: Path) -> None:
    result = invoke("check", "--statistics")
    assert result.exit_code == 1
    assert report(result.stdout).splitlines() == [
        "1  THK001  unclosed-think",
        "1  THK008  non-canonical-think",
        "Found 1 error, 1 warning in 3 samples (1 file).",
        "[*] 1 fixable with the --fix option.",
    ]


def test_format_json(dirty: Path) -> None:
    result = invoke("check", "--format", "json")
    assert result.exit_code == 1
    payload = json.loads(result.stdout)
    assert [(f["rule"], f["line"], f["sample"]) for f in payload["findings"]] == [("THK001", 2, 1), ("THK008", 3, 2)]
    assert payload["summary"] == {"files": 1, "samples": 3, "errors": 1, "warnings": 1,
                                  "by_rule": {"THK001": 1, "THK008": 1}}


def test_output_file(dirty: Path) -> None:
    result = invoke("check", "--format", "json", "-o", "out/report.json")
    assert result.exit_code == 1
    assert result.stdout == ""
    payload = json.loads((dirty / "out" / "report.json").read_text())
    assert payload["summary"]["errors"] == 1
    assert [p.name for p in (dirty / "out").iterdir()] == ["report.json"]  # no temporary file left


def test_output_file_is_written_atomically(dirty: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (dirty / "report.txt").write_text("previous report\n")

    def fail(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    result = CliRunner().invoke(main, ["check", "-o", "report.txt"])
    assert result.exit_code == 2
    assert "disk full" in result.stderr
    assert (dirty / "report.txt").read_text() == "previous report\n"
    # no temporary file left behind (the incremental cache's own folder is expected, as ruff's)
    assert sorted(p.name for p in dirty.iterdir() if p.name != ".thinklint_cache") == [
        "data", "report.txt", "thinklint.yaml"]


def test_output_file_has_no_colour(dirty: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert "\x1b[" in invoke("check").stdout
    invoke("check", "-o", "report.txt")
    assert "\x1b[" not in (dirty / "report.txt").read_text()


def test_no_color_wins_over_force_color(dirty: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.setenv("NO_COLOR", "1")
    assert "\x1b[" not in invoke("check").stdout


# --- rule, rules, profiles, version -----------------------------------------------------------

def test_rule_prints_ruff_style_sections() -> None:
    result = invoke("rule", "THK001")
    assert result.exit_code == 0
    out = result.stdout
    assert out.startswith("# unclosed-think (THK001)\n")
    headings = re.findall(r"^## (.+)$", out, flags=re.MULTILINE)
    assert headings == ["What it does", "Why is this bad?", "Example", "Use instead"]
    assert "Category: think-placement · Default severity: error" in out
    assert invoke("rule", "thk001").stdout == out
    assert invoke("rule", "unclosed-think").stdout == out


def test_rule_unknown_exits_2() -> None:
    result = invoke("rule", "nope")
    assert result.exit_code == 2
    assert result.stderr == "thinklint: error: unknown rule 'nope'; `thinklint rules` lists them\n"


def test_rules_lists_every_yaml_rule() -> None:
    declared = {yaml.safe_load(p.read_text(encoding="utf-8"))["code"] for p in rules_dir().glob("*.yaml")}
    assert len(declared) >= 30
    result = invoke("rules")
    assert result.exit_code == 0
    listed = [ln.split()[0] for ln in result.stdout.splitlines()]
    assert listed == sorted(declared)
    as_json = json.loads(invoke("rules", "--format", "json").stdout)
    assert [r["code"] for r in as_json] == sorted(declared)
    assert set(as_json[0]) == {"code", "name", "category", "severity", "fixable", "stage", "summary"}


def test_profiles_lists_every_profile() -> None:
    declared = {yaml.safe_load(p.read_text(encoding="utf-8"))["name"] for p in profiles_dir().glob("*.yaml")}
    result = invoke("profiles")
    assert result.exit_code == 0
    assert {ln.split()[0] for ln in result.stdout.splitlines()} == declared
    assert "qwen3" in declared


def test_version() -> None:
    result = invoke("--version")
    assert result.exit_code == 0
    assert result.stdout == f"thinklint, version {__version__}\n"


# --- a real process ---------------------------------------------------------------------------

def test_subprocess_exit_codes_and_streams(tmp_path: Path) -> None:
    simple_project(tmp_path / "clean", [GOOD])
    simple_project(tmp_path / "dirty", [UNCLOSED])
    write(tmp_path / "bad" / "thinklint.yaml", "version: 1\ndatasets: [{name: a, path: x}]\ntraining: {foo: 1}\n")
    (tmp_path / "none").mkdir()

    ok = run_cli("check", cwd=tmp_path / "clean")
    assert (ok.returncode, report(ok.stdout), ok.stderr) == (0, "All checks passed in 1 sample (1 file).\n", "")

    found = run_cli("check", cwd=tmp_path / "dirty")
    assert found.returncode == 1
    assert found.stdout.startswith("data/a.jsonl:1: THK001 [error]")
    assert "\x1b[" not in found.stdout  # not a terminal: no colour

    zero = run_cli("check", "--exit-zero", "--format", "json", cwd=tmp_path / "dirty")
    assert zero.returncode == 0
    assert json.loads(zero.stdout)["summary"]["errors"] == 1

    bad = run_cli("check", cwd=tmp_path / "bad")
    assert bad.returncode == 2
    assert bad.stdout == ""
    assert bad.stderr == ("thinklint: error: thinklint.yaml:3: training.foo: unknown key (expected one of: "
                          "cutoff_len, enable_thinking, framework, mask_history, preserve_thinking, "
                          "template, train_on_prompt)\n")

    missing = run_cli("check", "--config", "nope.yaml", cwd=tmp_path / "none")
    assert missing.returncode == 2
    assert "Traceback" not in missing.stderr and "spec file not found" in missing.stderr

    version = run_cli("--version", cwd=tmp_path)
    assert (version.returncode, version.stdout) == (0, f"thinklint, version {__version__}\n")


def test_the_tests_run_this_checkout_in_process_and_in_subprocesses(tmp_path: Path) -> None:
    # an installed thinklint (an editable install of another worktree) must not shadow this one
    import subprocess
    import sys

    import thinklint

    assert Path(thinklint.__file__).resolve().parent == ROOT / "thinklint"
    probe = subprocess.run([sys.executable, "-c", "import thinklint; print(thinklint.__file__)"], cwd=tmp_path,
                           env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, check=True)
    assert Path(probe.stdout.strip()).resolve().parent == ROOT / "thinklint"
