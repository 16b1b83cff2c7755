"""Baselines: accept today's findings, fail only on new ones (JSONL cannot carry noqa comments).

A finding's fingerprint is its rule, file, the hash of its sample's bytes and its message, not
its line: inserting lines above a known finding does not make it new, editing its sample does.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from functools import lru_cache
from pathlib import Path
from typing import Iterable

from thinklint.fsutil import atomic_write, real
from thinklint.model import Finding
from thinklint.yamlsrc import SourceError

VERSION = 1


def fingerprint(f: Finding, path: str | None = None) -> str:
    """`path` replaces the finding's displayed path (which is relative to the working directory)."""
    key = "\x1f".join((f.rule, f.path if path is None else path, f.digest or str(f.sample), f.message))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:24]


def _relative(display: str, base: Path) -> str:
    """A finding's path relative to the baseline's folder, so that the working directory does not matter."""
    return _relative_in(display, str(base), os.getcwd())


@lru_cache(maxsize=4096)
def _relative_in(display: str, base: str, cwd: str) -> str:
    target = real(Path(cwd) / display)
    folder = real(Path(cwd) / base)
    try:
        return target.relative_to(folder).as_posix()
    except ValueError:
        try:
            return Path(os.path.relpath(target, folder)).as_posix()
        except ValueError:  # another drive on Windows
            return display


def write_baseline(path: Path, findings: Iterable[Finding]) -> int:
    """Record `findings` in `path`; how many. OSError when it cannot be written (the caller says what is lost)."""
    entries = []
    for f in findings:
        rel = _relative(f.path, path.parent)
        entries.append({"rule": f.rule, "path": rel, "sample": f.sample, "fingerprint": fingerprint(f, rel)})
    payload = json.dumps({"version": VERSION, "findings": entries}, indent=1) + "\n"
    atomic_write(path, payload.encode("utf-8"))
    return len(entries)


def load_baseline(path: Path) -> Counter[str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        prints = [e["fingerprint"] for e in data["findings"]]
        if data.get("version") != VERSION or not all(isinstance(p, str) for p in prints):
            raise ValueError("unsupported baseline")
    except FileNotFoundError:
        raise SourceError(str(path), None, "", "baseline file not found") from None
    except RecursionError:  # json's decoder recurses once per nested array or object
        raise SourceError(str(path), None, "", "not a thinklint baseline: nested too deeply") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise SourceError(str(path), None, "", f"not a thinklint baseline: {exc}") from None
    return Counter(prints)


def apply_baseline(findings: Iterable[Finding], known: Counter[str], base: Path | None = None) -> list[Finding]:
    """Drop findings the baseline knows, as many times as it knows them.

    `base` is the baseline file's folder: paths are fingerprinted relative to it, as written.
    """
    left = Counter(known)
    out = []
    for f in findings:
        fp = fingerprint(f, _relative(f.path, base) if base is not None else None)
        if left[fp] > 0:
            left[fp] -= 1
        else:
            out.append(f)
    return out
