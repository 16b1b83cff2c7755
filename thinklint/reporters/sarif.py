"""SARIF 2.1.0 for GitHub code scanning: rule descriptors, stable fingerprints, capped output.

GitHub displays at most 5,000 results of a run; past that, results are aggregated into one
result per rule that says how many were left out, so no rule silently disappears.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any
from urllib.parse import quote

from thinklint import __version__
from thinklint.baseline import fingerprint
from thinklint.catalog import Rule
from thinklint.model import Finding
from thinklint.reporters import Report

MAX_RESULTS = 5000
SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFO_URI = "https://github.com/thinklint/thinklint"
_LEVEL = {"error": "error", "warning": "warning", "info": "note"}


def _descriptor(rule: Rule) -> dict[str, Any]:
    docs = rule.docs
    help_md = "\n\n".join(f"## {title}\n\n{docs[key]}" for key, title in (
        ("what_it_does", "What it does"), ("why_is_this_bad", "Why is this bad?"),
        ("example", "Example"), ("use_instead", "Use instead")) if docs.get(key))
    return {
        "id": rule.code,
        "name": "".join(w.capitalize() for w in rule.name.split("-")),
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": str(docs.get("what_it_does", rule.summary)).strip()},
        "help": {"text": help_md or rule.summary, "markdown": help_md or rule.summary},
        "defaultConfiguration": {"level": _LEVEL[rule.severity]},
        "properties": {"category": rule.category, "tags": ["thinklint", rule.category]},
    }


def _location(f: Finding) -> dict[str, Any]:
    # a URI reference (RFC 3986), as SARIF requires: `#`, `?`, `%`, a space or a `:` in a name escaped
    uri = quote(f.path.replace("\\", "/"), safe="/")
    physical: dict[str, Any] = {"artifactLocation": {"uri": uri, "uriBaseId": "%SRCROOT%"}}
    # GitHub places an alert only by region.startLine; a finding without a line (a JSON array
    # element, a Parquet row, a whole file) is anchored at line 1, its sample named below
    physical["region"] = {"startLine": f.line if f.line is not None else 1}
    loc: dict[str, Any] = {"physicalLocation": physical}
    if f.sample is not None:
        loc["logicalLocations"] = [{"name": f"sample {f.sample}", "kind": "element"}]
    return loc


def _result(f: Finding, index: dict[str, int], message: str | None = None) -> dict[str, Any]:
    return {
        "ruleId": f.rule,
        "ruleIndex": index[f.rule],
        "level": _LEVEL[f.severity],
        "message": {"text": message or f.message},
        "locations": [_location(f)],
        "partialFingerprints": {"thinklint/v1": fingerprint(f)},
    }


def render(report: Report) -> str:
    used = sorted({f.rule for f in report.findings} | set(report.rules))
    rules = [report.rules[c] for c in used if c in report.rules]
    index = {r.code: i for i, r in enumerate(rules)}
    ordered = sorted(report.findings, key=lambda f: ("error", "warning", "info").index(f.severity))
    # GitHub ignores results past MAX_RESULTS, so the per-rule summaries of what is left out must
    # fit under the cap too: keep fewer findings until kept + one summary per left-out rule fits
    keep = min(len(ordered), MAX_RESULTS)
    while keep + len({f.rule for f in ordered[keep:]}) > MAX_RESULTS and keep > 0:
        keep = max(0, MAX_RESULTS - len({f.rule for f in ordered[keep:]}))
    kept, dropped = ordered[:keep], ordered[keep:]
    results = [_result(f, index) for f in kept]
    left_out: dict[str, list[Finding]] = defaultdict(list)
    for f in dropped:
        left_out[f.rule].append(f)
    for code, fs in sorted(left_out.items()):
        results.append(_result(fs[0], index, f"{len(fs)} more {code} findings not listed: SARIF output is "
                               f"capped at {MAX_RESULTS} results (first: {fs[0].message})"))
    run: dict[str, Any] = {
        "tool": {"driver": {"name": "thinklint", "version": __version__, "semanticVersion": __version__,
                            "informationUri": INFO_URI, "rules": [_descriptor(r) for r in rules]}},
        "results": results,
        "columnKind": "unicodeCodePoints",
    }
    if dropped:
        run["properties"] = {"truncated": True, "totalResults": len(report.findings)}
    return json.dumps({"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}, indent=2, ensure_ascii=False) + "\n"
