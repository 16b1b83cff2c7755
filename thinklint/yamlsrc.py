"""YAML loading that remembers where every key came from, so that errors name a line."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import yaml

Path_ = tuple[str | int, ...]


class SourceError(Exception):
    """A problem with a user-supplied file, reported as `path:line: key: message` (exit 2)."""

    def __init__(self, path: str, line: int | None, key: str, message: str) -> None:
        self.path, self.line, self.key, self.message = path, line, key, message
        super().__init__(self.render())

    def __reduce__(self) -> tuple[type[SourceError], tuple[str, int | None, str, str]]:
        # raised in a worker process, it must cross back to the parent intact
        return type(self), (self.path, self.line, self.key, self.message)

    def render(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"


@dataclass
class Located:
    """A plain Python value plus the 1-based line of every node, keyed by its path."""

    value: Any
    lines: dict[Path_, int] = field(default_factory=dict)

    def line_of(self, path: Path_) -> int | None:
        # walk up: a missing key is reported at its parent
        p = tuple(path)
        while p not in self.lines and p:
            p = p[:-1]
        return self.lines.get(p)


@lru_cache(maxsize=None)
def _loader() -> type[yaml.SafeLoader]:
    # PyYAML is imported when a file is parsed: a run whose spec parse is remembered (thinklint.spec)
    # needs none of its ~10 ms of imports and regular expressions
    import yaml

    class _Loader(yaml.SafeLoader):
        pass

    return _Loader


def _convert(node: yaml.Node, path: Path_, lines: dict[Path_, int], loader: yaml.SafeLoader) -> Any:
    import yaml

    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if isinstance(key, (list, dict)):
                raise yaml.constructor.ConstructorError(
                    None, None, "a mapping key must be a scalar", key_node.start_mark)
            if not isinstance(key, str):  # every file thinklint reads is JSON-shaped data: keys are names
                raise yaml.constructor.ConstructorError(
                    None, None, f"a mapping key must be a string, not {key!r} (quote it)", key_node.start_mark)
            if key in out:  # PyYAML keeps the last silently; a repeated section would vanish unseen
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark)
            sub = (*path, key)
            lines[sub] = key_node.start_mark.line + 1
            out[key] = _convert(value_node, sub, lines, loader)
            lines[sub] = key_node.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_convert(item, (*path, i), lines, loader) for i, item in enumerate(node.value)]
    return loader.construct_object(node, deep=True)


def load_trusted(text: str) -> Any:
    """thinklint's own packaged YAML (rules, profiles): validated by the test suite, loaded by libyaml.

    No line map and no schema check at run time: they cost most of a structural run's start-up.
    """
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader


def load_yaml(text: str, source: str) -> Located:
    """Parse one YAML document; syntax errors become a SourceError with a line."""
    import yaml

    try:
        loader = _loader()(text)  # the reader refuses control characters here, before parsing
    except yaml.YAMLError as exc:
        raise SourceError(source, None, "", f"invalid YAML: {str(exc).splitlines()[0]}") from None
    try:
        node = loader.get_single_node()
        if node is None:
            return Located(None, {(): 1})
        lines: dict[Path_, int] = {}
        value = _convert(node, (), lines, loader)
        return Located(value, lines)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise SourceError(source, line, "", f"invalid YAML: {exc.problem or exc}") from None
    except yaml.YAMLError as exc:
        raise SourceError(source, None, "", f"invalid YAML: {str(exc).splitlines()[0]}") from None
    finally:
        loader.dispose()


def dotted(path: Path_) -> str:
    """`('datasets', 0, 'path')` -> `datasets[0].path`."""
    out = ""
    for part in path:
        if isinstance(part, str) and (not part or not part.isprintable()):
            part = repr(part)  # a key made of whitespace or control characters, shown as such
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def validate(located: Located, validator: Any, source: str) -> list[SourceError]:
    """Every schema violation, in document order, as SourceErrors naming key and line."""
    errors: list[SourceError] = []
    for err in validator.iter_errors(located.value):
        errors.append(schema_error(err, located, source))
    errors.sort(key=lambda e: (e.line or 0, e.key))
    return errors


def _branch_errors(err: Any) -> list[Any] | None:
    """For a failed oneOf/anyOf, the errors of the one branch that came closest, if one did.

    The branch with the fewest errors is what the author meant (a dataset entry with a typo is a
    `dataset` with one unknown key, not an `llamafactory` entry with three problems); on a tie
    there is no telling, and the caller falls back to the keyword's own message.
    """
    if err.validator not in ("oneOf", "anyOf") or not err.context:
        return None
    by_branch: dict[Any, list[Any]] = {}
    for sub in err.context:
        by_branch.setdefault(sub.relative_schema_path[0], []).append(sub)
    counts = sorted(len(v) for v in by_branch.values())
    if len(counts) > 1 and counts[0] == counts[1]:
        return None
    return min(by_branch.values(), key=len)


def schema_error(err: Any, located: Located, source: str) -> SourceError:
    path = tuple(err.absolute_path)
    branch = _branch_errors(err)
    if branch:
        first = min(branch, key=lambda e: (located.line_of(tuple(e.absolute_path)) or 0, dotted(tuple(e.absolute_path))))
        return schema_error(first, located, source)
    message = err.schema.get("x-message") if isinstance(err.schema, dict) else None
    if err.validator == "required" and not message:
        missing = next((k for k in err.validator_value if k not in err.instance), None)
        if missing is not None:
            key_path = (*path, missing)
            return SourceError(source, located.line_of(path), dotted(key_path), "required key is missing")
    if err.validator == "additionalProperties" and not message:
        extra = sorted(set(err.instance) - set(err.schema.get("properties", {})))
        pats = err.schema.get("patternProperties")
        if extra and not pats:
            known = ", ".join(sorted(err.schema.get("properties", {})))
            key_path = (*path, extra[0])
            return SourceError(source, located.line_of(key_path), dotted(key_path),
                               f"unknown key (expected one of: {known})")
    if err.validator == "enum" and not message:
        message = f"{err.instance!r} is not one of {', '.join(map(repr, err.validator_value))}"
    if err.validator == "type" and not message:
        want = err.validator_value if isinstance(err.validator_value, str) else " or ".join(err.validator_value)
        message = f"expected {want}, got {type_name(err.instance)}"
    return SourceError(source, located.line_of(path), dotted(path), message or err.message)


def type_name(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "boolean", int: "integer", float: "number", str: "string",
            list: "array", dict: "object"}.get(type(value), type(value).__name__)
