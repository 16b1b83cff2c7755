"""--fix settles for every family and both trainers: after it no finding offers a fix, a second
run changes nothing, and nothing is refused (a fix the writer refuses, or that does not settle)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from thinklint.app import run_check, run_lint
from thinklint.profiles import builtin_profiles
from thinklint.settings import Settings
from thinklint.spec import load_spec

Q = {"role": "user", "content": "2+2?"}


def _turn(**message: str) -> dict[str, Any]:
    return {"messages": [Q, {"role": "assistant", **message}]}


SAMPLES = [
    _turn(content="<think>add</think>4"),
    _turn(content="<think>\n\nadd\n\n</think>\n\n\n4"),
    _turn(content="<Think>add</ think>4"),
    _turn(content="<thinking>add</thinking>4"),
    _turn(thinking="add", content="4"),
    _turn(reasoning_content="add", content="4"),
    _turn(reasoning="add", content="4"),
    _turn(reasoning_content="<think>add</think>", content="4"),
    _turn(reasoning_content="add", content="<think>add</think>4"),
    _turn(reasoning_content="add", content="<think>\nadd\n</think>\n\n4"),
    _turn(content="<seed:think>add</seed:think>4"),
    _turn(content="Here are my reasoning steps:\nadd\n[Begin Final Response]\n4"),
    {"messages": [{"role": "user", "content": "2+2? /no_think"},
                  {"role": "assistant", "content": "<think>\nadd\n</think>\n\n4"}]},
    {"messages": [{"role": "system", "content": "/no_think"}, Q,
                  {"role": "assistant", "reasoning_content": "add", "content": "4"}]},
    {"messages": [{"role": "user", "content": "2+2? /think"},
                  {"role": "assistant", "content": "<think>\n\n</think>\n\n4"}]},
]


@pytest.mark.parametrize("framework", ["llamafactory", "chat_template"])
@pytest.mark.parametrize("profile", sorted(builtin_profiles()))
def test_fixes_settle(profile: str, framework: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    prefer = "switch" if framework == "llamafactory" else "sample"
    spec = tmp_path / "thinklint.yaml"
    spec.write_text(f"version: 1\nmodel: {{profile: {profile}}}\ntraining: {{framework: {framework}}}\n"
                    "datasets:\n  - {name: d, path: data.jsonl}\n"
                    f"rules:\n  options:\n    MOD002: {{prefer: {prefer}}}\n    MOD003: {{prefer: sample}}\n",
                    encoding="utf-8")
    data = tmp_path / "data.jsonl"
    data.write_text("".join(json.dumps(s) + "\n" for s in SAMPLES), encoding="utf-8")
    settings = Settings(config=spec, fix=True, unsafe_fixes=True)
    err = io.StringIO()
    run_check(settings, io.StringIO(), err)
    assert err.getvalue() == ""
    once = data.read_bytes()
    run_check(settings, io.StringIO(), io.StringIO())
    assert data.read_bytes() == once
    result, _, _ = run_lint(load_spec(spec), Settings())
    assert [(f.rule, f.line) for f in result.findings if f.fix is not None] == []
