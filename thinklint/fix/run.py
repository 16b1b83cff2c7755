"""--fix and --diff: which findings get fixed, file by file; the writers do the writing.

The findings of the check that just ran say which samples of which files have a fix to apply;
each such file is read again record by record, each such record is fixed in rounds (`apply`),
and the file is written back in its own format (`writers`) or shown as a diff. A file with a
record that cannot be parsed, or that belongs to two datasets, is left as it is, with a note.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from thinklint.context import Context
from thinklint.engine import build_contexts
from thinklint.fix import diff, writers
from thinklint.fix.apply import fix_record
from thinklint.fix.writers import Change, WriteError
from thinklint.jsonpath import same
from thinklint.model import Finding
from thinklint.planning import WorkItem, plan
from thinklint.profiles import Profile
from thinklint.readers.files import DEFAULT_MAX_LINE_BYTES, FileError, read_records
from thinklint.selection import Selection
from thinklint.settings import Settings
from thinklint.spec import Spec

#: record problems that make a file unsafe to rewrite: part of it was never understood
UNPARSEABLE = frozenset({"invalid_json", "line_too_long", "unreadable"})

#: sample index -> (rule, message) of the findings the run showed for it
Targets = dict[int, set[tuple[str, str]]]


@dataclass
class Outcome:
    fixed: int = 0  # findings fixed (with --diff: that would be)
    files: list[str] = field(default_factory=list)  # files changed (with --diff: that would be)
    diffs: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # files or samples left as they were, and why
    hidden: int = 0  # findings whose fix is unsafe, while --unsafe-fixes is off


class _Unchanged(Exception):
    """Nothing to write after all: the temporary file is dropped, the file is not touched."""


class _Refused(Exception):
    """The file is not rewritten (the message says why)."""


def applicable(f: Finding, unsafe: bool) -> bool:
    return f.fix is not None and (f.fix.safe or unsafe)


def run_fixes(spec: Spec, settings: Settings, profile: Profile, selection: Selection,
              findings: Sequence[Finding], write: bool) -> Outcome:
    """Fix the visible `findings` that have an applicable fix; write the files, or (not `write`)
    only collect their diffs."""
    unsafe = settings.unsafe_fixes
    out = Outcome(hidden=sum(1 for f in findings if f.fix is not None and not f.fix.safe and not unsafe))
    targets: dict[str, Targets] = {}
    for f in findings:
        if applicable(f, unsafe) and f.sample is not None:
            targets.setdefault(f.path, {}).setdefault(f.sample, set()).add((f.rule, f.message))
    if not targets:
        return out
    # only fixable rules run while fixing: the token layer is never needed to repair a record
    fixers = replace(selection, rules=tuple(a for a in selection.rules if a.rule.fixable != "never"))
    contexts = build_contexts(spec, profile, None, _special_tokens(spec))
    items: dict[str, list[WorkItem]] = {}
    for item in plan(spec, settings.paths):
        if item.path is not None:
            items.setdefault(item.display, []).append(item)
    max_line = settings.max_line_bytes or DEFAULT_MAX_LINE_BYTES
    for display in sorted(targets):
        found = items.get(display, [])
        if len(found) != 1:
            if found:
                out.notes.append(f"{display}: not fixed: the file belongs to more than one dataset")
            continue
        job = _FileJob(found[0], contexts[found[0].dataset.name], fixers, targets[display], unsafe, max_line)
        job.run(write, out)
    return out


def _special_tokens(spec: Spec) -> dict[str, str]:
    from thinklint.tokenizer_files import special_tokens

    return dict(special_tokens(spec))


@dataclass
class _FileJob:
    item: WorkItem
    ctx: Context
    selection: Selection
    targets: Targets
    unsafe: bool
    max_line: int
    fixed: int = 0
    notes: list[str] = field(default_factory=list)

    def changes(self) -> Iterator[Change]:
        """The changed records of the file, in file order, fixed as they are read."""
        assert self.item.path is not None
        try:
            for record in read_records(self.item.path, self.max_line):
                if record.error_kind in UNPARSEABLE:
                    where = f"line {record.line}" if record.line is not None else f"sample {record.index}"
                    raise _Refused(f"not fixed: {where} cannot be parsed ({record.error})")
                want = self.targets.get(record.index) if record.index is not None else None
                if not want:
                    continue
                result = fix_record(record, self.item, self.ctx, self.selection, self._accept(want))
                if result.problem:
                    self.notes.append(f"{self.item.display}:{record.line or record.index}: {result.problem}")
                if result.fixed and not same(result.value, record.value):
                    self.fixed += result.fixed
                    yield Change(record.index or 0, record.line, record.value, result.value)
        except FileError as exc:
            raise _Refused(f"not fixed: {exc}") from None

    def _accept(self, want: set[tuple[str, str]]) -> Any:
        declined: set[tuple[str, str]] = set()

        def accept(f: Finding, round_: int) -> bool:
            # the first round fixes what the report showed (a baselined finding is not shown, so
            # not fixed); later rounds what the repairs themselves revealed, but never a finding the
            # first round declined, which is still there because it was not fixed
            key = (f.rule, f.message)
            if round_ == 0 and key not in want:
                declined.add(key)
                return False
            return applicable(f, self.unsafe) and key not in declined
        return accept

    def run(self, write: bool, out: Outcome) -> None:
        path, display = self.item.path, self.item.display
        assert path is not None
        try:
            kind = writers.layout(path)
            if kind == "jsonl":
                shown = self._jsonl(write)
            else:
                changes = list(self.changes())
                if not changes:
                    raise _Unchanged
                shown = self._whole(kind, changes, write)
        except _Unchanged:
            out.notes += self.notes
            return
        except _Refused as exc:
            out.notes += [*self.notes, f"{display}: {exc}"]
            return
        except (WriteError, OSError, ValueError) as exc:  # the original stays as it was
            out.notes += [*self.notes, f"{display}: not fixed: {exc}"]
            return
        out.notes += self.notes
        out.fixed += self.fixed
        out.files.append(display)
        if shown:
            out.diffs.append(shown)

    def _jsonl(self, write: bool) -> str:
        path = self.item.path
        assert path is not None
        if not write:
            patched = writers.stream_jsonl(path, self.changes(), None)
            if not patched:
                raise _Unchanged
            return diff.lines_diff(self.item.display, patched, writers.lines(path))
        with writers.output(path) as fh:
            if not writers.stream_jsonl(path, self.changes(), fh):
                raise _Unchanged
        return ""

    def _whole(self, kind: str, changes: list[Change], write: bool) -> str:
        path = self.item.path
        assert path is not None
        if kind == "parquet":
            if write:
                writers.write_parquet(path, changes)
                return ""
            writers.check_parquet(path, changes)
            return diff.rows_diff(self.item.display, changes)
        text = writers.array_text(path)
        new = writers.patched_array(text, changes)
        if write:
            writers.write_text(path, new)
            return ""
        return diff.text_diff(self.item.display, text, new)
