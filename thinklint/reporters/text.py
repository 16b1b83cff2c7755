"""ruff-like text: `path:line: CODE [severity] message`, a summary, and --statistics."""

from __future__ import annotations

from thinklint.model import Finding
from thinklint.reporters import Report

_COLORS = {"error": "31", "warning": "33", "info": "34"}


def _c(text: str, code: str, on: bool) -> str:
    return f"\x1b[{code}m{text}\x1b[0m" if on else text


def location(f: Finding) -> str:
    if f.line is not None:
        return f"{f.path}:{f.line}"
    if f.sample is not None:
        return f"{f.path}[{f.sample}]"
    return f.path


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def render(report: Report) -> str:
    lines: list[str] = []
    on = report.color
    if not report.statistics and on:
        for f in report.findings:
            lines.append(f"{_c(location(f), '1', on)}: {_c(f.rule, _COLORS[f.severity], on)} "
                         f"[{f.severity}] {f.message}")
    elif not report.statistics:  # the same without colour, written out: a cached run prints thousands of these
        lines.extend([f"{f.path}:{f.line}: {f.rule} [{f.severity}] {f.message}" if f.line is not None else
                      f"{f.path}[{f.sample}]: {f.rule} [{f.severity}] {f.message}" if f.sample is not None else
                      f"{f.path}: {f.rule} [{f.severity}] {f.message}" for f in report.findings])
    by_rule = report.by_rule
    if by_rule and (report.statistics or report.findings):
        if lines:
            lines.append("")
        width = max(len(str(n)) for n in by_rule.values())
        for code, n in by_rule.items():
            rule = report.rules.get(code)
            name = rule.name if rule else ""
            sev = next(f.severity for f in report.findings if f.rule == code)
            lines.append(f"{n:>{width}}  {_c(code, _COLORS[sev], on)}  {name}")
    errors, warnings, infos = (report.count(s) for s in ("error", "warning", "info"))
    scope = f"in {_plural(report.samples, 'sample')} ({_plural(report.files, 'file')})"
    if report.findings:
        parts = [_plural(errors, "error"), _plural(warnings, "warning")] + ([_plural(infos, "note")] if infos else [])
        lines.append(f"Found {', '.join(parts)} {scope}.")
    else:
        lines.append(f"All checks passed {scope}.")
    lines += _fix_lines(report)
    if report.skipped_token_rules:
        lines.append(f"Skipped {len(report.skipped_token_rules)} token-level rules "
                     "(MSK, TPL, TRN): set model.tokenizer to run them.")
    return "\n".join(lines) + "\n"


def _fix_lines(report: Report) -> list[str]:
    """ruff's fix summary: what --fix fixed, or what it would, and what needs --unsafe-fixes."""
    hidden = (f"{report.hidden_fixes:,} hidden fix{'' if report.hidden_fixes == 1 else 'es'} can be enabled with the --unsafe-fixes option"
              if report.hidden_fixes else "")
    if report.fixed is not None:
        remaining = f"Fixed {_plural(report.fixed, 'finding')} ({len(report.findings):,} remaining)"
        return [remaining + (f"; {hidden}." if hidden else ".")]
    if report.fixable:
        return [f"[*] {report.fixable:,} fixable with the --fix option" + (f" ({hidden})." if hidden else ".")]
    return [f"No fixes available ({hidden})."] if hidden else []
