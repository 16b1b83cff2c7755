"""Reporters turn a finished run into text; one module per format, none of them touches rules."""

from __future__ import annotations

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

    def count(self, severity: str) -> int:
        return sum(1 for f in self.findings if f.severity == severity)

    @property
    def by_rule(self) -> dict[str, int]:
        return dict(sorted(Counter(f.rule for f in self.findings).items()))


def render(fmt: str, report: Report) -> str:
    return _renderer(fmt)(report)


def _renderer(fmt: str) -> Callable[[Report], str]:
    # imported on demand: a text run should not pay for the HTML or SARIF code
    if fmt == "text":
        from thinklint.reporters.text import render as r
    elif fmt == "json":
        from thinklint.reporters.json import render as r
    elif fmt == "sarif":
        from thinklint.reporters.sarif import render as r
    elif fmt == "github":
        from thinklint.reporters.github import render as r
    elif fmt == "html":
        from thinklint.reporters.html import render as r
    else:
        raise ValueError(f"unknown output format {fmt!r}")
    return r


FORMATS = ("text", "json", "sarif", "github", "html")
