"""Every rule's own examples, from its YAML: each bad case must fire, each good case must not."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.rulecases import run_case, run_dryrun_case
from thinklint.catalog import builtin_rules

RULES = builtin_rules()
CASES = [
    pytest.param(code, kind, i, case, id=f"{code}-{kind}{i}")
    for code, rule in RULES.items()
    for kind in ("bad", "good")
    for i, case in enumerate(rule.examples[kind])
]


@pytest.mark.parametrize(("code", "kind", "index", "case"), CASES)
def test_rule_example(code: str, kind: str, index: int, case: dict[str, Any], tmp_path: Path,
                      monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> None:
    monkeypatch.chdir(tmp_path)
    rule = RULES[code]
    if rule.needs_tokenizer:
        pytest.importorskip("transformers")
    if rule.stage == "dryrun":  # only a forward pass can show it: through the tiny test model
        found = run_dryrun_case(code, case, tmp_path, request.getfixturevalue("tiny_model"))
    else:
        found = run_case(code, case, tmp_path, needs_tokenizer=rule.needs_tokenizer)
    if kind == "bad":
        assert found, f"{code} did not fire on its bad example {index}"
        if case.get("expect"):
            assert any(case["expect"] in f.message for f in found), [f.message for f in found]
    else:
        assert not found, f"{code} fired on its good example {index}: {[f.message for f in found]}"


def test_every_rule_has_both_kinds_of_example() -> None:
    for code, rule in RULES.items():
        assert rule.examples["bad"] and rule.examples["good"], code
