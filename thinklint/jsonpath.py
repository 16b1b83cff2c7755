"""JSON paths into decoded records: read a value, replace one without touching the original.

A path is a tuple of object keys (str) and array indices (int), as `Message.source` and
`Edit.path` hold them. Rules read with `value_at`; the fixer writes with `replaced`, copying only
the containers along the path, so that the record as read stays available for diffs and checks.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class _Missing:
    """What `value_at` returns for a path that does not exist (None is a JSON value)."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


def _step(container: Any, key: str | int) -> Any:
    if isinstance(container, dict) and isinstance(key, str):
        return container.get(key, MISSING)
    if isinstance(container, list) and isinstance(key, int) and not isinstance(key, bool):
        return container[key] if 0 <= key < len(container) else MISSING
    return MISSING


def value_at(value: Any, path: Sequence[str | int]) -> Any:
    """The value at `path`, or MISSING."""
    for key in path:
        value = _step(value, key)
        if value is MISSING:
            return MISSING
    return value


def replaced(value: Any, path: Sequence[str | int], new: Any) -> Any:
    """A copy of `value` with the value at `path` (which must exist) replaced by `new`."""
    if not path:
        return new
    head, rest = path[0], path[1:]
    child = _step(value, head)
    if child is MISSING:
        raise KeyError(f"no {head!r} in the record")
    if isinstance(value, dict):
        out_d = dict(value)  # keeps key order
        out_d[head] = replaced(child, rest, new)
        return out_d
    out_l = list(value)
    out_l[head] = replaced(child, rest, new)  # type: ignore[index]
    return out_l


def overlaps(a: Sequence[str | int], b: Sequence[str | int]) -> bool:
    """True when one path lies inside the other (edits to them cannot both apply)."""
    n = min(len(a), len(b))
    return tuple(a[:n]) == tuple(b[:n])


def same(a: Any, b: Any) -> bool:
    """JSON equality that tells 1 from true and 1 from 1.0 and minds key order (text would differ)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return bool(a == b)
