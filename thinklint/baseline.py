"""Baselines: accept today's findings, fail only on new ones (JSONL cannot carry noqa comments).

A finding's fingerprint is its rule, file, the hash of its sample's bytes and its message, not
its line: inserting lines above a known finding does not make it new, editing its sample does.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path
from typing import Iterable

from thinklint.fsutil import atomic_write
from thinklint.model import Finding
from thinklint.yamlsrc import SourceError

VERSION = 1


def fingerprint(f: Finding) -> str:
    key = "\x1f".join((f.rule, f.path, f.digest or str(f.sample), f.message))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:24]


def write_baseline(path: Path, findings: Iterable[Finding]) -> int:
    entries = [{"rule": f.rule, "path": f.path, "sample": f.sample, "fingerprint": fingerprint(f)}
               for f in findings]
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
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise SourceError(str(path), None, "", f"not a thinklint baseline: {exc}") from None
    return Counter(prints)


def apply_baseline(findings: Iterable[Finding], known: Counter[str]) -> list[Finding]:
    """Drop findings the baseline knows, as many times as it knows them."""
    left = Counter(known)
    out = []
    for f in findings:
        fp = fingerprint(f)
        if left[fp] > 0:
            left[fp] -= 1
        else:
            out.append(f)
    return out
