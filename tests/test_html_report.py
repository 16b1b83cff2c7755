"""`check --format html`: structure (a golden file), escaping, no external assets, caps, the chart."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.example_repo import example_repo, golden, needs_tokenizer
from thinklint.app import run_check
from thinklint.settings import Settings

#: every element the report may contain: anything else (an <img>, a second <script>) came from the data
ALLOWED_TAGS = {"html", "head", "meta", "title", "style", "body", "header", "h1", "h2", "h3", "main", "section",
                "div", "p", "span", "b", "i", "em", "small", "code", "table", "thead", "tbody", "tr", "th", "td",
                "form", "label", "select", "option", "button", "input", "ul", "li", "article", "a", "br",
                "footer", "svg", "rect", "line", "text", "script"}


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def parse(page: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = Tags()
    parser.feed(page)
    return parser.tags


def report(repo: Path, **settings: object) -> str:
    out = repo / "report.html"
    run_check(Settings(config=repo / "thinklint.yaml", output_format="html", output_file=out, **settings))  # type: ignore[arg-type]
    return out.read_text(encoding="utf-8")


def without_assets(page: str) -> str:
    """The page's structure: embedded CSS and JS (and the script's hash) are not what the golden pins."""
    page = re.sub(r"<style>.*?</style>", "<style>…</style>", page, flags=re.S)
    page = re.sub(r"<script>.*?</script>", "<script>…</script>", page, flags=re.S)
    return re.sub(r"'sha256-[^']+'", "'sha256-…'", page)


@pytest.fixture
def structural(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    repo = example_repo(tmp_path, tokenizer=False)
    monkeypatch.chdir(repo)
    return repo


def test_structure_snapshot(structural: Path) -> None:
    page = report(structural)
    golden("report_structural.html", without_assets(page).replace("><", ">\n<"))


def test_is_deterministic(structural: Path) -> None:
    assert report(structural) == report(structural)


def test_no_external_resource(structural: Path) -> None:
    page = report(structural)
    # allowlist of URLs: none. Inline SVG needs no xmlns in HTML, so not even the SVG namespace
    assert "http://" not in page and "https://" not in page
    assert "@import" not in page and "url(" not in page
    for tag, attrs in parse(page):
        assert "src" not in attrs, tag
        if "href" in attrs:
            assert (attrs["href"] or "").startswith("#"), attrs
    csp = next(a["content"] for t, a in parse(page) if t == "meta" and a.get("http-equiv"))
    assert csp is not None and csp.startswith("default-src 'none';")


def test_script_runs_by_its_hash_only(structural: Path) -> None:
    page = report(structural)
    (script,) = re.findall(r"<script>(.*?)</script>", page, flags=re.S)
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in page
    directive = re.search(r"script-src [^;\"]*", page)
    assert directive is not None and "unsafe" not in directive.group(0)
    assert "onclick" not in page


HOSTILE = ['<script>alert("x")</script>', '"><img src=x onerror=alert(1)>', "</textarea><svg onload=alert(2)>",
           "' onmouseover='alert(3)", "https://evil.example/x.js"]


def test_data_is_escaped_everywhere(structural: Path) -> None:
    lines = [{"messages": [{"role": "user", "content": text},
                           {"role": "assistant", "content": f"Sure!{text}<think>\nr {text}\n</think>\n\n{text}",
                            "thinking": text}]} for text in HOSTILE]
    (structural / "data" / "chat_mixed.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines),
                                                          encoding="utf-8")
    page = report(structural)
    assert page.count("<script") == 1
    assert "<img" not in page and "<svg onload" not in page and "<textarea" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    for tag, attrs in parse(page):
        assert tag in ALLOWED_TAGS, tag
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
    # the URL in the data is text on the page, never a link or a source
    assert not any("evil" in (v or "") for _, attrs in parse(page) for v in attrs.values())


def test_sample_views_are_capped_and_say_so(structural: Path) -> None:
    page = report(structural, max_views=3)
    assert page.count('<article class="sample"') == 3
    assert "Showing the first 3 of 8 samples with findings" in page
    assert "caps sample views at 3" in page and "thinklint show FILE:LINE" in page
    full = report(structural)
    assert full.count('<article class="sample"') == 8 and "All 8 samples with findings" in full


def test_findings_table_cap(structural: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import thinklint.reporters.html as html

    monkeypatch.setattr(html, "MAX_ROWS", 3)
    page = report(structural)
    assert len(re.findall(r'<tr data-rule="', page)) == 3
    assert "first 3 findings; 6 more are counted above" in page


def test_filters_and_rows(structural: Path) -> None:
    page = report(structural)
    rows = re.findall(r'<tr data-rule="([^"]+)" data-dataset="([^"]+)" data-severity="([^"]+)"', page)
    assert len(rows) == 9 and {d for _, d, _ in rows} == {"chat_mixed"}
    rules = re.search(r'<select id="f-rule".*?</select>', page, flags=re.S)
    assert rules is not None
    assert re.findall(r'<option value="([^"]*)"', rules.group(0)) == ["", *sorted({r for r, _, _ in rows})]
    assert '<select id="f-dataset" data-key="dataset"><option value="">all</option><option value="chat_mixed">' in page


def test_without_tokenizer_the_report_still_works(structural: Path) -> None:
    page = report(structural)
    assert "Token lengths need model.tokenizer in the spec." in page and "<svg" not in page
    assert "not run: needs model.tokenizer" in page
    assert 'class="tv turns"' in page and 'class="tv tokens"' not in page


@pytest.mark.tokens
def test_token_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    needs_tokenizer()
    repo = example_repo(tmp_path, tokenizer=True)
    monkeypatch.chdir(repo)
    page = report(repo)
    # 8 samples with findings: 6 encoded, 1 LLaMA-Factory rejects (its turns instead), 1 not JSON (no view)
    assert page.count('class="tv tokens"') == 6 and page.count('class="tv turns"') == 1
    assert "no token view: message 1 (user) breaks the user/observation" in page
    assert '<svg class="chart"' in page
    assert "15 encoded samples: median" in page and "0 samples over cutoff_len 4,096" in page
    # trained and masked tokens, think markers and the end of turn, the empty block segment
    assert '<span class="t k" data-i="151667">&lt;think&gt;</span>' in page
    assert '<span class="m e" data-i="151645">' in page and '<span class="t e" data-i="151645">' in page
    assert '<div class="seg empty_think trained">' in page


@pytest.mark.tokens
def test_length_chart_marks_the_cutoff(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    needs_tokenizer()
    repo = example_repo(tmp_path, tokenizer=True, cutoff_len=40)
    monkeypatch.chdir(repo)
    page = report(repo)
    chart = re.search(r'<svg class="chart".*?</svg>', page, flags=re.S)
    assert chart is not None
    assert 'class="cut"' in chart.group(0) and "cutoff_len 40" in chart.group(0)
    assert 'rect class="over"' in chart.group(0) and 'rect class="fits"' in chart.group(0)
    over = re.search(r"(\d+) samples over cutoff_len 40", page)
    assert over is not None and int(over.group(1)) > 0
    assert "truncated from" in page  # a sample view says that it was cut


def test_report_file_is_readable_by_others(structural: Path) -> None:
    old = os.umask(0o022)
    try:
        report(structural)
    finally:
        os.umask(old)
    assert (structural / "report.html").stat().st_mode & 0o777 == 0o644
