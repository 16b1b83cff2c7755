"""The JSON contract of the design note: one object with `findings` and `summary`."""

from __future__ import annotations

import json
from typing import Any

from thinklint.reporters import Report


def payload(report: Report) -> dict[str, Any]:
    """The contract as a dict, for commands that add keys of their own (`thinklint dryrun`)."""
    return {
        "findings": [
            {"rule": f.rule, "category": f.category, "severity": f.severity, "path": f.path,
             "line": f.line, "sample": f.sample, "message": f.message}
            for f in report.findings
        ],
        "summary": {
            "files": report.files,
            "samples": report.samples,
            "errors": report.count("error"),
            "warnings": report.count("warning"),
            "by_rule": report.by_rule,
        },
    }


def render(report: Report) -> str:
    return json.dumps(payload(report), indent=2, ensure_ascii=False) + "\n"
