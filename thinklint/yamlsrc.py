"""YAML loading that remembers where every key came from, so that errors name a line."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

    import yaml

    #: a mapping entry: key, key node, value node, and the mapping it is written in (merged from, maybe)
    _Pair = tuple[str, yaml.Node, yaml.Node, yaml.MappingNode]

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


#: aliases may add this many values beyond those written out: a spec reuses a dataset or an option
#: block a few times, while "billion laughs" nests aliases to expand a few lines exponentially
MAX_ALIAS_VALUES = 100_000
_MERGE = "tag:yaml.org,2002:merge"
_VALUE = "tag:yaml.org,2002:value"
_CYCLE = "an alias refers to the node that contains it"


def _deep(limit: int) -> str:
    return f"nested deeper than {limit} levels"


@dataclass
class _Composed:
    """What composing saw that the nodes do not keep: an alias yields the anchored node itself."""

    max_depth: int
    nodes: int = 0  # written out, aliases not counted: the base of the expansion budget
    depth: int = 0
    #: where each alias was written, by (id(parent), index in a sequence or id(key node) in a mapping)
    aliases: dict[tuple[int, int], yaml.Mark] = field(default_factory=dict)


def _slot(parent: yaml.Node, index: object) -> tuple[int, int]:
    return id(parent), index if isinstance(index, int) else id(index)


@lru_cache(maxsize=None)
def _loader() -> Callable[[str, _Composed], yaml.SafeLoader]:
    # PyYAML is imported when a file is parsed: a run whose spec parse is remembered (thinklint.spec)
    # needs none of its ~10 ms of imports and regular expressions
    import yaml

    class _Loader(yaml.SafeLoader):
        def __init__(self, text: str, seen: _Composed) -> None:
            super().__init__(text)
            self.seen = seen

        def compose_node(self, parent: yaml.Node | None, index: object) -> yaml.Node | None:
            # PyYAML's composer recurses once per level: refuse a deep document before Python's stack does.
            # (`index` is typed int by the stubs; a mapping passes None for a key, the key node for a value.)
            event = self.peek_event()  # type: ignore[no-untyped-call]
            mark = event.start_mark
            if isinstance(event, yaml.AliasEvent):
                node = super().compose_node(parent, index)  # type: ignore[arg-type]
                if parent is not None and index is not None:  # not a key: keys must be scalars, which neither loop nor grow
                    self.seen.aliases[_slot(parent, index)] = mark
                return node
            if self.seen.depth >= self.seen.max_depth and isinstance(
                    event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
                raise yaml.composer.ComposerError(None, None, _deep(self.seen.max_depth), mark)
            self.seen.nodes += 1
            self.seen.depth += 1
            try:
                return super().compose_node(parent, index)  # type: ignore[arg-type]
            finally:
                self.seen.depth -= 1

    return _Loader


class _Converter:
    """Nodes to plain values, recording each path's line; aliases are expanded, within bounds."""

    def __init__(self, loader: yaml.SafeLoader, seen: _Composed, lines: dict[Path_, int]) -> None:
        self.loader, self.seen, self.lines = loader, seen, lines
        self.budget = seen.nodes + MAX_ALIAS_VALUES
        self.open: set[int] = set()  # collections being converted: meeting one again is a cycle
        self.merging: set[int] = set()
        self.flat: dict[int, list[_Pair]] = {}
        self.outer: yaml.Mark | None = None  # the outermost alias being expanded: where a blow-up is reported

    def convert(self, node: yaml.Node, path: Path_, mark: yaml.Mark) -> Any:
        import yaml

        self.spend(1, mark)
        self.lines[path] = mark.line + 1
        if isinstance(node, yaml.ScalarNode):
            return self.loader.construct_object(node, deep=True)
        if len(path) >= self.seen.max_depth:  # aliases can nest what is written within the limit beyond it
            raise yaml.composer.ComposerError(None, None, _deep(self.seen.max_depth), self.outer or mark)
        if id(node) in self.open:
            raise yaml.constructor.ConstructorError(None, None, _CYCLE, mark)
        self.open.add(id(node))
        if isinstance(node, yaml.MappingNode):
            out: dict[str, Any] = {}
            for key, key_node, value_node, owner in self.pairs(node, mark):
                sub = (*path, key)
                out[key] = self.child(owner, key_node, value_node, sub)
                self.lines[sub] = key_node.start_mark.line + 1  # a value is reported at its key
            value: Any = out
        else:
            value = [self.child(node, i, item, (*path, i)) for i, item in enumerate(node.value)]
        self.open.discard(id(node))
        return value

    def spend(self, values: int, mark: yaml.Mark) -> None:
        import yaml

        self.budget -= values
        if self.budget < 0:
            raise yaml.constructor.ConstructorError(
                None, None, f"aliases expand to more than {MAX_ALIAS_VALUES} values", self.outer or mark)

    def child(self, parent: yaml.Node, index: object, node: yaml.Node, path: Path_) -> Any:
        alias = self.seen.aliases.get(_slot(parent, index))
        if alias is None or self.outer is not None:
            return self.convert(node, path, alias or node.start_mark)
        self.outer = alias
        value = self.convert(node, path, alias)
        self.outer = None
        return value

    def pairs(self, node: yaml.MappingNode, mark: yaml.Mark) -> list[_Pair]:
        """A mapping's entries with its merge keys (`<<: *base`) resolved, without changing the node
        (PyYAML's flatten_mapping does, and then an explicit key can no longer be told from a merged one)."""
        import yaml

        done = self.flat.get(id(node))
        if done is not None:
            return done
        if id(node) in self.merging:
            raise yaml.constructor.ConstructorError(None, None, _CYCLE, mark)
        if len(self.merging) >= self.seen.max_depth:
            raise yaml.constructor.ConstructorError(None, None, f"merge keys {_deep(self.seen.max_depth)}", mark)
        self.merging.add(id(node))
        merged: list[_Pair] | None = None
        explicit: dict[str, _Pair] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                if merged is not None:
                    raise yaml.constructor.ConstructorError(None, None, "duplicate key '<<'", key_node.start_mark)
                merged = self.merge_sources(node, key_node, value_node)
                continue
            key = self.key(key_node)
            if key in explicit:  # PyYAML keeps the last silently; a repeated section would vanish unseen
                raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
            explicit[key] = (key, key_node, value_node, node)
        # the YAML merge-key spec: a key written in the mapping overrides a merged one, and a mapping
        # earlier in `<<: [*a, *b]` overrides a later one
        entries: dict[str, _Pair] = {}
        for pair in merged or ():
            entries.setdefault(pair[0], pair)
        entries.update(explicit)
        self.merging.discard(id(node))
        self.flat[id(node)] = result = list(entries.values())
        return result

    def merge_sources(self, node: yaml.MappingNode, key_node: yaml.Node, value_node: yaml.Node) -> list[_Pair]:
        import yaml

        alias = self.seen.aliases.get(_slot(node, key_node))
        sources: list[tuple[yaml.Node, yaml.Mark | None]] = [(value_node, alias)]
        if isinstance(value_node, yaml.SequenceNode):
            sources = [(n, self.seen.aliases.get(_slot(value_node, i)) or alias)
                       for i, n in enumerate(value_node.value)]
        out: list[_Pair] = []
        for source, alias in sources:
            if not isinstance(source, yaml.MappingNode):
                raise yaml.constructor.ConstructorError(
                    None, None, "a merge key (<<) takes a mapping or a list of mappings",
                    alias or source.start_mark)
            got = self.pairs(source, alias or source.start_mark)
            self.spend(len(got), alias or source.start_mark)  # merging copies entries, as an alias does
            out.extend(got)
        return out

    def key(self, key_node: yaml.Node) -> str:
        import yaml

        if not isinstance(key_node, yaml.ScalarNode):
            raise yaml.constructor.ConstructorError(
                None, None, "a mapping key must be a scalar", key_node.start_mark)
        if key_node.tag == _VALUE:  # `=` as a key is the string, as PyYAML has it
            return str(key_node.value)
        key = self.loader.construct_object(key_node, deep=True)
        if not isinstance(key, str):  # every file thinklint reads is JSON-shaped data: keys are names
            raise yaml.constructor.ConstructorError(
                None, None, f"a mapping key must be a string, not {key!r} (quote it)", key_node.start_mark)
        return key


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

    from thinklint.readers.files import MAX_DEPTH

    seen = _Composed(MAX_DEPTH)
    try:
        loader = _loader()(text, seen)  # the reader refuses control characters here, before parsing
    except yaml.YAMLError as exc:
        raise SourceError(source, None, "", f"invalid YAML: {str(exc).splitlines()[0]}") from None
    try:
        node = loader.get_single_node()
        if node is None:
            return Located(None, {(): 1})
        lines: dict[Path_, int] = {}
        value = _Converter(loader, seen, lines).convert(node, (), node.start_mark)
        return Located(value, lines)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise SourceError(source, line, "", f"invalid YAML: {exc.problem or exc}") from None
    except yaml.YAMLError as exc:
        raise SourceError(source, None, "", f"invalid YAML: {str(exc).splitlines()[0]}") from None
    except RecursionError:  # the depth limits keep clear of it; should a caller already be deep, still a message
        raise SourceError(source, None, "", "invalid YAML: nested too deeply to read") from None
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


def a_type_name(value: Any) -> str:
    """`type_name` with its article: "an array", "a string"."""
    kind = type_name(value)
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"
