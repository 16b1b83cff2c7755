"""The JSON contract of the design note: one object with `findings` and `summary`."""

from __future__ import annotations

import json

from thinklint.reporters import Report


def render(report: Report) -> str:
    payload = {
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
    return json.dumps(payload, indent=2, ensure_ascii=False) + "\n"
