"""The rule catalogue: every rule declared once in rules/*.yaml, paired with its check.

A rule's YAML holds its code, category, severity, options schema, documentation and
examples; its behaviour is either a `pattern` (no Python) or the function the explicit
registry in `thinklint.checks` names for its code. Third-party packages add rules through
the `thinklint.rules` entry-point group; users add pattern rules in their spec.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Mapping

from thinklint.checks import REGISTRY, Check
from thinklint.checks.pattern import pattern_check, pattern_problem
from thinklint.distinfo import may_declare
from thinklint.model import TOKEN_CATEGORIES, category_of
from thinklint.resources import load_checked, packaged, rules_dir, validator
from thinklint.yamlsrc import Located, SourceError, validate

ENTRY_POINT_GROUP = "thinklint.rules"


@dataclass(frozen=True)
class Rule:
    code: str
    name: str
    category: str
    severity: str
    summary: str
    check: Check
    fixable: str = "never"
    options_schema: Mapping[str, Any] = field(default_factory=dict)
    docs: Mapping[str, Any] = field(default_factory=dict)
    examples: Mapping[str, Any] = field(default_factory=dict)
    pattern: Mapping[str, Any] | None = None
    source: str = ""
    origin: str = "builtin"  # builtin | spec | plugin
    stage: str = "check"  # check | dryrun (needs a forward pass: only `thinklint dryrun` runs it)
    #: a plugin's distribution, version and code files (`_plugin_fingerprint`), for the cache's key
    fingerprint: str = ""

    @property
    def needs_tokenizer(self) -> bool:
        return self.category in TOKEN_CATEGORIES

    def default_options(self) -> dict[str, Any]:
        props = self.options_schema.get("properties", {})
        return {k: v["default"] for k, v in props.items() if isinstance(v, dict) and "default" in v}


def _make(data: Mapping[str, Any], source: str, origin: str, check: Check | None = None) -> Rule:
    code = data["code"]
    if data.get("pattern"):
        check = pattern_check(data["pattern"])
    if check is None:
        check = REGISTRY.get(code)
    if check is None:
        raise SourceError(source, None, "code", f"{code} has no pattern and no check in the registry")
    return Rule(
        code=code, name=data["name"], category=data.get("category", category_of(code)),
        severity=data["severity"], summary=data["summary"], check=check,
        fixable=data.get("fixable", "never"), options_schema=data.get("options", {}),
        docs=data.get("docs", {}), examples=data.get("examples", {}), pattern=data.get("pattern"),
        source=source, origin=origin, stage=data.get("stage", "check"),
    )


def load_rule_file(path: Path, trusted: bool = False) -> Rule:
    """A rule declaration; `trusted` (thinklint's own, checked by its tests) skips the schema at run time."""
    data = packaged(path) if trusted else load_checked(path, "rule", "rule")
    pattern = data.get("pattern")
    problem = pattern_problem(pattern) if pattern else None
    if problem:
        raise SourceError(str(path), None, f"pattern.{problem[0]}", problem[1])
    rule = _make(data, str(path), "builtin")
    if category_of(rule.code) != rule.category:
        raise SourceError(str(path), None, "category", f"{rule.category} does not match the prefix of {rule.code}")
    if rule.stage == "dryrun" and rule.check.dryrun is None:
        raise SourceError(str(path), None, "stage", f"{rule.code} is a dryrun rule but its check has no dryrun function")
    return rule


@lru_cache(maxsize=None)
def builtin_rules() -> Mapping[str, Rule]:
    rules = {}
    for path in sorted(rules_dir().glob("*.yaml")):
        rule = load_rule_file(path, trusted=True)
        if rule.code in rules:
            raise SourceError(str(path), None, "code", f"{rule.code} is declared twice")
        rules[rule.code] = rule
    missing = set(REGISTRY) - set(rules)
    if missing:
        raise SourceError(str(rules_dir()), None, "", f"checks without a YAML declaration: {sorted(missing)}")
    return rules


@lru_cache(maxsize=None)
def plugin_rules() -> Mapping[str, Rule]:
    """Rules from installed packages: each entry point returns an iterable of (rule dict, check)."""
    out: dict[str, Rule] = {}
    if not may_declare(ENTRY_POINT_GROUP):  # importlib.metadata is slow to import, and rarely needed
        return out
    from importlib import metadata

    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        try:
            provided = ep.load()()
        except Exception as exc:
            raise SourceError(f"entry point {ep.name}", None, "", f"cannot load rules: {exc}") from None
        fingerprint = _plugin_fingerprint(ep)
        for data, check in provided:
            errors = validate(Located(data, {}), validator("rule"), f"plugin {ep.name}")
            if errors:
                raise errors[0]
            problem = pattern_problem(data["pattern"]) if data.get("pattern") else None
            if problem:  # as a spec's own pattern rule: refused when loaded, not on every sample
                raise SourceError(f"plugin {ep.name}", None, f"{data['code']}.pattern.{problem[0]}", problem[1])
            out[data["code"]] = replace(_make(data, f"plugin {ep.name}", "plugin", check), fingerprint=fingerprint)
    return out


def _plugin_fingerprint(ep: Any) -> str:
    """The distribution, version and code files of a plugin, for the cache's key: an upgraded or edited
    plugin may find other things in the same sample."""
    import hashlib
    import sys

    from thinklint.fsutil import listing, stat_digest

    dist = getattr(ep, "dist", None)
    h = hashlib.sha256(f"{getattr(dist, 'name', '')}\0{getattr(dist, 'version', '')}\n".encode())
    top = sys.modules.get(ep.module.split(".")[0])  # imported by ep.load()
    files: list[str] = []
    for folder in getattr(top, "__path__", None) or ():  # a package: every file of it, as thinklint's own
        files += [full for _name, full in listing(Path(folder), (".py", ".yaml", ".yml", ".json"))]
    single = getattr(top, "__file__", None)
    if not files and isinstance(single, str):
        files = [single]
    stat_digest(h, ((full, full) for full in files))  # as `cache.code_fingerprint` keys thinklint's own files
    return h.hexdigest()


def custom_rules(entries: Iterable[Mapping[str, Any]], source: str,
                 located: Located | None = None) -> dict[str, Rule]:
    """Pattern rules declared in the spec's `rules.custom` (already schema-checked with the spec)."""
    out = {}
    for i, data in enumerate(entries):
        problem = pattern_problem(data["pattern"])
        if problem:
            where = ("rules", "custom", i, "pattern", problem[0])
            raise SourceError(source, located.line_of(where) if located else None,
                              f"rules.custom[{i}].pattern.{problem[0]}", problem[1])
        if data["code"] in out:
            raise SourceError(source, located.line_of(("rules", "custom", i, "code")) if located else None,
                              f"rules.custom[{i}].code", f"{data['code']} is declared twice")
        out[data["code"]] = _make(data, source, "spec")
    return out


def all_rules(custom: Mapping[str, Rule] | None = None) -> dict[str, Rule]:
    rules = dict(builtin_rules())
    for extra in (plugin_rules(), custom or {}):
        for code, rule in extra.items():
            if code in rules and rules[code].origin == "builtin":
                raise SourceError(rule.source, None, "code", f"{code} is a builtin rule code")
            rules[code] = rule
    return dict(sorted(rules.items()))
