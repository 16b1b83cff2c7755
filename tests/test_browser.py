"""The HTML report in headless Chromium: it renders, shows tokens, and its filters hide what they should.

Skipped, with the reason, when Chromium is absent (.ci/run installs Debian's chromium). The
screenshot is saved in the test's tmp folder (and copied to $THINKLINT_SCREENSHOT when set).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.chromium import Chromium, click, find_chromium
from tests.example_repo import example_repo, needs_tokenizer
from thinklint.app import run_check
from thinklint.settings import Settings

pytestmark = [pytest.mark.browser, pytest.mark.tokens, pytest.mark.slow]

VISIBLE = ("function vis(el) { var r = el.getBoundingClientRect(); "
           "return r.width > 0 && r.height > 0 && getComputedStyle(el).visibility !== 'hidden'; }")


@pytest.fixture(scope="module")
def browser() -> Iterator[Chromium]:
    binary = find_chromium()
    if binary is None:
        pytest.skip("headless Chromium is not installed (Debian: apt-get install chromium chromium-driver; "
                    ".ci/run installs it): the HTML report's browser test needs it")
    with Chromium(binary) as chromium:
        yield chromium


def count(browser: Chromium, selector: str) -> int:
    value = browser.eval(f"(function () {{ {VISIBLE} return Array.prototype.filter.call("
                         f"document.querySelectorAll({selector!r}), vis).length; }})()")
    return int(value)


def visible_rules(browser: Chromium) -> list[Any]:
    value: list[Any] = browser.eval(f"(function () {{ {VISIBLE} return Array.prototype.filter.call("
                                    "document.querySelectorAll('#findings-table tbody tr'), vis)"
                                    ".map(function (tr) { return tr.getAttribute('data-rule'); }); })()")
    return value


def choose(browser: Chromium, key: str, value: str) -> None:
    """Pick an option as a user does: set it, then the change event the page listens to."""
    browser.eval(f"(function () {{ var s = document.getElementById('f-{key}'); s.value = {value!r}; "
                 "s.dispatchEvent(new Event('change', {bubbles: true})); })()")


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example repo's report, with the Qwen3 tokenizer: 10 findings in 8 of 17 samples."""
    needs_tokenizer()
    repo = example_repo(tmp_path_factory.mktemp("browser"), tokenizer=True)
    out = repo / "report.html"
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(repo)
        run_check(Settings(config=repo / "thinklint.yaml", output_format="html", output_file=out))
    return out


def test_report_renders_and_filters(tmp_path: Path, page: Path, browser: Chromium) -> None:
    browser.open(page.as_uri(), width=1400, height=1000)
    shot = tmp_path / "report.png"
    browser.screenshot(shot)
    if os.environ.get("THINKLINT_SCREENSHOT"):
        shutil.copy(shot, os.environ["THINKLINT_SCREENSHOT"])
    see = f"(screenshot: {shot})"

    # the summary: verdict, counters, per-rule table, datasets, the length chart
    assert "10 errors, 1 warning in 8 of 17 samples" in browser.eval("document.querySelector('.verdict').innerText"), see
    assert count(browser, "#summary .card") == 6 and count(browser, "#summary .panel") == 4, see
    assert count(browser, "svg.chart rect") > 0, see
    # the findings table, and the script ran (the CSP allowed it by its hash)
    assert count(browser, "#findings-table tbody tr") == 11, see
    assert browser.eval("document.getElementById('f-count').textContent").startswith("11 of 11 findings shown"), see
    # token views: trained and masked tokens look different
    assert count(browser, ".tv.tokens .seg") > 20 and count(browser, ".tv.tokens span.t") > 50, see
    colours = browser.eval("[getComputedStyle(document.querySelector('.tv.tokens span.t')).backgroundColor, "
                           "getComputedStyle(document.querySelector('.tv.tokens span.m')).backgroundColor]")
    assert colours[0] != colours[1] and "rgba(0, 0, 0, 0)" not in colours, (colours, see)

    # the rule filter hides the other rows and the other samples
    choose(browser, "rule", "THK001")
    assert visible_rules(browser) == ["THK001"], see
    assert count(browser, "article.sample") == 1, see
    assert browser.eval("location.hash") == "#rule=THK001"
    # severity: only the warning; then a real click on the reset button shows everything again
    choose(browser, "rule", "")
    choose(browser, "severity", "warning")
    assert visible_rules(browser) == ["THK008"], see
    click(browser, "#f-reset")
    assert count(browser, "#findings-table tbody tr") == 11 and count(browser, "article.sample") == 8, see
    # a click on a rule in the summary filters the table by it
    click(browser, 'button.rulebtn[data-rule="MSK005"]')
    assert visible_rules(browser) == ["MSK005", "MSK005"], see
    # token ids on demand
    click(browser, "#show-ids")
    after = browser.eval("getComputedStyle(document.querySelector('.tv.tokens span[data-i]'), '::after').content")
    assert after.strip('"').isdigit(), (after, see)


def test_filter_from_the_address(page: Path, browser: Chromium) -> None:
    browser.open(page.as_uri() + "#rule=THK007&dataset=chat_mixed")
    assert visible_rules(browser) == ["THK007"]
    assert browser.eval("document.getElementById('f-dataset').value") == "chat_mixed"
