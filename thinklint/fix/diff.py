"""Unified diffs of what --fix would write, as ruff's --diff prints them (`--- path` / `+++ path`).

A JSONL fix rewrites lines one for one, so hunks are built from the changed lines and their
context without diffing whole files; JSON arrays are diffed as text; Parquet rows are shown as
one JSON line per row, numbered from 1.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable

from thinklint.fix.writers import Change

CONTEXT = 3


def _line(mark: str, raw: bytes) -> str:
    # a CRLF line keeps its CR, as diff(1) prints it: the diff then applies with patch(1)
    body = raw[:-1] if raw.endswith(b"\n") else raw
    out = mark + body.decode("utf-8", "replace") + "\n"
    return out if raw.endswith(b"\n") else out + "\\ No newline at end of file\n"


def lines_diff(display: str, patches: dict[int, tuple[bytes, bytes]], lines: Iterable[bytes]) -> str:
    """The diff of a file whose lines `patches` replace (line -> (old, new)); `lines` are the
    file's lines, read for the context."""
    groups: list[list[int]] = []
    for n in sorted(patches):
        if groups and n - groups[-1][1] <= 2 * CONTEXT:
            groups[-1][1] = n
        else:
            groups.append([n, n])
    need = {k for a, b in groups for k in range(max(1, a - CONTEXT), b + CONTEXT + 1)}
    kept: dict[int, bytes] = {}
    total = 0
    for total, raw in enumerate(lines, 1):
        if total in need:
            kept[total] = raw
    out = [f"--- {display}\n", f"+++ {display}\n"]
    for a, b in groups:
        lo, hi = max(1, a - CONTEXT), min(total, b + CONTEXT)
        out.append(f"@@ -{lo},{hi - lo + 1} +{lo},{hi - lo + 1} @@\n")
        for n in range(lo, hi + 1):
            if n in patches:
                out += [_line("-", patches[n][0]), _line("+", patches[n][1])]
            else:
                out.append(_line(" ", kept[n]))
    return "".join(out)


def text_diff(display: str, old: str, new: str) -> str:
    return "".join(f"{line}\n" for line in difflib.unified_diff(
        old.splitlines(), new.splitlines(), display, display, n=CONTEXT, lineterm=""))


def rows_diff(display: str, changes: list[Change]) -> str:
    """Parquet: each changed row as a JSON line (the file itself is binary)."""
    out = [f"--- {display} (rows as JSON)\n", f"+++ {display} (rows as JSON)\n"]
    for c in sorted(changes, key=lambda c: c.index):
        row = c.index + 1
        out += [f"@@ -{row},1 +{row},1 @@\n",
                "-" + json.dumps(c.old, ensure_ascii=False, default=str) + "\n",
                "+" + json.dumps(c.new, ensure_ascii=False, default=str) + "\n"]
    return "".join(out)
