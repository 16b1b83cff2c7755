"""Packaged rules, profiles and schemas are loaded without a schema check at run time (start-up): here they get it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import jsonschema
import pytest

from thinklint.catalog import builtin_rules, load_rule_file
from thinklint.profiles import builtin_profiles, load_profile_file
from thinklint.resources import data_dir, profiles_dir, rules_dir, schema


@pytest.mark.parametrize("path", sorted(data_dir("schemas").glob("*.schema.json")), ids=lambda p: p.name)
def test_schemas_are_valid_schemas(path: Path) -> None:
    sch = schema(path.name.removesuffix(".schema.json"))
    jsonschema.validators.validator_for(sch).check_schema(sch)


def test_every_packaged_rule_validates_and_loads_as_the_trusted_path_loads_it() -> None:
    trusted = builtin_rules()
    for path in sorted(rules_dir().glob("*.yaml")):
        checked = load_rule_file(path)  # line-mapped YAML and the schema
        same = trusted[checked.code]
        assert replace(checked, check=same.check) == same  # pattern rules get a fresh closure each load


def test_every_packaged_profile_validates_and_loads_as_the_trusted_path_loads_it() -> None:
    trusted = builtin_profiles()
    for path in sorted(profiles_dir().glob("*.yaml")):
        checked = load_profile_file(path)
        assert checked == trusted[checked.name]


def test_the_packaged_trainer_model_validates_and_loads_as_the_trusted_path_loads_it() -> None:
    from thinklint.resources import trainers_dir
    from thinklint.tokens.lf_templates import load_llamafactory, load_llamafactory_file

    assert load_llamafactory_file(trainers_dir() / "llamafactory.yaml") == load_llamafactory()
