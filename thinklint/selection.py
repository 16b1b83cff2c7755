"""Which rules run, at which severity, with which options: ruff's prefix semantics.

A code is enabled when the longest matching prefix among select/extend-select is longer than
the longest matching prefix among ignore (a tie goes to ignore). `ALL` is the empty prefix.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatch
from typing import Any, Iterable, Mapping

import jsonschema

from thinklint.catalog import Rule
from thinklint.spec import RulesSpec
from thinklint.yamlsrc import SourceError


def _longest(code: str, prefixes: Iterable[str]) -> int:
    best = -1
    for p in prefixes:
        p = "" if p == "ALL" else p
        if code.startswith(p):
            best = max(best, len(p))
    return best


def enabled(code: str, select: Iterable[str], ignore: Iterable[str]) -> bool:
    s = _longest(code, select)
    return s >= 0 and s > _longest(code, ignore)


@dataclass(frozen=True)
class ActiveRule:
    rule: Rule
    severity: str
    options: Mapping[str, Any]


@dataclass(frozen=True)
class Selection:
    rules: tuple[ActiveRule, ...]
    skipped_token_rules: tuple[str, ...]
    per_file_ignores: Mapping[str, tuple[str, ...]]

    @property
    def needs_tokenizer(self) -> bool:
        return any(a.rule.needs_tokenizer for a in self.rules)

    def ignored_for(self, path: str, code: str) -> bool:
        return any(fnmatch(path, glob) and _longest(code, codes) >= 0
                   for glob, codes in self.per_file_ignores.items())


def _severity(code: str, default: str, overrides: Mapping[str, str]) -> str:
    best, sev = -1, default
    for prefix, value in overrides.items():
        if code.startswith(prefix) and len(prefix) > best:
            best, sev = len(prefix), value
    return sev


def select_rules(rules: Mapping[str, Rule], spec_rules: RulesSpec, *, has_tokenizer: bool,
                 cli_select: tuple[str, ...] | None = None, cli_ignore: tuple[str, ...] = (),
                 cli_extend: tuple[str, ...] = (), source: str = "", stage: str = "check") -> Selection:
    """The active rules of a `stage`: `check` leaves out the rules only a forward pass can run;
    `dryrun` keeps the rules with a dryrun function (its own and the mask rules it confirms)."""
    select = list(cli_select if cli_select is not None else (spec_rules.select or ("ALL",)))
    select += [*spec_rules.extend_select, *cli_extend]
    ignore = [*spec_rules.ignore, *cli_ignore]
    for prefix in select:
        if prefix != "ALL" and not any(c.startswith(prefix) for c in rules):
            raise SourceError(source, None, "rules.select", f"{prefix!r} matches no rule")
    if not has_tokenizer:
        for prefix in select:
            matched = [r for c, r in rules.items() if prefix != "ALL" and c.startswith(prefix)]
            if matched and all(r.needs_tokenizer for r in matched):
                raise SourceError(source, None, "rules.select",
                                  f"{prefix} needs a tokenizer, but model.tokenizer is not set")
    active, skipped = [], []
    for code, rule in rules.items():
        if not enabled(code, select, ignore):
            continue
        if (stage == "check" and rule.stage != "check") or (stage == "dryrun" and rule.check.dryrun is None):
            continue
        if rule.needs_tokenizer and not has_tokenizer:
            skipped.append(code)
            continue
        options = {**rule.default_options(), **spec_rules.options.get(code, {})}
        if rule.options_schema:
            try:
                jsonschema.validate(options, rule.options_schema)
            except jsonschema.ValidationError as exc:
                raise SourceError(source, None, f"rules.options.{code}", exc.message) from None
        elif spec_rules.options.get(code):
            raise SourceError(source, None, f"rules.options.{code}", f"{code} takes no options")
        active.append(ActiveRule(rule, _severity(code, rule.severity, spec_rules.severity), options))
    return Selection(tuple(active), tuple(skipped), spec_rules.per_file_ignores)
