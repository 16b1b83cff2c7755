"""Every fixable rule's own before/after examples, from its YAML (`fixed`), through `check --fix`.

A bad case with `fixed` must offer a fix of the declared safety, `--fix` must turn the sample
into `fixed` (key order included), the fixed file must pass the rule, and a second `--fix` must
change nothing. A bad case without `fixed` must offer no fix, and a rule declared `never` offers
none anywhere.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.rulecases import fix_in_place, run_case, run_fix_case
from thinklint.catalog import builtin_rules

RULES = builtin_rules()
BAD = [
    pytest.param(code, i, case, id=f"{code}-bad{i}")
    for code, rule in RULES.items()
    for i, case in enumerate(rule.examples["bad"])
    if not rule.needs_tokenizer
]


def _keys(value: Any) -> Any:
    """The key order of every object in a JSON value (dict equality ignores it; the file does not)."""
    if isinstance(value, dict):
        return [(k, _keys(v)) for k, v in value.items()]
    if isinstance(value, list):
        return [_keys(v) for v in value]
    return None


@pytest.mark.parametrize(("code", "index", "case"), BAD)
def test_bad_example_fix(code: str, index: int, case: dict[str, Any], tmp_path: Path,
                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    rule = RULES[code]
    fixes = [f.fix for f in run_case(code, case, tmp_path) if f.fix is not None]
    if rule.fixable == "never" or "fixed" not in case:
        assert not fixes, f"{code} bad example {index} offers a fix but declares none: {fixes}"
        return
    assert "sample" in case, "`fixed` is for sample cases"
    assert fixes, f"{code} offers no fix on bad example {index}"
    safety = case.get("fix_safety", rule.fixable)
    assert all(fx.safe == (safety == "safe") for fx in fixes), [(fx.description, fx.safe) for fx in fixes]

    first = run_fix_case(code, case, tmp_path)
    assert first.after != first.before
    assert first.sample == case["fixed"]
    assert _keys(first.sample) == _keys(case["fixed"])
    assert not run_case(code, {**case, "sample": first.sample}, tmp_path), f"{code} still fires after --fix"

    again = fix_in_place(tmp_path / "thinklint.yaml", tmp_path / "data.jsonl")
    assert again.after == first.after, "--fix is not idempotent"


def test_unsafe_fixes_need_the_flag(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    case = next(c for c in RULES["THK007"].examples["bad"] if c.get("fix_safety") == "unsafe")
    safe_only = run_fix_case("THK007", case, tmp_path, unsafe=False)
    assert safe_only.after == safe_only.before
    assert "1 hidden fix can be enabled with the --unsafe-fixes option" in safe_only.out


@pytest.mark.parametrize("code", sorted(RULES))
def test_fixable_declaration(code: str) -> None:
    rule = RULES[code]
    fixed = [c for c in rule.examples["bad"] if "fixed" in c]
    if rule.fixable == "never":
        assert not fixed, f"{code} declares no fix but has `fixed` examples"
        assert not rule.docs.get("fix_safety")
    else:
        assert fixed, f"{code} declares a fix but no bad example shows it (`fixed`)"
        assert rule.docs.get("fix_safety"), f"{code}: docs.fix_safety says what the fix does and why it is {rule.fixable}"
        assert not rule.needs_tokenizer, "fixes are applied with the structural rules only"
        if rule.fixable == "unsafe":
            assert all(c.get("fix_safety", "unsafe") == "unsafe" for c in fixed)
        else:
            assert any(c.get("fix_safety", "safe") == "safe" for c in fixed)
