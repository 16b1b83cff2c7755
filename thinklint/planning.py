"""What a run checks: the (dataset, file) work items a spec and a file list name.

A spec error (a glob that resolves outside the dataset's repository) is raised here, before any
file is read.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from thinklint.confine import check_path
from thinklint.fsutil import real
from thinklint.model import Problem
from thinklint.printable import one_line
from thinklint.readers.shards import Shard
from thinklint.spec import DatasetSpec, Spec


@dataclass(frozen=True)
class WorkItem:
    dataset: DatasetSpec
    path: Path | None  # None: a dataset-level notice with no file
    display: str
    notice: Problem | None = None
    #: a byte range of a large JSONL file (parallel runs); None: the whole file
    shard: Shard | None = None



def display_path(path: Path, cwd: Path | None = None) -> str:
    """Relative to the working directory when below it, as the JSON contract wants; printable (a file
    name may hold bytes that are not UTF-8, or control characters: `thinklint.printable`)."""
    cwd = cwd or Path.cwd()
    # a broken symlink (dangling, or a loop) is shown as itself: its target says nothing useful
    target = real(path) if path.exists() else real(path.parent) / path.name
    try:
        shown = str(target.relative_to(real(cwd)))
    except ValueError:
        shown = os.path.relpath(target, real(cwd)) if path.is_absolute() else str(path)
    if not shown.isprintable():  # a byte that is not UTF-8 arrives as a lone surrogate: shown as \xff
        shown = one_line(os.fsencode(shown).decode("utf-8", "backslashreplace"))
    return shown


def expand(dataset: DatasetSpec) -> list[Path]:
    """The dataset's files; one that resolves outside its repository root is a spec error."""
    found: set[Path] = set()
    for pattern in dataset.paths:
        full = pattern if os.path.isabs(pattern) else str(dataset.base / pattern)
        for hit in glob.glob(full, recursive=True):
            p = Path(hit)
            # a glob skips folders, but not a broken symlink (dangling or a loop): reading it
            # reports why the data file it stands for cannot be read
            if p.is_file() or not glob.has_magic(pattern) or (p.is_symlink() and not p.exists()):
                if dataset.boundary is not None:
                    check_path(p, dataset.boundary, dataset.origin, dataset.line, dataset.key,
                               f"{pattern} matches {os.path.relpath(hit, dataset.base)}, which")
                found.add(p)
    # a symlink to a file that is matched already is that file: checked (and reported) once
    unique: dict[Path, Path] = {}
    for p in sorted(found):
        unique.setdefault(real(p) if p.exists() else p, p)
    return sorted(unique.values())


def _wanted(f: Path, wanted: set[Path]) -> bool:
    """A file named in `only`, or below a folder named there (`thinklint check data/`)."""
    r = real(f)
    return r in wanted or any(parent in wanted for parent in r.parents)


def plan(spec: Spec, only: Iterable[str] = ()) -> list[WorkItem]:
    """Every (dataset, file) to check; with `only` (pre-commit's file list, or folders), just those files."""
    wanted = {real(p) for p in only}
    items: list[WorkItem] = []
    for ds in spec.datasets:
        where = ds.origin or spec.display
        if ds.skipped:
            if not wanted:
                items.append(WorkItem(ds, None, where, Problem("no_files", f"dataset {ds.name!r}: {ds.skipped}")))
            continue
        files = expand(ds)
        if not files and not wanted:
            pats = ", ".join(ds.paths)
            items.append(WorkItem(ds, None, where, Problem("no_files", f"dataset {ds.name!r}: {pats} matches no file")))
        for f in files:
            if not wanted or _wanted(f, wanted):
                items.append(WorkItem(ds, f, display_path(f)))
    return items
