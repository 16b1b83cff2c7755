"""Reporters: one golden file per format, the JSON contract, SARIF's structure and cap, GitHub's escaping.

The goldens live in tests/snapshots/. After an intended change of output, regenerate them with
`THINKLINT_UPDATE_SNAPSHOTS=1 python -m pytest tests/test_reporters.py`, read the diff, commit it.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.util import GOOD, UNCLOSED, invoke, write, write_jsonl
from thinklint import __version__
from thinklint.app import run_lint
from thinklint.catalog import Rule, builtin_rules
from thinklint.model import Finding, category_of
from thinklint.reporters import Report, render
from thinklint.reporters.github import MAX_ANNOTATIONS, escape_data, escape_property
from thinklint.reporters.sarif import MAX_RESULTS
from thinklint.settings import Settings
from thinklint.spec import load_spec

SNAPSHOTS = Path(__file__).parent / "snapshots"
SARIF_SCHEMA = Path(__file__).parent / "data" / "sarif-2.1.0-github-subset.schema.json"
UPDATE = os.environ.get("THINKLINT_UPDATE_SNAPSHOTS") == "1"

SPEC = """version: 1
datasets:
  - {name: chat, path: data/chat.jsonl}
  - {name: arrays, path: data/array.json}
  - {name: missing, path: data/nothing/*.jsonl}
rules:
  severity: {THK004: warning}
  custom:
    - code: MOD901
      name: sorry-answer
      severity: info
      summary: an answer that apologises
      pattern: {roles: [assistant], regex: "(?i)\\\\bsorry\\\\b", message: "turn {turn} apologises: {match}"}
"""


def report_project(root: Path) -> None:
    """A small dataset with errors, warnings and notes, in JSONL (lines) and a JSON array (no lines)."""
    write(root / "thinklint.yaml", SPEC)
    chat = root / "data" / "chat.jsonl"
    write_jsonl(chat, [
        GOOD,
        UNCLOSED,
        {"messages": [{"role": "user", "content": "hi <think>"},
                      {"role": "assistant", "content": "<think>\nR\n</think>\n\nSorry, no."}]},
        {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "<think>R</think>A"}]},
    ])
    chat.write_text(chat.read_text() + '{"messages": [}\n')
    write(root / "data" / "array.json", json.dumps([
        GOOD,
        {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "R</think>\n\nA"}]},
        {"conversations": []},
    ], indent=1))


def project_report(root: Path, statistics: bool = False) -> Report:
    result, rules, _ = run_lint(load_spec(root / "thinklint.yaml"), Settings())
    assert not result.internal_errors, result.internal_errors
    used = {f.rule for f in result.findings}
    # only the rules that fired: the goldens must not change with every other rule's documentation
    return Report(findings=result.findings, files=result.files, samples=result.samples,
                  rules={c: r for c, r in rules.items() if c in used}, datasets=result.datasets,
                  statistics=statistics, skipped_token_rules=result.skipped_token_rules,
                  cutoff_len=load_spec(root / "thinklint.yaml").training.cutoff_len)


def normalise(text: str) -> str:
    return text.replace(f'"{__version__}"', '"<version>"')


def assert_snapshot(name: str, actual: str) -> None:
    path = SNAPSHOTS / name
    actual = normalise(actual)
    if UPDATE or not path.exists():
        if not UPDATE:
            pytest.fail(f"no golden file {path}; run with THINKLINT_UPDATE_SNAPSHOTS=1 to create it")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
        return
    expected = path.read_text(encoding="utf-8")
    assert actual == expected, (f"{name} differs from its golden file; if the change is intended, rerun with "
                                "THINKLINT_UPDATE_SNAPSHOTS=1 and review the diff")


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    report_project(tmp_path)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_the_snapshot_dataset_covers_every_severity_and_place(project: Path) -> None:
    findings = project_report(project).findings
    assert {f.severity for f in findings} == {"error", "warning", "info"}
    assert any(f.line is not None for f in findings)  # JSONL
    assert any(f.line is None and f.sample is not None for f in findings)  # JSON array element
    assert any(f.line is None and f.sample is None for f in findings)  # dataset-level (no file)


@pytest.mark.parametrize(("fmt", "statistics", "name"), [
    ("text", False, "report.txt"),
    ("text", True, "report-statistics.txt"),
    ("json", False, "report.json"),
    ("sarif", False, "report.sarif"),
    ("github", False, "report.github.txt"),
])
def test_golden(project: Path, fmt: str, statistics: bool, name: str) -> None:
    assert_snapshot(name, render(fmt, project_report(project, statistics)))


def test_text_without_colour_has_no_escapes_and_with_colour_has_them(project: Path) -> None:
    report = project_report(project)
    plain = render("text", report)
    assert "\x1b[" not in plain
    coloured = render("text", Report(**{**report.__dict__, "color": True}))
    assert "\x1b[31mTHK001\x1b[0m" in coloured
    assert re.sub(r"\x1b\[[0-9;]*m", "", coloured) == plain


def test_text_summary_lines() -> None:
    rules = builtin_rules()
    clean = render("text", Report(findings=(), files=1, samples=1, rules=rules))
    assert clean == "All checks passed in 1 sample (1 file).\n"
    skipped = render("text", Report(findings=(), files=2, samples=3, rules=rules, skipped_token_rules=("MSK001",)))
    assert skipped.splitlines() == ["All checks passed in 3 samples (2 files).",
                                    "Skipped 1 token-level rules (MSK, TPL, TRN): set model.tokenizer to run them."]


# --- JSON contract ----------------------------------------------------------------------------

def test_json_matches_the_design_contract(project: Path) -> None:
    payload = json.loads(render("json", project_report(project)))
    assert list(payload) == ["findings", "summary"]
    assert list(payload["summary"]) == ["files", "samples", "errors", "warnings", "by_rule"]
    categories = {"format", "think-placement", "mode", "mask", "template", "truncation"}
    for f in payload["findings"]:
        assert list(f) == ["rule", "category", "severity", "path", "line", "sample", "message"]
        assert f["category"] in categories
        assert f["category"] == category_of(f["rule"])
        assert f["severity"] in ("error", "warning", "info")
        assert f["line"] is None or (isinstance(f["line"], int) and f["line"] >= 1)
        assert f["sample"] is None or (isinstance(f["sample"], int) and f["sample"] >= 0)
        assert not Path(f["path"]).is_absolute()
    s = payload["summary"]
    assert s["errors"] == sum(f["severity"] == "error" for f in payload["findings"])
    assert s["warnings"] == sum(f["severity"] == "warning" for f in payload["findings"])
    assert sum(s["by_rule"].values()) == len(payload["findings"])
    assert (s["files"], s["samples"]) == (2, 8)


def test_json_line_and_sample_follow_the_contract(project: Path) -> None:
    payload = json.loads(render("json", project_report(project)))
    by = {(f["rule"], f["path"]): f for f in payload["findings"]}
    unclosed = by[("THK001", "data/chat.jsonl")]
    assert (unclosed["line"], unclosed["sample"]) == (2, 1)  # 1-based line, 0-based sample
    stray = by[("THK002", "data/array.json")]
    assert (stray["line"], stray["sample"]) == (None, 1)  # no line outside JSONL


# --- SARIF ------------------------------------------------------------------------------------

def sarif_of(report: Report) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(render("sarif", report))
    return data


def validate_sarif(data: dict[str, Any]) -> None:
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    jsonschema.validate(data, schema, format_checker=jsonschema.FormatChecker())
    run = data["runs"][0]
    ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
    for result in run["results"]:
        assert ids[result["ruleIndex"]] == result["ruleId"]  # ruleIndex points at its rule


def test_sarif_validates(project: Path) -> None:
    data = sarif_of(project_report(project))
    validate_sarif(data)
    results = data["runs"][0]["results"]
    levels = {r["ruleId"]: r["level"] for r in results}
    assert levels["THK001"] == "error" and levels["THK008"] == "warning" and levels["MOD901"] == "note"
    assert levels["THK004"] == "warning"  # the spec's severity override reaches the result
    array = next(r for r in results if r["ruleId"] == "THK002")
    assert array["locations"][0]["physicalLocation"]["region"] == {"startLine": 1}
    assert array["locations"][0]["logicalLocations"] == [{"name": "sample 1", "kind": "element"}]


def test_sarif_of_the_real_cli_lists_every_rule(project: Path) -> None:
    result = invoke("check", "--format", "sarif", "--exit-zero")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    validate_sarif(data)
    ids = {r["id"] for r in data["runs"][0]["tool"]["driver"]["rules"]}
    assert set(builtin_rules()) | {"MOD901"} <= ids


def test_the_schema_check_is_not_a_rubber_stamp(project: Path) -> None:
    data = sarif_of(project_report(project))
    broken = json.loads(json.dumps(data))
    broken["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] = 0
    with pytest.raises(jsonschema.ValidationError):
        validate_sarif(broken)
    broken = json.loads(json.dumps(data))
    del broken["runs"][0]["tool"]["driver"]["name"]
    with pytest.raises(jsonschema.ValidationError):
        validate_sarif(broken)


def many_findings(counts: dict[str, tuple[str, int]]) -> tuple[Finding, ...]:
    out = []
    for code, (severity, n) in counts.items():
        for i in range(n):
            out.append(Finding(rule=code, category=category_of(code), severity=severity,  # type: ignore[arg-type]
                               path="data/big.jsonl", line=i + 1, sample=i, message=f"{code} #{i}", digest=f"{i}"))
    return tuple(out)


def test_sarif_caps_results_and_summarises_each_left_out_rule() -> None:
    rules = builtin_rules()
    findings = many_findings({"THK001": ("error", 4990), "THK008": ("warning", 20), "MOD004": ("info", 7)})
    data = sarif_of(Report(findings=findings, files=1, samples=5017, rules=rules))
    validate_sarif(data)
    run = data["runs"][0]
    results = run["results"]
    assert len(results) == MAX_RESULTS  # summaries included: GitHub ignores anything past the cap
    summaries = [r for r in results if "not listed" in r["message"]["text"]]
    assert [r["ruleId"] for r in summaries] == ["MOD004", "THK008"]
    listed = len(results) - len(summaries)
    assert listed == MAX_RESULTS - 2
    assert sum(1 for r in results[:listed] if r["ruleId"] == "THK001") == 4990  # errors come first
    left_out = {r["ruleId"]: int(r["message"]["text"].split()[0]) for r in summaries}
    assert left_out == {"MOD004": 7, "THK008": 20 - (listed - 4990)}
    assert listed + sum(left_out.values()) == len(findings)  # nothing lost without a word
    assert run["properties"] == {"truncated": True, "totalResults": len(findings)}


def test_sarif_under_the_cap_is_not_truncated() -> None:
    findings = many_findings({"THK001": ("error", 10)})
    run = sarif_of(Report(findings=findings, files=1, samples=10, rules=builtin_rules()))["runs"][0]
    assert len(run["results"]) == 10 and "properties" not in run


def test_sarif_fingerprints_are_stable_and_distinct(project: Path) -> None:
    first = sarif_of(project_report(project))["runs"][0]["results"]
    again = sarif_of(project_report(project))["runs"][0]["results"]
    prints = [r["partialFingerprints"]["thinklint/v1"] for r in first]
    assert prints == [r["partialFingerprints"]["thinklint/v1"] for r in again]
    assert len(set(prints)) == len(prints)


# --- GitHub annotations -----------------------------------------------------------------------

def test_github_escaping() -> None:
    assert escape_data("50% done\r\nnext: a, b") == "50%25 done%0D%0Anext: a, b"
    assert escape_property("a:b,c%d\ne") == "a%3Ab%2Cc%25d%0Ae"


def test_github_annotation_escapes_properties_and_message() -> None:
    rule = Rule(code="THK901", name="odd-name", category="think-placement", severity="warning", summary="s",
                check=builtin_rules()["THK001"].check)
    f = Finding(rule="THK901", category="think-placement", severity="warning", path="data/a,b:c%.jsonl", line=3,
                sample=2, message="100% sure:\nline two, really")
    out = render("github", Report(findings=(f,), files=1, samples=3, rules={"THK901": rule}))
    first = out.splitlines()[0]
    assert first == ("::warning file=data/a%2Cb%3Ac%25.jsonl,line=3,title=THK901 odd-name::"
                     "100%25 sure:%0Aline two, really")


def test_github_names_the_sample_when_there_is_no_line() -> None:
    f = Finding(rule="THK001", category="think-placement", severity="error", path="d.json", line=None, sample=4,
                message="m")
    first = render("github", Report(findings=(f,), files=1, samples=5, rules=builtin_rules())).splitlines()[0]
    assert first == "::error file=d.json,title=THK001 unclosed-think::sample 4: m"


def test_github_caps_annotations_errors_first_with_a_summary_notice() -> None:
    findings = many_findings({"MOD004": ("info", 30), "THK001": ("error", 40), "THK008": ("warning", 10)})
    lines = render("github", Report(findings=findings, files=1, samples=80, rules=builtin_rules())).splitlines()
    annotations = [ln for ln in lines if ln.startswith("::") and "title=thinklint::" not in ln]
    assert len(annotations) == MAX_ANNOTATIONS
    assert sum(ln.startswith("::error ") for ln in annotations) == 40
    assert sum(ln.startswith("::warning ") for ln in annotations) == 10
    notice = [ln for ln in lines if ln.startswith("::notice title=thinklint::")]
    assert notice == [("::notice title=thinklint::30 more findings not annotated (first: data/big.jsonl:1); "
                       "run thinklint check locally for all")]
    assert lines[-1] == "thinklint: 40 errors, 10 warnings in 80 samples (1 file)"


def test_an_empty_report_in_every_format() -> None:
    empty = Report(findings=(), files=2, samples=3, rules=builtin_rules())
    assert json.loads(render("json", empty)) == {
        "findings": [], "summary": {"files": 2, "samples": 3, "errors": 0, "warnings": 0, "by_rule": {}}}
    sarif = sarif_of(empty)
    validate_sarif(sarif)
    assert sarif["runs"][0]["results"] == []
    assert render("github", empty) == "thinklint: 0 errors, 0 warnings in 3 samples (2 files)\n"
    assert render("text", empty) == "All checks passed in 3 samples (2 files).\n"
