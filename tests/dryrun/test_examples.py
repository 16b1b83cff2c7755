"""The mask rules that a dry run confirms (MSK001, MSK002, MSK005) agree with their static checks on
their own examples: every bad example fires in the forward pass too, no good one does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.rulecases import run_dryrun_case
from thinklint.catalog import builtin_rules

RULES = builtin_rules()
CASES = [
    pytest.param(code, kind, i, case, id=f"{code}-{kind}{i}")
    for code, rule in RULES.items()
    if rule.stage == "check" and rule.check.dryrun is not None
    for kind in ("bad", "good")
    for i, case in enumerate(rule.examples[kind])
]


def test_the_confirmed_rules() -> None:
    assert sorted({str(p.values[0]) for p in CASES}) == ["MSK001", "MSK002", "MSK005"]


@pytest.mark.parametrize(("code", "kind", "index", "case"), CASES)
def test_example_through_dryrun(code: str, kind: str, index: int, case: dict[str, Any], tmp_path: Path,
                                monkeypatch: pytest.MonkeyPatch, tiny_model: Any) -> None:
    monkeypatch.chdir(tmp_path)
    found = run_dryrun_case(code, case, tmp_path, tiny_model)
    if kind == "bad":
        assert found, f"{code} did not fire in the forward pass on its bad example {index}"
    else:
        assert not found, f"{code} fired in the forward pass on its good example {index}: {[f.message for f in found]}"
