"""Fixes applied to one decoded record, in rounds, until none applies (as ruff iterates).

Each round runs the fixable rules on the record as it now is and applies every offered fix whose
edits do not overlap an edit already applied in that round and whose old values are still there;
the next round sees the result. A record that still offers fixes after `MAX_ROUNDS` is left as it
was: fixes that do not settle are a bug, and a half-applied set of them is no repair.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from thinklint.context import Context
from thinklint.engine import FileResult, run_rules
from thinklint.jsonpath import overlaps, replaced, same, value_at
from thinklint.model import Finding, Fix
from thinklint.planning import WorkItem
from thinklint.readers.files import Record
from thinklint.readers.formats import normalise
from thinklint.selection import Selection

MAX_ROUNDS = 100  # as ruff: a pre-rendered text takes one round per repaired turn


def apply_round(value: Any, fixes: Sequence[Fix]) -> tuple[Any, list[bool]]:
    """`value` with every fix applied that can be, in order, and which of them were (a fix equal to
    one applied counts as applied: two findings may offer the same repair)."""
    done: list[Fix] = []
    taken: list[tuple[str | int, ...]] = []
    flags = []
    for fx in fixes:
        if any(fx == d for d in done):
            flags.append(True)
            continue
        paths = [e.path for e in fx.edits]
        clash = any(overlaps(a, b) for i, a in enumerate(paths) for b in paths[i + 1:])
        clash = clash or any(overlaps(a, b) for a in paths for b in taken)
        if clash or not all(same(value_at(value, e.path), e.old) for e in fx.edits):
            flags.append(False)  # another fix got there first: the next round sees the result
            continue
        for e in fx.edits:
            value = replaced(value, e.path, e.new)
        done.append(fx)
        taken += paths
        flags.append(True)
    return value, flags


@dataclass(frozen=True)
class RecordFix:
    value: Any  # the record after fixing (the original when nothing applied or it did not settle)
    fixed: int  # findings whose fix was applied
    problem: str | None = None


def fix_record(record: Record, item: WorkItem, ctx: Context, selection: Selection,
               wanted: Callable[[Finding, int], bool]) -> RecordFix:
    """Fix one record with the fixes `wanted(finding, round)` accepts."""
    value, fixed = record.value, 0
    for round_ in range(MAX_ROUNDS):
        sample = normalise(replace(record, value=value), item.dataset, item.display, ctx.profile,
                           ctx.special_tokens)
        if not sample.ok:  # a repair must never break a record; keep the one that was read
            return RecordFix(record.value, 0, "a fix left the sample unreadable; sample left unchanged")
        out = FileResult(item.display, item.dataset.name)
        run_rules(sample, ctx, selection, out)
        if out.errors:
            return RecordFix(record.value, 0, out.errors[0].splitlines()[0])
        offered = [f for f in out.findings if f.fix is not None and wanted(f, round_)]
        if not offered:
            return RecordFix(value, fixed)
        value, flags = apply_round(value, [f.fix for f in offered if f.fix is not None])
        if not any(flags):
            return RecordFix(value, fixed)
        fixed += sum(flags)
    return RecordFix(record.value, 0, f"fixes did not settle after {MAX_ROUNDS} rounds; sample left unchanged")
