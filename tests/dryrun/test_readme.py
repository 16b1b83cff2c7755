"""The README's dry run stays true: its command runs, and gives the same samples, segments, token
counts and findings (losses depend on the CPU's float rounding in their last digits: not compared)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from thinklint.cli import main

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _block() -> str:
    match = re.search(r"<!-- dryrun:start -->\n```console\n(.*?)\n```\n<!-- dryrun:end -->", README, re.S)
    assert match, "the README has no dry-run block between <!-- dryrun:start --> and <!-- dryrun:end -->"
    return match.group(1)


def _counts(text: str) -> list[tuple[str, ...]]:
    """Sample headers (location, tokens, supervised), table rows (segment, tokens, supervised), findings."""
    out: list[tuple[str, ...]] = []
    for line in text.splitlines():
        if m := re.match(r"(\S+:\d+)  (\d+) tokens, (\d+) take loss", line):
            out.append(m.groups())
        elif m := re.match(r"  (prompt|empty think|reasoning|answer|end of turn|all) +(\d+) +(\d+) ", line):
            out.append(m.groups())
        elif m := re.match(r"(\S+:\d+): (MSK\d+) \[(\w+)\]", line):
            out.append(m.groups())
        elif line.startswith(("Total:", "Found", "All checks passed")):
            out.append((line,))
    return out


def test_readme_dryrun_is_what_the_command_prints(tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    block = _block()
    command, _, rest = block.partition("\n")
    while command.endswith("\\"):
        more, _, rest = rest.partition("\n")
        command = command[:-1] + more
    printed, _, tail = rest.partition("$ echo $?\n")
    args = shlex.split(command.removeprefix("$ "))
    assert args[:2] == ["thinklint", "dryrun"]
    args[args.index("--model") + 1] = str(tiny_model_dir)
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(main, args[1:] + ["--no-progress"], catch_exceptions=False)
    assert result.exit_code == int(tail.strip())
    assert _counts(result.output) == _counts(printed)
    assert len(_counts(printed)) > 10
