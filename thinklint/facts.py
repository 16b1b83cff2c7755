"""What one sample contributes to a run, without its location: the unit the cache stores.

A sample's findings depend on its bytes and on the run's configuration, never on where it sits in
its file, so they are kept without path, line and index and placed at the current ones when
reused. With the sample's thinking mode (for the dataset-level ratio rule) and its token length
(for the HTML report) that is all a sample adds to a result. Everything here is plain JSON data.
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

from thinklint.model import Edit, Finding, Fix

#: (rule, category, severity, message, turn, fix)
FindingFacts = tuple[str, str, str, str, "int | None", "Any"]
#: (thinking: 1 thinking, 0 non-thinking, None neither/unknown; findings; untruncated token length or None)
SampleFacts = tuple["int | None", tuple[FindingFacts, ...], "int | None"]


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


def sample_facts(thinking: int | None, findings: Sequence[Finding], length: int | None = None) -> SampleFacts:
    """What the cache keeps of a checked sample; `thinking` is its mode coded by `thinking_code`."""
    return thinking, tuple(
        (f.rule, f.category, f.severity, f.message, f.turn, _fix_facts(f.fix)) for f in findings), length


def place(facts: SampleFacts, path: str, line: int | None, index: int | None, digest: str) -> list[Finding]:
    """The findings of `facts`, placed where the sample is now."""
    if not _PLAIN:
        return [Finding(rule=rule, category=category, severity=severity, path=path, line=line,  # type: ignore[arg-type]
                        sample=index, message=message, turn=turn, fix=_fix(fix), digest=digest)
                for rule, category, severity, message, turn, fix in facts[1]]
    out = []
    for rule, category, severity, message, turn, fix in facts[1]:
        # placing cached findings is most of a cached run's work: the frozen dataclass's __init__
        # sets each field through object.__setattr__, filling __dict__ directly is twice as fast
        f = _new(Finding)
        f.__dict__.update(rule=rule, category=category, severity=severity, path=path, line=line, sample=index,
                          message=message, turn=turn, fix=_fix(fix), digest=digest)
        out.append(f)
    return out


_new = object.__new__
#: Finding is a plain dataclass whose __init__ only stores its fields (no slots, no __post_init__)
_PLAIN = not hasattr(Finding, "__post_init__") and not hasattr(Finding, "__slots__") and \
    list(Finding.__dataclass_fields__) == ["rule", "category", "severity", "path", "line", "sample", "message",
                                           "turn", "fix", "digest"]


class Placer:
    """Places findings of a table of distinct ones (a cache entry's), each converted once: a placed
    finding is a copy of its distinct finding's fields with its place filled in."""

    def __init__(self, table: Sequence[FindingFacts], path: str) -> None:
        self._table = table
        self._path = path
        self._fields: dict[int, dict[str, Any]] = {}

    def place(self, hits: Iterable[tuple[Any, Any, int, int]], starts: Sequence[int], numbers: Sequence[int],
              digests: bytes, width: int, into: list[Finding]) -> None:
        """The findings of samples found again at (line, index, row, size), into `into`: row r's are numbered
        numbers[starts[r]:starts[r + 1]] in the table, its digest is the r-th `width` bytes of `digests`."""
        table, path = self._table, self._path
        if not _PLAIN:
            for line, index, row, _size in hits:
                found = tuple(table[n] for n in numbers[starts[row]:starts[row + 1]])
                into.extend(place((None, found, None), path, line, index, digests[width * row:width * row + width].hex()))
            return
        made, append, new = self._fields, into.append, _new
        for line, index, row, _size in hits:
            first, last = starts[row], starts[row + 1]
            if first == last:
                continue
            digest = digests[width * row:width * row + width].hex()
            for number in numbers[first:last]:
                fields = made.get(number)
                if fields is None:
                    rule, category, severity, message, turn, fix = table[number]
                    fields = made[number] = {"rule": rule, "category": category, "severity": severity, "path": path,
                                             "line": None, "sample": None, "message": message, "turn": turn,
                                             "fix": _fix(fix), "digest": ""}
                f = new(Finding)
                values = f.__dict__
                values.update(fields)
                values["line"] = line
                values["sample"] = index
                values["digest"] = digest
                append(f)

def valid_fix(fix: Any) -> bool:
    """Whether a fix read back from a cache file has the shape `_fix_facts` gives (None: no fix)."""
    return fix is None or (isinstance(fix, list) and len(fix) == 3 and isinstance(fix[0], str)
                           and isinstance(fix[1], bool) and isinstance(fix[2], list)
                           and all(isinstance(e, list) and len(e) == 3 and isinstance(e[0], list) for e in fix[2]))
