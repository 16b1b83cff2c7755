"""GitHub Actions workflow commands: annotations on the data files, capped, with a summary."""

from __future__ import annotations

from thinklint.reporters import Report
from thinklint.reporters.text import _plural, location

#: GitHub shows at most 10 annotations of a kind per step and 50 per job; more is noise
MAX_ANNOTATIONS = 50
_LEVEL = {"error": "error", "warning": "warning", "info": "notice"}


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render(report: Report) -> str:
    lines = []
    ordered = sorted(report.findings, key=lambda f: ("error", "warning", "info").index(f.severity))
    for f in ordered[:MAX_ANNOTATIONS]:
        rule = report.rules.get(f.rule)
        title = f"{f.rule} {rule.name}" if rule else f.rule
        props = [f"file={escape_property(f.path)}"]
        if f.line is not None:
            props.append(f"line={f.line}")
        props.append(f"title={escape_property(title)}")
        where = "" if f.line is not None or f.sample is None else f"sample {f.sample}: "
        lines.append(f"::{_LEVEL[f.severity]} {','.join(props)}::{escape_data(where + f.message)}")
    rest = ordered[MAX_ANNOTATIONS:]
    if rest:
        lines.append(f"::notice title=thinklint::{len(rest)} more findings not annotated "
                     f"(first: {escape_data(location(rest[0]))}); run thinklint check locally for all")
    errors, warnings = report.count("error"), report.count("warning")
    lines.append(f"thinklint: {_plural(errors, 'error')}, {_plural(warnings, 'warning')} in "
                 f"{_plural(report.samples, 'sample')} ({_plural(report.files, 'file')})")
    return "\n".join(lines) + "\n"
