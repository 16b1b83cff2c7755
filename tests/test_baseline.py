"""Baselines: known findings are hidden, new ones shown; the file is written atomically."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import pytest

from tests.util import GOOD, UNCLOSED, invoke, simple_project, write_jsonl
from thinklint.baseline import apply_baseline, fingerprint, load_baseline, write_baseline
from thinklint.model import Finding
from thinklint.yamlsrc import SourceError

STRAY = {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "R\n</think>\n\nA"}]}


def lines_of(stdout: str) -> list[str]:
    return [ln for ln in stdout.splitlines() if ": THK" in ln or ": FMT" in ln or ": MOD" in ln]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    simple_project(tmp_path, [GOOD, UNCLOSED, GOOD])
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_write_then_apply_hides_known_findings(project: Path) -> None:
    first = invoke("check", "--write-baseline", "baseline.json")
    assert first.exit_code == 1  # writing a baseline reports as usual
    assert "wrote 1 findings to baseline.json" in first.stderr
    data = json.loads((project / "baseline.json").read_text())
    assert data["version"] == 1
    assert [(e["rule"], e["path"], e["sample"]) for e in data["findings"]] == [("THK001", "data/a.jsonl", 1)]
    second = invoke("check", "--baseline", "baseline.json")
    assert second.exit_code == 0, second.output
    assert lines_of(second.stdout) == []
    assert "All checks passed in 3 samples" in second.stdout


def test_a_new_finding_is_shown(project: Path) -> None:
    invoke("check", "--write-baseline", "baseline.json")
    write_jsonl(project / "data" / "a.jsonl", [GOOD, UNCLOSED, GOOD, STRAY])
    result = invoke("check", "--baseline", "baseline.json")
    assert result.exit_code == 1
    assert lines_of(result.stdout) == [("data/a.jsonl:4: THK002 [error] assistant turn 2 has </think> without "
                                        "a matching <think>")]


def test_lines_inserted_above_a_known_finding_keep_it_hidden(project: Path) -> None:
    invoke("check", "--write-baseline", "baseline.json")
    write_jsonl(project / "data" / "a.jsonl", [GOOD, GOOD, GOOD, UNCLOSED, GOOD])
    (project / "data" / "a.jsonl").write_text("\n\n" + (project / "data" / "a.jsonl").read_text())
    result = invoke("check", "--baseline", "baseline.json")
    assert result.exit_code == 0, result.output
    assert lines_of(result.stdout) == []


def test_editing_the_sample_makes_its_finding_new(project: Path) -> None:
    invoke("check", "--write-baseline", "baseline.json")
    edited = {"messages": [{"role": "user", "content": "3+3?"}, {"role": "assistant", "content": "<think>\nadd\n6"}]}
    write_jsonl(project / "data" / "a.jsonl", [GOOD, edited, GOOD])
    result = invoke("check", "--baseline", "baseline.json")
    assert result.exit_code == 1
    assert [ln.split(": ")[1].split()[0] for ln in lines_of(result.stdout)] == ["THK001"]


def test_a_baseline_hides_a_finding_as_many_times_as_it_knows_it(project: Path) -> None:
    write_jsonl(project / "data" / "a.jsonl", [UNCLOSED, UNCLOSED])
    invoke("check", "--write-baseline", "baseline.json")
    write_jsonl(project / "data" / "a.jsonl", [UNCLOSED, UNCLOSED, UNCLOSED])
    result = invoke("check", "--baseline", "baseline.json")
    assert result.exit_code == 1
    assert len(lines_of(result.stdout)) == 1  # the third copy is new


def test_a_baseline_works_from_another_folder(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    invoke("check", "--write-baseline", "baseline.json")
    (project / "sub").mkdir()
    monkeypatch.chdir(project / "sub")
    result = invoke("check", "--baseline", "../baseline.json")
    assert result.exit_code == 0, result.output


def test_rewriting_a_baseline_in_place_keeps_what_it_knew(project: Path) -> None:
    invoke("check", "--write-baseline", "baseline.json")
    write_jsonl(project / "data" / "a.jsonl", [GOOD, UNCLOSED, GOOD, STRAY])
    update = invoke("check", "--baseline", "baseline.json", "--write-baseline", "baseline.json")
    assert lines_of(update.stdout) and update.exit_code == 1  # the report still shows what is new
    assert len(json.loads((project / "baseline.json").read_text())["findings"]) == 2
    assert invoke("check", "--baseline", "baseline.json").exit_code == 0


@pytest.mark.parametrize(("content", "message"), [
    ("not json", "not a thinklint baseline"),
    ("[]", "not a thinklint baseline"),
    ('{"version": 1}', "not a thinklint baseline"),
    ('{"version": 2, "findings": []}', "not a thinklint baseline"),
    ('{"version": 1, "findings": [{"rule": "THK001"}]}', "not a thinklint baseline"),
    ('{"version": 1, "findings": [{"fingerprint": 5}]}', "not a thinklint baseline"),
    ('{"version": 1, "findings": [3]}', "not a thinklint baseline"),
])
def test_a_corrupt_baseline_is_exit_2(project: Path, content: str, message: str) -> None:
    (project / "baseline.json").write_text(content)
    result = invoke("check", "--baseline", "baseline.json")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith(f"thinklint: error: baseline.json: {message}")
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_a_missing_baseline_is_exit_2(project: Path) -> None:
    result = invoke("check", "--baseline", "nope.json")
    assert result.exit_code == 2
    assert result.stderr == "thinklint: error: nope.json: baseline file not found\n"


def finding(**kw: object) -> Finding:
    base: dict[str, object] = {"rule": "THK001", "category": "think-placement", "severity": "error",
                               "path": "d.jsonl", "line": 3, "sample": 2, "message": "m", "digest": "abc"}
    base.update(kw)
    return Finding(**base)  # type: ignore[arg-type]


def test_fingerprint_ignores_the_line_and_index_when_there_is_a_digest() -> None:
    f = finding()
    assert fingerprint(f) == fingerprint(finding(line=40, sample=39))
    assert fingerprint(f) != fingerprint(finding(digest="abd"))
    assert fingerprint(f) != fingerprint(finding(message="m2"))
    assert fingerprint(f) != fingerprint(finding(rule="THK002"))
    assert fingerprint(f) != fingerprint(finding(path="e.jsonl"))
    # without a digest (a file-level finding) the sample index stands in
    assert fingerprint(finding(digest="", sample=None)) != fingerprint(finding(digest="", sample=1))


def test_write_and_load_round_trip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    fs = [finding(), finding(), finding(rule="FMT001", digest="", sample=None)]
    assert write_baseline(tmp_path / "nested" / "b.json", fs) == 3
    known = load_baseline(tmp_path / "nested" / "b.json")
    assert sum(known.values()) == 3
    assert apply_baseline(fs, known, tmp_path / "nested") == []
    assert apply_baseline([*fs, finding(message="new")], known, tmp_path / "nested") == [finding(message="new")]
    assert apply_baseline(fs, Counter()) == fs


def test_the_baseline_is_written_atomically(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    target = tmp_path / "b.json"
    target.write_text("the old baseline")
    os.chmod(target, 0o640)

    def fail(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        write_baseline(target, [finding()])
    assert target.read_text() == "the old baseline"  # a failed write leaves the old file whole
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.json"]  # and no temporary file behind
    monkeypatch.undo()
    write_baseline(target, [finding()])
    assert json.loads(target.read_text())["findings"][0]["rule"] == "THK001"
    assert target.stat().st_mode & 0o777 == 0o640  # permissions kept


def test_load_baseline_errors_are_source_errors(tmp_path: Path) -> None:
    (tmp_path / "b.json").write_bytes(b"\xff\xfe")
    with pytest.raises(SourceError, match="not a thinklint baseline"):
        load_baseline(tmp_path / "b.json")
