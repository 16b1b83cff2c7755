"""What the installed distributions' folders on sys.path tell, read without importing importlib.metadata.

Importing importlib.metadata imports the email package: 40-70 ms, more than a cached structural run
spends on everything else after its imports. A run asks it two things, whether a plugin declares
thinklint's entry-point group and which versions of a few libraries are installed (for the cache's
key), and the `*.dist-info` folders importlib.metadata itself reads answer both in about a
millisecond. Whatever they cannot answer with certainty (a zip or egg on sys.path, a meta-path
finder of another kind, an egg-info folder, a library not found) is left to importlib.metadata.
"""

from __future__ import annotations

import os
import re
import sys
from importlib.machinery import PathFinder
from typing import Iterable


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()  # PEP 503


def _folders() -> list[str] | None:
    """Every distribution folder on sys.path, in the order importlib.metadata searches; None when
    something there is beyond this module (see the module's docstring)."""
    if any(hasattr(f, "find_distributions") and f is not PathFinder for f in sys.meta_path):
        return None
    found: list[str] = []
    for entry in sys.path:
        folder = entry or "."
        if not os.path.isdir(folder):
            if os.path.exists(folder) or folder.endswith(".egg"):
                return None  # a zip or an egg: distributions inside it
            continue
        try:
            with os.scandir(folder) as listing:
                found.extend(sorted(d.path for d in listing
                                    if d.name.endswith((".dist-info", ".egg-info")) or d.name == "EGG-INFO"))
        except OSError:
            return None
    return found


def may_declare(group: str) -> bool:
    """False only when no installed distribution declares entry points of `group`."""
    folders = _folders()
    if folders is None:
        return True
    needle = group.encode("utf-8")
    for folder in folders:
        try:
            with open(os.path.join(folder, "entry_points.txt"), "rb") as fh:
                if needle in fh.read():
                    return True
        except (FileNotFoundError, NotADirectoryError):  # no entry points, or a PKG-INFO-style file
            continue
        except OSError:
            return True
    return False


def versions(names: Iterable[str]) -> dict[str, str | None]:
    """`importlib.metadata.version(name)` for each name (None when not installed)."""
    names = list(names)
    wanted = {_canonical(n): n for n in names}
    out: dict[str, str | None] = {}
    unsure: set[str] = set()
    for folder in _folders() or []:
        base = os.path.basename(folder)
        stem, _, kind = base.rpartition(".")
        name, _, version = stem.partition("-")
        original = wanted.get(_canonical(name))
        if original is None or original in out or original in unsure:
            continue
        if kind == "dist-info" and version:  # pip names it name-version.dist-info (PEP 427)
            out[original] = version
        else:  # an egg-info first on the path: importlib.metadata reads its version from its files
            unsure.add(original)
    rest = [n for n in names if n not in out]
    if rest:
        from importlib import metadata

        for name in rest:
            try:
                out[name] = metadata.version(name)
            except metadata.PackageNotFoundError:
                out[name] = None
    return {n: out[n] for n in names}
