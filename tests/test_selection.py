"""Rule selection with ruff's prefix semantics, severities, per-file ignores, options and custom rules."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator, Mapping

import pytest

from tests.util import GOOD, UNCLOSED, invoke, simple_project, write, write_jsonl
from thinklint.app import run_lint
from thinklint.catalog import Rule, builtin_rules
from thinklint.context import Check, Context
from thinklint.model import Finding, Sample, Violation
from thinklint.selection import enabled, select_rules
from thinklint.settings import Settings
from thinklint.spec import RulesSpec, load_spec
from thinklint.yamlsrc import SourceError

BUILTIN = builtin_rules()


def codes(**kw: Any) -> set[str]:
    spec_rules = kw.pop("spec_rules", RulesSpec())
    return {a.rule.code for a in select_rules(BUILTIN, spec_rules, has_tokenizer=False, **kw).rules}


def with_prefix(prefix: str) -> set[str]:
    return {c for c in BUILTIN if c.startswith(prefix)}


# --- prefix semantics -------------------------------------------------------------------------

@pytest.mark.parametrize(("code", "select", "ignore", "expected"), [
    ("THK001", ["THK"], [], True),
    ("THK001", ["THK"], ["THK0"], False),          # longer ignore wins
    ("THK001", ["THK001"], ["THK"], True),         # longer select wins
    ("THK001", ["THK00"], ["THK00"], False),       # a tie goes to ignore
    ("THK001", ["ALL"], [], True),
    ("THK001", ["ALL"], ["ALL"], False),
    ("THK001", ["ALL"], ["THK"], False),
    ("FMT001", ["ALL"], ["THK"], True),
    ("THK001", ["THK", "ALL"], ["THK0"], False),   # the longest select counts, not the first
    ("THK001", ["THK0", "FMT"], ["THK"], True),
    ("THK001", [], [], False),                     # nothing selected
    ("THK001", ["THK001"], ["THK0010"], True),     # an ignore that does not match is no ignore
    ("THK010", ["THK01"], ["THK001"], True),
])
def test_enabled(code: str, select: list[str], ignore: list[str], expected: bool) -> None:
    assert enabled(code, select, ignore) is expected


def test_an_empty_select_means_every_rule() -> None:
    # rules of the dryrun stage (a forward pass) never run under check
    checkable = {c for c, r in BUILTIN.items() if r.stage == "check"}
    token = {c for c in checkable if BUILTIN[c].needs_tokenizer}
    assert token, "the catalogue has token-level rules"
    assert codes() == checkable - token  # without a tokenizer those are skipped, not refused
    assert {a.rule.code for a in select_rules(BUILTIN, RulesSpec(), has_tokenizer=True).rules} == checkable
    assert set(select_rules(BUILTIN, RulesSpec(), has_tokenizer=False).skipped_token_rules) == token


def test_spec_select_and_ignore() -> None:
    got = codes(spec_rules=RulesSpec(select=("THK", "FMT001"), ignore=("THK00",)))
    assert got == (with_prefix("THK") - with_prefix("THK00")) | {"FMT001"}


def test_cli_select_replaces_the_spec_select() -> None:
    got = codes(spec_rules=RulesSpec(select=("THK001",)), cli_select=("FMT",))
    assert got == with_prefix("FMT")


def test_cli_ignore_adds_to_the_spec_ignore() -> None:
    got = codes(spec_rules=RulesSpec(select=("FMT", "THK", "MOD"), ignore=("THK",)), cli_ignore=("FMT",))
    assert got == with_prefix("MOD")


def test_extend_select_adds_to_the_selection() -> None:
    assert codes(spec_rules=RulesSpec(select=("THK001",)), cli_extend=("MOD001",)) == {"THK001", "MOD001"}
    assert codes(spec_rules=RulesSpec(select=("THK001",), extend_select=("FMT00",))) == \
        {"THK001"} | with_prefix("FMT00")
    # extend-select is still a select: a longer ignore beats it
    assert codes(spec_rules=RulesSpec(select=("THK001",), ignore=("MOD00",)), cli_extend=("MOD",)) == \
        {"THK001"} | (with_prefix("MOD") - with_prefix("MOD00"))


@pytest.mark.parametrize("prefix", ["THK9", "XYZ", "MSK9"])
def test_a_select_prefix_that_matches_no_rule_is_an_error(prefix: str) -> None:
    with pytest.raises(SourceError, match=f"'{prefix}' matches no rule"):
        codes(spec_rules=RulesSpec(select=(prefix,)))
    with pytest.raises(SourceError) as err:
        codes(cli_extend=(prefix,))
    assert err.value.path == "--extend-select"


# --- severity ---------------------------------------------------------------------------------

def test_severity_overrides_by_longest_prefix() -> None:
    sel = select_rules(BUILTIN, RulesSpec(select=("THK", "FMT001", "MOD"),
                                          severity={"THK": "info", "THK001": "warning", "MOD00": "error"}),
                       has_tokenizer=False)
    sev = {a.rule.code: a.severity for a in sel.rules}
    assert sev["THK001"] == "warning"
    assert sev["THK002"] == "info"
    assert sev["FMT001"] == BUILTIN["FMT001"].severity == "error"
    assert {sev[c] for c in with_prefix("MOD00")} == {"error"}
    assert BUILTIN["MOD006"].severity == "warning"  # so the MOD00 override above did change something


def test_severity_override_end_to_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    simple_project(tmp_path, [UNCLOSED], "rules:\n  severity: {THK001: warning}\n")
    monkeypatch.chdir(tmp_path)
    result = invoke("check")
    assert result.exit_code == 0  # the only finding is now a warning
    assert "THK001 [warning]" in result.stdout


# --- per-file ignores -------------------------------------------------------------------------

def per_file_project(root: Path) -> None:
    write_jsonl(root / "data" / "new" / "a.jsonl", [UNCLOSED])
    write_jsonl(root / "data" / "legacy" / "b.jsonl", [UNCLOSED, {"messages": "x"}])
    write(root / "thinklint.yaml",
          "version: 1\ndatasets:\n  - {name: d, path: 'data/**/*.jsonl'}\n"
          "rules:\n  per_file_ignores:\n    'data/legacy/*': [THK]\n    '*/new/*.jsonl': [THK001]\n")


def findings(root: Path, **settings: Any) -> list[Finding]:
    result, _, _ = run_lint(load_spec(root / "thinklint.yaml"), Settings(**settings))
    assert not result.internal_errors
    return list(result.findings)


def test_per_file_ignores(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    per_file_project(tmp_path)
    monkeypatch.chdir(tmp_path)
    got = [(f.rule, f.path) for f in findings(tmp_path)]
    assert got == [("FMT004", "data/legacy/b.jsonl")]  # legacy keeps its FMT finding, loses THK


def test_per_file_ignore_globs_are_relative_to_the_spec_not_the_cwd(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    per_file_project(tmp_path)
    (tmp_path / "data" / "new" / "deep").mkdir()
    monkeypatch.chdir(tmp_path / "data" / "new" / "deep")
    got = [(f.rule, f.path) for f in findings(tmp_path)]
    assert got == [("FMT004", "../../legacy/b.jsonl")]


def test_per_file_ignores_apply_to_dataset_level_findings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    non_thinking = {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}
    write_jsonl(tmp_path / "data" / "a.jsonl", [non_thinking])
    spec = ("version: 1\npolicy: {min_thinking_ratio: 0.75}\n"
            "datasets:\n  - {name: d, path: data/*.jsonl, mode: mixed}\n")
    write(tmp_path / "thinklint.yaml", spec)
    monkeypatch.chdir(tmp_path)
    assert "MOD006" in {f.rule for f in findings(tmp_path)}
    write(tmp_path / "thinklint.yaml", spec + "rules:\n  per_file_ignores: {'data/*': [MOD006]}\n")
    assert "MOD006" not in {f.rule for f in findings(tmp_path)}


# --- options ----------------------------------------------------------------------------------

def _never(sample: Sample, ctx: Context, opts: Mapping[str, Any]) -> Iterator[Violation]:
    return iter(())


OPTIONS_SCHEMA = {"type": "object", "additionalProperties": False,
                  "properties": {"min_ratio": {"type": "number", "minimum": 0, "maximum": 1, "default": 0.5},
                                 "roles": {"type": "array", "items": {"type": "string"}, "default": ["user"]}}}


def fake_rules() -> dict[str, Rule]:
    return {
        "THK950": Rule(code="THK950", name="with-options", category="think-placement", severity="warning",
                       summary="s", check=Check(sample=_never), options_schema=OPTIONS_SCHEMA),
        "MSK001": Rule(code="MSK001", name="token-level", category="mask", severity="error", summary="s",
                       check=Check(sample=_never)),
        "FMT950": Rule(code="FMT950", name="plain", category="format", severity="error", summary="s",
                       check=Check(sample=_never)),
    }


def test_rule_options_default_from_the_rule_schema() -> None:
    sel = select_rules(fake_rules(), RulesSpec(select=("THK950",)), has_tokenizer=False)
    assert dict(sel.rules[0].options) == {"min_ratio": 0.5, "roles": ["user"]}
    sel = select_rules(fake_rules(), RulesSpec(select=("THK950",), options={"THK950": {"min_ratio": 0.9}}),
                       has_tokenizer=False)
    assert dict(sel.rules[0].options) == {"min_ratio": 0.9, "roles": ["user"]}


@pytest.mark.parametrize(("given", "key", "message"), [
    ({"min_ratio": "high"}, "rules.options.THK950.min_ratio", "is not of type 'number'"),
    ({"min_ratio": 2}, "rules.options.THK950.min_ratio", "greater than the maximum"),
    ({"roles": [1]}, "rules.options.THK950.roles.0", "is not of type 'string'"),
    ({"colour": "red"}, "rules.options.THK950", "Additional properties are not allowed"),
])
def test_rule_options_are_validated_against_the_rule_schema(given: dict[str, Any], key: str, message: str) -> None:
    with pytest.raises(SourceError) as err:
        select_rules(fake_rules(), RulesSpec(options={"THK950": given}), has_tokenizer=False)
    assert err.value.key == key
    assert message in err.value.message


def test_options_are_validated_even_for_an_ignored_rule() -> None:
    with pytest.raises(SourceError, match="is not of type 'number'"):
        select_rules(fake_rules(), RulesSpec(ignore=("THK950",), options={"THK950": {"min_ratio": "x"}}),
                     has_tokenizer=False)


def test_options_for_a_rule_without_options_or_no_rule_at_all() -> None:
    with pytest.raises(SourceError, match="FMT950 takes no options"):
        select_rules(fake_rules(), RulesSpec(options={"FMT950": {"x": 1}}), has_tokenizer=False)
    with pytest.raises(SourceError, match="no rule FMT951"):
        select_rules(fake_rules(), RulesSpec(options={"FMT951": {}}), has_tokenizer=False)
    # an empty table for a rule without options is harmless
    select_rules(fake_rules(), RulesSpec(options={"FMT950": {}}), has_tokenizer=False)


# --- token-level rules ------------------------------------------------------------------------

def test_selecting_only_token_rules_without_a_tokenizer_is_an_error() -> None:
    with pytest.raises(SourceError) as err:
        select_rules(fake_rules(), RulesSpec(select=("MSK",)), has_tokenizer=False, source="thinklint.yaml")
    assert (err.value.path, err.value.key) == ("thinklint.yaml", "rules.select")
    assert err.value.message == "MSK needs a tokenizer, but model.tokenizer is not set"
    with pytest.raises(SourceError, match="needs a tokenizer"):
        select_rules(fake_rules(), RulesSpec(), has_tokenizer=False, cli_select=("MSK001",))


def test_token_rules_are_skipped_not_refused_under_a_broad_selection() -> None:
    sel = select_rules(fake_rules(), RulesSpec(), has_tokenizer=False)
    assert {a.rule.code for a in sel.rules} == {"THK950", "FMT950"}
    assert sel.skipped_token_rules == ("MSK001",)
    assert not sel.needs_tokenizer
    sel = select_rules(fake_rules(), RulesSpec(select=("MSK",)), has_tokenizer=True)
    assert [a.rule.code for a in sel.rules] == ["MSK001"] and sel.needs_tokenizer


# --- custom pattern rules ---------------------------------------------------------------------

def custom(code: str, pattern: str, severity: str = "warning") -> str:
    return (f"    - code: {code}\n      name: custom-{code.lower()}\n      severity: {severity}\n"
            f"      summary: a custom rule\n      pattern: {pattern}\n")


def test_custom_rules_fire(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    samples = [
        GOOD,
        {"messages": [{"role": "system", "content": "You are ChatGPT."}, {"role": "user", "content": "hi"},
                      {"role": "assistant", "content": "<think>\nAs an AI language model I\n</think>\n\nHello"}]},
        {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "no block"}]},
        {"messages": [{"role": "user", "content": "q"},
                      {"role": "assistant", "content": "<think>\n\n</think>\n\nA", "reasoning_content": "As an AI"}]},
    ]
    spec = ("rules:\n  select: [FMT9, THK9, MOD9]\n  custom:\n"
            + custom("FMT901", "{roles: [system], contains: [ChatGPT], message: 'turn {turn}: {match} in a {role} prompt'}")
            + custom("THK901", "{roles: [assistant], field: reasoning, regex: 'as an ai', ignore_case: true, "
                               "message: 'boilerplate in reasoning of turn {turn}'}", "error")
            + custom("MOD901", "{roles: [assistant], turns: last, regex: '^{open}', negate: true, "
                               "message: 'last turn {turn} does not open with a block'}", "info"))
    simple_project(tmp_path, samples, spec)
    monkeypatch.chdir(tmp_path)
    got = [(f.rule, f.severity, f.line, f.message) for f in findings(tmp_path)]
    assert got == [
        ("FMT901", "warning", 2, "turn 1: ChatGPT in a system prompt"),
        ("THK901", "error", 2, "boilerplate in reasoning of turn 3"),
        ("MOD901", "info", 3, "last turn 2 does not open with a block"),
        ("THK901", "error", 4, "boilerplate in reasoning of turn 2"),  # `reasoning` reads the field too
    ]


def test_custom_rules_are_listed_and_explained_with_the_spec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    simple_project(tmp_path, [GOOD], "rules:\n  custom:\n" + custom("THK901", "{roles: [user], regex: x, message: m}"))
    monkeypatch.chdir(tmp_path)
    result = invoke("check", "--select", "THK901", "--format", "json")
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(("code", "why"), [
    ("THK001", "builtin range"),
    ("MSK901", "token category"),
    ("TPL901", "token category"),
    ("FMT9001", "four digits"),
    ("fmt901", "lower case"),
    ("THK801", "not the 9xx range"),
])
def test_bad_custom_rule_codes_are_spec_errors(code: str, why: str, tmp_path: Path) -> None:
    path = simple_project(tmp_path, [GOOD], "rules:\n  custom:\n" + custom(code, "{roles: [user], regex: x, message: m}"))
    with pytest.raises(SourceError) as err:
        load_spec(path)
    assert (err.value.key, err.value.line) == ("rules.custom[0].code", 6), why
    assert "9xx range" in err.value.message


@pytest.mark.parametrize(("pattern", "key", "message"), [
    ("{roles: [user], regex: '(', message: m}", "pattern.regex", "invalid regular expression"),
    ("{roles: [user], regex: x, message: 'see {sample}'}", "pattern.message", "unknown placeholder {sample}"),
    ("{roles: [user], regex: x, message: 'a {0} b'}", "pattern.message", "{role}, {turn} and {match}"),
    ("{roles: [user], regex: x, message: 'a { b'}", "pattern.message", "{role}, {turn} and {match}"),
])
def test_custom_rule_that_would_crash_is_a_spec_error(pattern: str, key: str, message: str, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    simple_project(tmp_path, [GOOD], "rules:\n  custom:\n" + custom("THK901", pattern))
    monkeypatch.chdir(tmp_path)
    result = invoke("check")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"thinklint: error: thinklint.yaml:10: rules.custom[0].{key}: "), result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_custom_rule_needs_exactly_one_of_regex_and_contains(tmp_path: Path) -> None:
    path = simple_project(tmp_path, [GOOD], "rules:\n  custom:\n"
                          + custom("THK901", "{roles: [user], regex: x, contains: [y], message: m}"))
    with pytest.raises(SourceError) as err:
        load_spec(path)
    assert err.value.key == "rules.custom[0].pattern"


def test_two_custom_rules_with_one_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pattern = "{roles: [user], regex: x, message: m}"
    simple_project(tmp_path, [GOOD], "rules:\n  custom:\n" + custom("THK901", pattern) + custom("THK901", pattern))
    monkeypatch.chdir(tmp_path)
    result = invoke("check")
    assert result.exit_code == 2
    assert "rules.custom[1].code: THK901 is declared twice" in result.stderr
