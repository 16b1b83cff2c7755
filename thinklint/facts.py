"""What one sample contributes to a run, without its location: the unit the cache stores.

A sample's findings depend on its bytes and on the run's configuration, never on where it sits in
its file, so they are kept without path, line and index and placed at the current ones when
reused. With the sample's thinking mode (for the dataset-level ratio rule) and its token length
(for the HTML report) that is all a sample adds to a result. Everything here is plain JSON data.
"""

from __future__ import annotations

from typing import Any, Mapping, Protocol, Sequence

from thinklint.model import Edit, Finding, Fix

#: (rule, category, severity, message, turn, fix)
FindingFacts = tuple[str, str, str, str, "int | None", "Any"]
#: (thinking: 1 thinking, 0 non-thinking, None neither/unknown; findings; untruncated token length or None)
SampleFacts = tuple["int | None", tuple[FindingFacts, ...], "int | None"]


class Known(Protocol):
    """What a cache knows of a file's samples (`thinklint.entries.Entry`): rows by key, facts by row."""

    @property
    def rows(self) -> Mapping[bytes, int]: ...

    def key(self, row: int) -> bytes: ...

    def digest(self, row: int) -> str: ...

    def facts(self, row: int) -> SampleFacts: ...


def thinking_code(thinking: bool | None) -> int | None:
    return None if thinking is None else int(thinking)


def _fix_facts(fix: Fix | None) -> Any:
    if fix is None:
        return None
    return [fix.description, fix.safe, [[list(e.path), e.old, e.new] for e in fix.edits]]


def _fix(data: Any) -> Fix | None:
    if data is None:
        return None
    description, safe, edits = data
    return Fix(description, tuple(Edit(tuple(p), old, new) for p, old, new in edits), bool(safe))


def sample_facts(thinking: bool | None, findings: Sequence[Finding], length: int | None = None) -> SampleFacts:
    return thinking_code(thinking), tuple(
        (f.rule, f.category, f.severity, f.message, f.turn, _fix_facts(f.fix)) for f in findings), length


def place(facts: SampleFacts, path: str, line: int | None, index: int | None, digest: str) -> list[Finding]:
    """The findings of `facts`, placed where the sample is now."""
    return [Finding(rule=rule, category=category, severity=severity, path=path, line=line,  # type: ignore[arg-type]
                    sample=index, message=message, turn=turn, fix=_fix(fix), digest=digest)
            for rule, category, severity, message, turn, fix in facts[1]]


def freeze_finding(data: Any) -> FindingFacts | None:
    """A finding's facts as read back from a cache file, or None when they do not have that shape.

    A cache file is read, never trusted: every part is checked.
    """
    if not (isinstance(data, list) and len(data) == 6 and all(isinstance(x, str) for x in data[:4])
            and (data[4] is None or (isinstance(data[4], int) and not isinstance(data[4], bool)))):
        return None
    fix = data[5]
    if fix is not None and not (isinstance(fix, list) and len(fix) == 3 and isinstance(fix[0], str)
                                and isinstance(fix[1], bool) and isinstance(fix[2], list)
                                and all(isinstance(e, list) and len(e) == 3 and isinstance(e[0], list)
                                        for e in fix[2])):
        return None
    return data[0], data[1], data[2], data[3], data[4], fix
