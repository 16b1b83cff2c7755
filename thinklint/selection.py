"""Which rules run, at which severity, with which options: ruff's prefix semantics.

A code is enabled when the longest matching prefix among select/extend-select is longer than
the longest matching prefix among ignore (a tie goes to ignore). `ALL` is the empty prefix.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from fnmatch import fnmatch
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Mapping

from thinklint.catalog import Rule
from thinklint.fsutil import real
from thinklint.spec import RulesSpec
from thinklint.yamlsrc import Located, SourceError


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


@lru_cache(maxsize=4096)
def _relative_to_root(path: str, root: str, cwd: str) -> str:
    """A displayed (cwd-relative) path as seen from the spec's folder, in POSIX form."""
    try:
        return real(Path(cwd) / path).relative_to(root).as_posix()
    except ValueError:  # outside the spec's folder: match the path as displayed
        return path


@dataclass(frozen=True)
class Selection:
    rules: tuple[ActiveRule, ...]
    skipped_token_rules: tuple[str, ...]
    per_file_ignores: Mapping[str, tuple[str, ...]]
    #: the spec's folder (resolved): per-file-ignore globs are relative to it, as in ruff, not to the cwd
    root: Path | None = None

    @property
    def needs_tokenizer(self) -> bool:
        return any(a.rule.needs_tokenizer for a in self.rules)

    def ignored_for(self, path: str, code: str) -> bool:
        if not self.per_file_ignores:
            return False
        where = _relative_to_root(path, str(self.root), os.getcwd()) if self.root else path
        return any(fnmatch(where, glob) and _longest(code, codes) >= 0
                   for glob, codes in self.per_file_ignores.items())


def _severity(code: str, default: str, overrides: Mapping[str, str]) -> str:
    best, sev = -1, default
    for prefix, value in overrides.items():
        if code.startswith(prefix) and len(prefix) > best:
            best, sev = len(prefix), value
    return sev


def select_rules(rules: Mapping[str, Rule], spec_rules: RulesSpec, *, has_tokenizer: bool,
                 cli_select: tuple[str, ...] | None = None, cli_ignore: tuple[str, ...] = (),
                 cli_extend: tuple[str, ...] = (), source: str = "",
                 located: Located | None = None, root: Path | None = None, stage: str = "check") -> Selection:
    """The active rules of a `stage`: `check` leaves out the rules only a forward pass can run;
    `dryrun` keeps the rules with a dryrun function (its own and the mask rules it confirms).
    Errors name where a prefix came from: the spec's key and line, or the flag."""

    def line(*path: str | int) -> int | None:
        return located.line_of(path) if located is not None else None

    # (prefix, where it was written, key, line): a bad prefix from the command line is not the spec's fault
    origins: list[tuple[str, str, str, int | None]]
    if cli_select is not None:
        origins = [(c, "--select", "", None) for c in cli_select]
    else:
        origins = [(c, source, "rules.select", line("rules", "select", i)) for i, c in enumerate(spec_rules.select)]
        origins = origins or [("ALL", source, "rules.select", None)]
    origins += [(c, source, "rules.extend_select", line("rules", "extend_select", i))
                for i, c in enumerate(spec_rules.extend_select)]
    origins += [(c, "--extend-select", "", None) for c in cli_extend]
    if cli_select is not None and not cli_select:  # `--select ''`: no rule would run, and all would "pass"
        raise SourceError("--select", None, "", "no rule code given (leave --select out, or give ALL, to run every rule)")
    select = [c for c, *_ in origins]
    ignore = [*spec_rules.ignore, *cli_ignore]
    # a prefix that matches nothing is a typo wherever it is written: an ignore or a severity that
    # silently does nothing is as wrong as a selection that does
    named = [*origins, *[(c, source, "rules.ignore", line("rules", "ignore", i)) for i, c in enumerate(spec_rules.ignore)],
             *[(c, "--ignore", "", None) for c in cli_ignore],
             *[(c, source, f"rules.severity.{c}", line("rules", "severity", c)) for c in spec_rules.severity],
             *[(c, source, f"rules.per_file_ignores.{glob}", line("rules", "per_file_ignores", glob, i))
               for glob, codes in spec_rules.per_file_ignores.items() for i, c in enumerate(codes)]]
    for prefix, where, key, at in named:
        if prefix != "ALL" and not any(c.startswith(prefix) for c in rules):
            raise SourceError(where, at, key, f"{prefix!r} matches no rule")
    if not has_tokenizer:
        for prefix, where, key, at in origins:
            matched = [r for c, r in rules.items() if prefix != "ALL" and c.startswith(prefix)]
            if matched and all(r.needs_tokenizer for r in matched):
                raise SourceError(where, at, key, f"{prefix} needs a tokenizer, but model.tokenizer is not set")
    # options are checked whether or not their rule runs today: a typo must not wait for the day it does
    options: dict[str, dict[str, Any]] = {}
    for code, given in spec_rules.options.items():
        at, key = line("rules", "options", code), f"rules.options.{code}"
        rule = rules.get(code)
        if rule is None:
            raise SourceError(source, at, key, f"no rule {code} (`thinklint rules` lists them)")
        merged = {**rule.default_options(), **given}
        if rule.options_schema:
            import jsonschema  # only options need it, and it is a third of a structural run's start-up

            try:
                jsonschema.validate(merged, rule.options_schema)
            except jsonschema.ValidationError as exc:
                sub = ".".join(str(p) for p in exc.absolute_path)
                raise SourceError(source, line("rules", "options", code, *exc.absolute_path) or at,
                                  f"{key}.{sub}" if sub else key, exc.message) from None
        elif given:
            raise SourceError(source, at, key, f"{code} takes no options")
        options[code] = merged
    active, skipped = [], []
    for code, rule in rules.items():
        if not enabled(code, select, ignore):
            continue
        if (stage == "check" and rule.stage != "check") or (stage == "dryrun" and rule.check.dryrun is None):
            continue
        if rule.needs_tokenizer and not has_tokenizer:
            skipped.append(code)
            continue
        chosen = options.get(code) or rule.default_options()
        active.append(ActiveRule(rule, _severity(code, rule.severity, spec_rules.severity), chosen))
    return Selection(tuple(active), tuple(skipped), spec_rules.per_file_ignores, root)
