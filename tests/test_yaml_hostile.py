"""Hostile YAML in a spec or profile: deep nesting, aliases that loop or explode, and merge keys.

Each refusal is a one-line `path:line: invalid YAML: ...` (exit 2), never a RecursionError or a
run that expands a few lines into millions of values; a valid merge-key override still loads.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.util import GOOD, run_cli, write, write_jsonl
from thinklint.readers.files import MAX_DEPTH
from thinklint.spec import load_spec
from thinklint.yamlsrc import MAX_ALIAS_VALUES, SourceError, load_yaml


def refusal(text: str) -> SourceError:
    with pytest.raises(SourceError) as caught:
        load_yaml(text, "t.yaml")
    return caught.value


def bomb(levels: int) -> str:
    """`levels` anchors, each a list of nine aliases to the one before: 9**levels values."""
    lines = ["version: 1", "l0: &l0 [x, x, x, x, x, x, x, x, x]"]
    for n in range(1, levels + 1):
        lines.append(f"l{n}: &l{n} [{', '.join([f'*l{n - 1}'] * 9)}]")
    return "\n".join(lines) + "\n"


def nested(opening: int) -> str:
    return f"version: 1\nfoo: {'[' * opening}{']' * opening}\n"


# --- depth ---------------------------------------------------------------------------------------

def test_nesting_past_the_depth_limit_is_refused_at_its_line() -> None:
    err = refusal(nested(600))
    assert (err.line, err.message) == (2, f"invalid YAML: nested deeper than {MAX_DEPTH} levels")


def test_nesting_up_to_the_limit_loads() -> None:
    # the top-level mapping is one level: MAX_DEPTH - 1 lists inside it reach the limit exactly
    value = load_yaml(nested(MAX_DEPTH - 1), "t.yaml").value
    assert isinstance(value["foo"], list)
    assert "nested deeper" in refusal(nested(MAX_DEPTH)).message


def test_aliases_cannot_nest_past_the_limit_what_is_written_within_it() -> None:
    text = f"- &d {'[' * 60}{']' * 60}\n- {'[' * 50}*d{']' * 50}\n"
    err = refusal(text)
    assert (err.line, err.message) == (2, f"invalid YAML: nested deeper than {MAX_DEPTH} levels")


# --- aliases that contain themselves ---------------------------------------------------------------

@pytest.mark.parametrize(("text", "line"), [
    ("version: 1\nfoo: &a [*a]\n", 2),
    ("version: 1\nrules:\n  options:\n    MOD002: &a {prefer: *a}\n", 4),
    ("version: 1\nfoo: &a\n  - x\n  - y\n  - *a\n", 5),  # at the alias, not the anchor two lines up
    ("version: 1\nfoo: &a {k: {<<: *a}}\n", 2),  # through a merge key
], ids=["flow-list", "flow-map", "block-list", "merge"])
def test_an_alias_inside_its_own_anchor_is_refused_at_the_alias(text: str, line: int) -> None:
    err = refusal(text)
    assert (err.line, err.message) == (line, "invalid YAML: an alias refers to the node that contains it")


# --- alias expansion ("billion laughs") ------------------------------------------------------------

def test_alias_expansion_past_the_budget_is_refused_at_the_alias() -> None:
    assert 9 ** 6 > MAX_ALIAS_VALUES  # the bomb below must be over budget for this test to mean anything
    err = refusal(bomb(6))
    # l5 (line 7) is the first anchor whose aliases add up past the budget
    assert (err.line, err.message) == (7, f"invalid YAML: aliases expand to more than {MAX_ALIAS_VALUES} values")
    # while reuse on an ordinary scale still expands: 729 values from five lines
    assert load_yaml(bomb(3), "t.yaml").value["l3"][8][8][8] == ["x"] * 9


# --- merge keys ------------------------------------------------------------------------------------

MERGED = """\
version: 1
datasets:
  - &base {name: a, path: data.jsonl, format: openai, mode: mixed}
  - <<: *base
    name: b
    path: b.jsonl
"""


def test_an_explicit_key_overrides_a_merged_one(tmp_path: Path) -> None:
    value = load_yaml(MERGED, "t.yaml").value
    assert value["datasets"][1] == {"name": "b", "path": "b.jsonl", "format": "openai", "mode": "mixed"}
    # and of several merged mappings, the first wins (the YAML merge-key spec)
    value = load_yaml("a: &a {k: 1}\nb: &b {k: 2, j: 2}\nc: {<<: [*a, *b]}\n", "t.yaml").value
    assert value["c"] == {"k": 1, "j": 2}
    write_jsonl(tmp_path / "data.jsonl", [GOOD])
    write_jsonl(tmp_path / "b.jsonl", [GOOD])
    spec = load_spec(write(tmp_path / "thinklint.yaml", MERGED), remember=False)
    assert [(d.name, d.paths) for d in spec.datasets] == [("a", ("data.jsonl",)), ("b", ("b.jsonl",))]


def test_a_key_written_twice_in_one_mapping_is_still_refused() -> None:
    err = refusal(MERGED + "    name: c\n")
    assert (err.line, err.message) == (7, "invalid YAML: duplicate key 'name'")


def test_a_mapping_with_merged_keys_reused_by_alias_keeps_its_overrides() -> None:
    # PyYAML's flatten_mapping rewrites the node in place: met again, its overrides looked like duplicates
    text = "a: &a {k: 1, m: 1}\nb: &b {<<: *a, k: 2}\nc: *b\nd: {<<: *b, m: 3}\n"
    value = load_yaml(text, "t.yaml").value
    assert value["c"] == {"k": 2, "m": 1}
    assert value["d"] == {"k": 2, "m": 3}


# --- through the CLI -------------------------------------------------------------------------------

@pytest.mark.parametrize(("spec", "line", "message"), [
    (nested(600), 2, f"nested deeper than {MAX_DEPTH} levels"),
    ("version: 1\nfoo: &a [*a]\n", 2, "an alias refers to the node that contains it"),
    (bomb(7), 7, f"aliases expand to more than {MAX_ALIAS_VALUES} values"),
], ids=["deep", "self-alias", "bomb"])
def test_the_cli_reports_hostile_yaml_in_one_located_line(tmp_path: Path, spec: str, line: int,
                                                          message: str) -> None:
    write_jsonl(tmp_path / "data.jsonl", [GOOD])
    write(tmp_path / "thinklint.yaml", spec)
    for args in (("check-spec", "thinklint.yaml"), ("check", "--no-cache")):
        proc = run_cli(*args, cwd=tmp_path)
        out = proc.stdout + proc.stderr
        assert proc.returncode == 2, out
        assert f"thinklint.yaml:{line}: invalid YAML: {message}" in out
        assert "Traceback" not in out and "internal error" not in out


def test_the_cli_refuses_a_self_referential_profile(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "data.jsonl", [GOOD])
    write(tmp_path / "p.yaml", "a: &a [*a]\n")
    write(tmp_path / "thinklint.yaml",
          "version: 1\ndatasets:\n  - {name: d, path: data.jsonl}\nmodel:\n  profile: ./p.yaml\n")
    proc = run_cli("check", "--no-cache", cwd=tmp_path)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 2, out
    assert "invalid YAML: an alias refers to the node that contains it" in out
    assert "Traceback" not in out and "internal error" not in out


def test_the_cli_accepts_a_merge_key_override(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "data.jsonl", [GOOD])
    write_jsonl(tmp_path / "b.jsonl", [GOOD])
    write(tmp_path / "thinklint.yaml", MERGED)
    proc = run_cli("check-spec", "thinklint.yaml", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
