"""check --fix / --unsafe-fixes / --diff on the command line: ruff's flags, messages and exit codes."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.util import invoke, run_cli, write

Q = {"role": "user", "content": "2+2?"}
OK = {"messages": [Q, {"role": "assistant", "content": "<think>\nadd\n</think>\n\n4"}]}
SPACING = {"messages": [Q, {"role": "assistant", "content": "<think>add</think>4"}]}  # THK008, safe
THINKING_TAG = {"messages": [Q, {"role": "assistant", "content": "<thinking>\nadd\n</thinking>\n\n4"}]}  # unsafe
UNCLOSED = {"messages": [Q, {"role": "assistant", "content": "<think>\nadd\n4"}]}  # THK001, no fix

SPEC = "version: 1\nmodel: {profile: qwen3}\ntraining: {framework: chat_template}\n"


def project(root: Path, records: list[Any], extra: str = "", crlf: bool = False) -> Path:
    end = "\r\n" if crlf else "\n"
    data = root / "data" / "a.jsonl"
    data.parent.mkdir(parents=True, exist_ok=True)
    data.write_bytes("".join(json.dumps(r) + end for r in records).encode())
    write(root / "thinklint.yaml", SPEC + "datasets:\n  - {name: main, path: data/*.jsonl}\n" + extra)
    return data


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_diff_prints_a_unified_diff_writes_nothing_and_exits_1(here: Path) -> None:
    data = project(here, [OK, SPACING, OK])
    before = data.read_bytes()
    result = invoke("check", "--diff")
    assert result.exit_code == 1
    assert data.read_bytes() == before
    assert result.stdout.splitlines()[:4] == ["--- data/a.jsonl", "+++ data/a.jsonl", "@@ -1,3 +1,3 @@",
                                              " " + json.dumps(OK)]
    assert "-" + json.dumps(SPACING) in result.stdout
    assert result.stderr == "Would fix 1 finding.\n"


def test_diff_exits_0_when_there_is_nothing_to_fix(here: Path) -> None:
    project(here, [OK, UNCLOSED])
    result = invoke("check", "--diff")
    assert result.exit_code == 0  # as ruff's --diff: leftover findings do not count
    assert result.stdout == ""
    assert result.stderr == "No fixes to apply.\n"


def test_diff_counts_hidden_unsafe_fixes(here: Path) -> None:
    project(here, [THINKING_TAG])
    result = invoke("check", "--diff")
    assert result.exit_code == 0 and result.stdout == ""
    assert result.stderr == "No fixes to apply (1 more fix with --unsafe-fixes).\n"
    unsafe = invoke("check", "--diff", "--unsafe-fixes")
    assert unsafe.exit_code == 1 and "+" + json.dumps(OK) in unsafe.stdout


@pytest.mark.skipif(shutil.which("patch") is None, reason="needs patch(1)")
@pytest.mark.parametrize("crlf", [False, True])
def test_the_diff_applies_with_patch_to_what_fix_writes(here: Path, crlf: bool) -> None:
    data = project(here, [SPACING] + [OK] * 9 + [SPACING, OK], crlf=crlf)
    copy = here / "copy.jsonl"
    shutil.copy(data, copy)
    diff = invoke("check", "--diff").stdout_bytes  # .stdout would turn the CRLF lines into LF ones
    subprocess.run(["patch", "-s", str(copy)], input=diff, check=True)
    invoke("check", "--fix")
    assert copy.read_bytes() == data.read_bytes()


def test_fix_reports_what_remains_and_exits_on_it(here: Path) -> None:
    data = project(here, [SPACING, UNCLOSED, THINKING_TAG])
    result = invoke("check", "--fix")
    assert result.exit_code == 1
    lines = data.read_text().splitlines()
    assert json.loads(lines[0]) == OK and json.loads(lines[2]) == THINKING_TAG
    out = result.stdout
    assert "THK008" not in out and "THK001" in out and "THK007" in out
    assert "Fixed 1 finding (2 remaining); 1 hidden fix can be enabled with the --unsafe-fixes option." in out
    again = invoke("check", "--fix", "--unsafe-fixes")
    assert json.loads(data.read_text().splitlines()[2]) == OK
    assert "Fixed 1 finding (1 remaining)." in again.stdout


def test_fixes_that_take_two_rounds(here: Path) -> None:
    data = project(here, [{"messages": [Q, {"role": "assistant", "content": "<Think>add</think>4"}]}])
    result = invoke("check", "--fix")
    assert json.loads(data.read_text()) == OK  # THK007 first, then THK008 on what it wrote
    assert "Fixed 2 findings (0 remaining)." in result.stdout and result.exit_code == 0


def test_two_rules_with_the_same_repair_apply_it_once(here: Path) -> None:
    data = project(here, [{"messages": [Q, {"role": "assistant", "thinking": "add", "content": "4"}]}])
    write(here / "thinklint.yaml", "version: 1\nmodel: {profile: qwen3}\ntraining: {framework: llamafactory}\n"
          "datasets:\n  - {name: main, path: data/*.jsonl}\n")
    result = invoke("check", "--fix")
    assert json.loads(data.read_text()) == OK  # THK009 and MOD008 both say: inline, for LLaMA-Factory
    assert "Fixed 2 findings (0 remaining)." in result.stdout


def test_json_format_keeps_stdout_json(here: Path) -> None:
    project(here, [SPACING])
    result = invoke("check", "--fix", "--format", "json")
    assert json.loads(result.stdout)["findings"] == []
    assert result.stderr == "thinklint: Fixed 1 finding (0 remaining).\n"


def test_baselined_findings_are_not_fixed(here: Path) -> None:
    data = project(here, [SPACING])
    invoke("check", "--write-baseline", "baseline.json")
    before = data.read_bytes()
    result = invoke("check", "--fix", "--baseline", "baseline.json")
    assert data.read_bytes() == before
    assert "Fixed 0 findings (0 remaining)." in result.stdout


def test_a_finding_the_baseline_hides_stays_unfixed_in_later_rounds_too(here: Path) -> None:
    # turns 2 and 4 both non-canonical; the baseline keeps turn 2's: only turn 4 is shown, so only it is fixed
    both = {"messages": [Q, {"role": "assistant", "content": "<think>add</think>4"},
                         Q, {"role": "assistant", "content": "<think>more</think>5"}]}
    from thinklint.app import run_lint
    from thinklint.baseline import write_baseline
    from thinklint.settings import Settings
    from thinklint.spec import load_spec

    data = project(here, [both])
    found = run_lint(load_spec(here / "thinklint.yaml", remember=False), Settings(use_cache=False))[0].findings
    assert write_baseline(here / "baseline.json", [f for f in found if "turn 2" in f.message]) == 1
    result = invoke("check", "--fix", "--baseline", "baseline.json")
    messages = json.loads(data.read_text(encoding="utf-8"))["messages"]
    assert [m["content"] for m in messages[1::2]] == ["<think>add</think>4", "<think>\nmore\n</think>\n\n5"]
    # turn 2's finding is now reported: the fix changed its sample, whose digest the baseline keys it by
    assert "Fixed 1 finding (1 remaining)." in result.stdout


def test_a_symlinked_data_file_is_fixed_through_the_link(here: Path) -> None:
    data = project(here, [SPACING])
    target = here / "elsewhere.jsonl"
    data.rename(target)
    data.symlink_to(target)
    invoke("check", "--fix")
    assert data.is_symlink() and data.resolve() == target.resolve()  # still a link, to the same file
    assert "<think>\\nadd\\n</think>\\n\\n4" in target.read_text(encoding="utf-8")


def test_a_number_json_cannot_write_back_refuses_the_fix(here: Path) -> None:
    # a duplicate key makes the line be written anew; 1e400 was read as inf, and `Infinity` is no JSON
    line = ('{"big": 1e400, "messages": [], "messages": [{"role": "user", "content": "2+2?"}, '
            '{"role": "assistant", "content": "<think>add</think>4"}]}\n')
    data = project(here, [])
    data.write_text(line, encoding="utf-8")
    result = invoke("check", "--fix")
    assert data.read_text(encoding="utf-8") == line
    assert "data/a.jsonl: not fixed: a number in it is too large for a float" in result.stderr


@pytest.mark.parametrize(("extra", "content"), [
    ({"reasoning_content": "<think>add</think>"}, "4"),  # markers in the field: stripped first (THK010)
    ({"reasoning_content": "add"}, "<Think>add</ think>4"),  # a near-miss block in the content: respelt first
])
def test_moving_reasoning_inline_never_nests_or_doubles_a_block(here: Path, extra: dict[str, str], content: str) -> None:
    data = project(here, [{"messages": [Q, {"role": "assistant", **extra, "content": content}]}])
    # LLaMA-Factory reads only the content: the field's reasoning is moved inline (MOD008)
    write(here / "thinklint.yaml", "version: 1\nmodel: {profile: qwen3}\ndatasets:\n  - {name: main, path: data/*.jsonl}\n")
    result = invoke("check", "--fix")
    assert json.loads(data.read_text(encoding="utf-8"))["messages"][1] == {
        "role": "assistant", "content": "<think>\nadd\n</think>\n\n4"}
    assert "(0 remaining)" in result.stdout


def test_paths_narrow_what_is_fixed(here: Path) -> None:
    data = project(here, [SPACING])
    other = here / "data" / "b.jsonl"
    other.write_text(json.dumps(SPACING) + "\n")
    invoke("check", "--fix", "data/b.jsonl")
    assert json.loads(other.read_text()) == OK
    assert json.loads(data.read_text()) == SPACING


def test_a_file_in_two_datasets_is_not_fixed(here: Path) -> None:
    data = project(here, [SPACING], extra="  - {name: again, path: data/a.jsonl}\n")
    before = data.read_bytes()
    result = invoke("check", "--fix")
    assert data.read_bytes() == before
    assert "data/a.jsonl: not fixed: the file belongs to more than one dataset" in result.stderr


def test_rule_command_says_which_fixes(here: Path) -> None:
    safe = invoke("rule", "THK008").stdout
    assert "Fix: safe (applied by --fix)" in safe and "## Fix safety" in safe
    assert "Fix: unsafe (needs --unsafe-fixes)" in invoke("rule", "MOD002").stdout
    assert "Fix: not available" in invoke("rule", "THK001").stdout


def test_fix_in_a_real_process(here: Path) -> None:
    data = project(here, [SPACING, OK])
    result = run_cli("check", "--fix", cwd=here)
    assert result.returncode == 0, result.stderr
    assert [json.loads(line) for line in data.read_text().splitlines()] == [OK, OK]


def test_a_pre_rendered_text_with_many_turns(here: Path) -> None:
    turn = "<|im_start|>user\nq<|im_end|>\n<|im_start|>assistant\n{}<|im_end|>\n"
    data = here / "data" / "a.jsonl"
    data.parent.mkdir()
    data.write_text(json.dumps({"text": "".join(turn.format("<think>R</think>A") for _ in range(12))}) + "\n")
    write(here / "thinklint.yaml", SPEC + "datasets:\n  - {name: main, path: data/*.jsonl, format: text}\n")
    result = invoke("check", "--fix")
    # each turn is spliced into the same text: one repair per round, all of them in the end
    assert json.loads(data.read_text())["text"] == "".join(turn.format("<think>\nR\n</think>\n\nA") for _ in range(12))
    assert "Fixed 12 findings (0 remaining)." in result.stdout
