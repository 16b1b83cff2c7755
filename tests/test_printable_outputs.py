"""Untrusted text in reports: a custom rule's {match}, a file name or a sample can hold control
characters, newlines, bytes that are not UTF-8 or lone surrogates; every report stays one printable
line per finding, and is written (`thinklint.printable`)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from tests.util import run_cli, write, write_jsonl
from thinklint.printable import one_line, visible

SPEC = "version: 1\ndatasets:\n  - {name: d, path: 'data/*.jsonl'}\n"
CUSTOM = """rules:
  custom:
    - code: THK901
      name: todo
      severity: warning
      summary: a TODO
      pattern: {roles: [assistant], regex: "(?s)TODO.*", message: "assistant turn {turn} has {match}"}
"""
UNCLOSED = {"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": "<think>open"}]}


def test_escapes() -> None:
    assert one_line("a\nb\tc\x1b[2J\r\u202e\ud800") == "a\\x0ab\\x09c\\x1b[2J\\x0d\\u202e\\ud800"
    assert visible("a\nb\tc\x1b") == "a\nb\tc\\x1b"  # a sample's body keeps its lines
    assert one_line("plain café 数学") == "plain café 数学"


def test_a_custom_match_cannot_start_a_line_or_drive_the_terminal(tmp_path: Path) -> None:
    write(tmp_path / "thinklint.yaml", SPEC + CUSTOM)
    content = "<think>\nr\n</think>\n\nok TODO\n::add-mask::thinklint\x1b[2J\rdata.jsonl:9: all good"
    write_jsonl(tmp_path / "data" / "a.jsonl", [{"messages": [{"role": "user", "content": "x"},
                                                               {"role": "assistant", "content": content}]}])
    for fmt in ("text", "json", "github", "sarif"):
        done = run_cli("check", "--no-cache", "--format", fmt, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert "\x1b" not in done.stdout and "\r" not in done.stdout
        assert not any(ln.startswith("::add-mask") for ln in done.stdout.splitlines()), fmt
    text = run_cli("check", "--no-cache", cwd=tmp_path).stdout
    assert "has TODO\\x0a::add-mask::thinklint\\x1b[2J\\x0ddata.jsonl:9: all good" in text


@pytest.mark.skipif(sys.platform != "linux", reason="a file name that is not UTF-8 needs a POSIX file system")
@pytest.mark.parametrize("cache", [True, False])
def test_file_names_with_control_characters_or_bytes_that_are_not_utf8(tmp_path: Path, cache: bool) -> None:
    write(tmp_path / "thinklint.yaml", SPEC)
    (tmp_path / "data").mkdir()
    for name in (b"bad\xff.jsonl", b"x\x1b[31mRED\n::error file=evil::INJECTED.jsonl"):
        (tmp_path / "data" / os.fsdecode(name)).write_text(json.dumps(UNCLOSED) + "\n", encoding="utf-8")
    args = ["check"] + ([] if cache else ["--no-cache"])
    for fmt in ("text", "json", "sarif", "github", "html"):
        done = run_cli(*args, "--format", fmt, cwd=tmp_path)
        assert done.returncode == 1, done.stderr
        assert "internal error" not in done.stderr and "\x1b" not in done.stdout
        assert not any(ln.startswith("::error file=evil") for ln in done.stdout.splitlines()), fmt
    text = run_cli(*args, cwd=tmp_path).stdout
    assert "data/bad\\xff.jsonl:1: THK001" in text
    assert "data/x\\x1b[31mRED\\x0a::error file=evil::INJECTED.jsonl:1: THK001" in text


def test_a_lone_surrogate_in_a_sample_does_not_stop_the_html_report(tmp_path: Path) -> None:
    write(tmp_path / "thinklint.yaml", SPEC)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.jsonl").write_text(
        '{"messages":[{"role":"user","content":"hi \\ud800"},{"role":"assistant","content":"<think>unclosed"}]}\n',
        encoding="utf-8")
    done = run_cli("check", "--no-cache", "--format", "html", "-o", "report.html", cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    assert "\\ud800" in (tmp_path / "report.html").read_text(encoding="utf-8")


def test_sarif_locations_are_uri_references(tmp_path: Path) -> None:
    write(tmp_path / "thinklint.yaml", SPEC)
    write_jsonl(tmp_path / "data" / "a b#c%zz?.jsonl", [UNCLOSED])
    done = run_cli("check", "--no-cache", "--format", "sarif", cwd=tmp_path)
    result = json.loads(done.stdout)["runs"][0]["results"][0]
    uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "data/a%20b%23c%25zz%3F.jsonl"
