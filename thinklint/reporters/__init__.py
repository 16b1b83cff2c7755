"""Reporters turn a finished run into text; one module per format, none of them touches rules."""

from __future__ import annotations

import importlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Mapping

from thinklint.catalog import Rule
from thinklint.context import DatasetStats
from thinklint.model import Finding


@dataclass(frozen=True)
class Report:
    findings: tuple[Finding, ...]
    files: int
    samples: int
    rules: Mapping[str, Rule]
    datasets: Mapping[str, DatasetStats] = field(default_factory=dict)
    statistics: bool = False
    color: bool = False
    skipped_token_rules: tuple[str, ...] = ()
    cutoff_len: int | None = None
    extras: Mapping[str, object] = field(default_factory=dict)
    #: findings --fix fixed in this run (None: not fixing)
    fixed: int | None = None
    #: findings with a fix --fix would apply, and with one that needs --unsafe-fixes
    fixable: int = 0
    hidden_fixes: int = 0

    def count(self, severity: str) -> int:
        return sum(1 for f in self.findings if f.severity == severity)

    @property
    def by_rule(self) -> dict[str, int]:
        return dict(sorted(Counter(f.rule for f in self.findings).items()))


def render(fmt: str, report: Report) -> str:
    return _renderer(fmt)(report)


_MODULES = {"text": "text", "json": "json", "sarif": "sarif", "github": "github", "html": "html"}


def _renderer(fmt: str) -> Callable[[Report], str]:
    # imported on demand: a text run should not pay for the HTML or SARIF code
    if fmt not in _MODULES:
        raise ValueError(f"unknown output format {fmt!r}")
    module = importlib.import_module(f"thinklint.reporters.{_MODULES[fmt]}")
    renderer: Callable[[Report], str] = module.render
    return renderer


FORMATS = tuple(_MODULES)
