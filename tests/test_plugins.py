"""Third-party rules through the `thinklint.rules` entry-point group, and `thinklint.distinfo`, which spares a
run without them (and the cache key's library versions) the import of importlib.metadata."""

from __future__ import annotations

import sys
import textwrap
import zipfile
from pathlib import Path
from typing import Iterator

import pytest

from tests.util import GOOD, imported_by_run, simple_project, write_jsonl
from thinklint.app import run_lint
from thinklint.catalog import ENTRY_POINT_GROUP, all_rules, plugin_rules
from thinklint.distinfo import may_declare, versions
from thinklint.settings import Settings
from thinklint.spec import load_spec
from thinklint.yamlsrc import SourceError

PLUGIN = '''
from thinklint.context import Check
from thinklint.model import Violation

RULE = {
    "code": "FMT901", "name": "shouted-answer", "category": "format", "severity": "warning",
    "summary": "an assistant answer written in capitals",
    "docs": {"what_it_does": "Reports an answer in capitals.", "why_is_this_bad": "It teaches shouting.",
             "example": "HELLO", "use_instead": "hello"},
    "examples": {
        "bad": [{"sample": {"messages": [{"role": "user", "content": "hi"},
                                         {"role": "assistant", "content": "HELLO"}]}, "expect": "shouts"}],
        "good": [{"sample": {"messages": [{"role": "user", "content": "hi"},
                                          {"role": "assistant", "content": "hello"}]}}],
    },
}


def shouted(sample, ctx, options):
    for turn, message in enumerate(sample.messages):
        answer = message.content.rsplit("</think>", 1)[-1]
        if message.role == "assistant" and answer.isupper():
            yield Violation(f"assistant turn {turn} shouts", turn=turn)


def rules():
    return [(RULE, Check(sample=shouted))]
'''


def install(site: Path, group: str = "thinklint.rules") -> None:
    """A package and its dist-info in `site`, as pip leaves them."""
    (site / "tlplugin_demo").mkdir(parents=True)
    (site / "tlplugin_demo" / "__init__.py").write_text(textwrap.dedent(PLUGIN), encoding="utf-8")
    dist = site / "tlplugin_demo-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: tlplugin-demo\nVersion: 0.1\n", encoding="utf-8")
    (dist / "entry_points.txt").write_text(f"[{group}]\ndemo = tlplugin_demo:rules\n", encoding="utf-8")


@pytest.fixture
def fresh_plugins() -> Iterator[None]:
    plugin_rules.cache_clear()
    yield
    plugin_rules.cache_clear()
    sys.modules.pop("tlplugin_demo", None)


def test_an_installed_plugin_adds_its_rule_and_the_rule_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             fresh_plugins: None) -> None:
    install(tmp_path / "site")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    rule = all_rules()["FMT901"]
    assert (rule.origin, rule.category, rule.severity) == ("plugin", "format", "warning")
    project = tmp_path / "repo"
    project.mkdir()
    shouting = {"messages": [{"role": "user", "content": "hi"},
                             {"role": "assistant", "content": "<think>\nok\n</think>\n\nHELLO"}]}
    simple_project(project, [GOOD, shouting])
    result, _rules, _profile = run_lint(load_spec(project / "thinklint.yaml"),
                                        Settings(select=("FMT901",), use_cache=False, jobs=1))
    assert [(f.rule, f.line, f.turn) for f in result.findings] == [("FMT901", 2, 1)]


def test_a_changed_plugin_is_not_answered_from_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         fresh_plugins: None) -> None:
    """An upgraded (or edited) plugin may find other things in the same samples: the cache's key holds its
    distribution, version and files, not only its name."""
    site = tmp_path / "site"
    install(site)
    monkeypatch.syspath_prepend(str(site))
    project = tmp_path / "repo"
    project.mkdir()
    shouting = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "HELLO"}]}
    simple_project(project, [shouting])

    def findings() -> list[str]:
        result, _rules, _profile = run_lint(load_spec(project / "thinklint.yaml"), Settings(select=("FMT901",), jobs=1))
        return [f.rule for f in result.findings]

    assert findings() == ["FMT901"]
    assert list(project.glob(".thinklint_cache/v*/*/*.entry"))  # remembered
    # version 0.2 stops reporting capitals (a file of another size, so no stale bytecode is used)
    init = site / "tlplugin_demo" / "__init__.py"
    init.write_text(init.read_text(encoding="utf-8").replace("answer.isupper()", "answer.isupper() and not answer"),
                    encoding="utf-8")
    (site / "tlplugin_demo-0.1.dist-info").rename(site / "tlplugin_demo-0.2.dist-info")
    (site / "tlplugin_demo-0.2.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: tlplugin-demo\nVersion: 0.2\n", encoding="utf-8")
    sys.modules.pop("tlplugin_demo", None)
    plugin_rules.cache_clear()
    assert findings() == []


def test_a_plugin_pattern_rule_that_would_fail_on_every_sample_is_refused_when_loaded(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_plugins: None) -> None:
    site = tmp_path / "site"
    install(site)
    init = site / "tlplugin_demo" / "__init__.py"
    init.write_text(init.read_text(encoding="utf-8").replace(
        "def rules():\n    return [(RULE, Check(sample=shouted))]",
        "def rules():\n    return [({**RULE, 'pattern': {'roles': ['assistant'], 'regex': 'hel+o',\n"
        "                              'message': 'turn {turn:{match}}'}}, None)]"), encoding="utf-8")
    monkeypatch.syspath_prepend(str(site))
    with pytest.raises(SourceError) as err:
        plugin_rules()
    assert (err.value.path, err.value.key) == ("plugin demo", "FMT901.pattern.message")


def test_a_distribution_of_another_group_is_not_a_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         fresh_plugins: None) -> None:
    install(tmp_path / "site", group="console_scripts")
    monkeypatch.setattr(sys, "path", [str(tmp_path / "site")])
    assert not may_declare(ENTRY_POINT_GROUP)
    assert plugin_rules() == {}


def test_what_the_look_cannot_read_is_left_to_importlib_metadata(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    archive = tmp_path / "deps.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("x/__init__.py", "")
    monkeypatch.setattr(sys, "path", [str(tmp_path / "missing"), str(archive)])
    assert may_declare(ENTRY_POINT_GROUP)  # a zip on sys.path may hold a dist-info: not looked into


def test_versions_are_those_importlib_metadata_gives() -> None:
    from importlib import metadata

    names = ["pyarrow", "jinja2", "PyYAML", "click", "no-such-distribution-here"]
    expected = {}
    for name in names:
        try:
            expected[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            expected[name] = None
    assert versions(names) == expected
    assert expected["no-such-distribution-here"] is None and expected["pyarrow"]


def test_a_version_is_read_from_the_first_distribution_on_the_path(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    (second / "foo_bar-1.2.3.dist-info").mkdir(parents=True)
    (second / "foo_bar-1.2.3.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: foo-bar\n"
                                                                  "Version: 1.2.3\n", encoding="utf-8")
    monkeypatch.setattr(sys, "path", [str(second)])
    assert versions(["Foo.Bar"]) == {"Foo.Bar": "1.2.3"}
    (first / "foo_bar.egg-info").mkdir(parents=True)  # a development install, earlier on the path
    (first / "foo_bar.egg-info" / "PKG-INFO").write_text("Metadata-Version: 1.1\nName: foo-bar\nVersion: 9.9\n",
                                                         encoding="utf-8")
    monkeypatch.setattr(sys, "path", [str(first), str(second)])
    assert versions(["foo-bar"]) == {"foo-bar": "9.9"}  # left to importlib.metadata, which reads PKG-INFO


def test_a_cached_structural_run_does_not_import_importlib_metadata(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "d.jsonl", [GOOD])
    (tmp_path / "thinklint.yaml").write_text("version: 1\ndatasets: [{name: d, path: d.jsonl}]\n", encoding="utf-8")
    imported_by_run(["check"], [], tmp_path)  # the first run validates the spec and fills the cache
    loaded, second = imported_by_run(["check"], ["importlib.metadata"], tmp_path)
    assert "All checks passed" in second.stdout, second.stdout + second.stderr
    assert loaded == [], second.stdout + second.stderr
