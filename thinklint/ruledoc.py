"""A rule's documentation, rendered from its YAML in ruff's sections."""

from __future__ import annotations

import json
from typing import Any

from thinklint.catalog import Rule

_FIX = {"never": "not available", "safe": "safe (applied by --fix)", "unsafe": "unsafe (needs --unsafe-fixes)"}


def _example(case: dict[str, Any]) -> str:
    if "sample" in case:
        return "```json\n" + json.dumps(case["sample"], ensure_ascii=False) + "\n```"
    if "line" in case:
        return "```\n" + str(case["line"]) + "\n```"
    return "```\n" + str(case.get("file", "")) + "\n```"


def _stage(rule: Rule) -> str:
    if rule.stage == "dryrun":
        return " · Runs under `thinklint dryrun` only (needs a model)"
    if rule.check.dryrun is not None:
        return " · Confirmed in a forward pass by `thinklint dryrun`"
    return ""


def explain(rule: Rule) -> str:
    d = rule.docs
    out = [f"# {rule.name} ({rule.code})", "",
           f"Category: {rule.category} · Default severity: {rule.severity} · Fix: {_FIX[rule.fixable]}"
           + (" · Needs a tokenizer" if rule.needs_tokenizer else "") + _stage(rule), ""]
    for key, title in (("what_it_does", "What it does"), ("why_is_this_bad", "Why is this bad?")):
        if d.get(key):
            out += [f"## {title}", str(d[key]).strip(), ""]
    bad = (rule.examples.get("bad") or [None])[0]
    good = (rule.examples.get("good") or [None])[0]
    if d.get("example") or bad:
        out += ["## Example", str(d.get("example", "")).strip() or _example(bad), ""]
    if d.get("use_instead") or good:
        out += ["## Use instead", str(d.get("use_instead", "")).strip() or _example(good), ""]
    if d.get("fix_safety"):
        out += ["## Fix safety", str(d["fix_safety"]).strip(), ""]
    props = rule.options_schema.get("properties", {})
    if props:
        out.append("## Options")
        for name, sch in props.items():
            out.append(f"- `{name}` (default {json.dumps(sch.get('default'))}): {sch.get('description', '')}")
        out.append("")
    for ref in d.get("references", []):
        out.append(f"- {ref}")
    return "\n".join(out).rstrip() + "\n"
