"""The repository root: the spec may not make thinklint read files outside it.

A pre-commit hook or a CI gate runs on whatever is committed, so a spec (or a dataset_info.json
it imports) must not be able to point thinklint at `/etc`, `~/.ssh` or a sibling checkout. The
root is the nearest folder, from the spec's own folder upward, that holds `.git` (a folder, or
the file of a worktree or submodule); without one, the spec's folder. Paths are compared after
resolving symlinks. Hub ids are not paths and are not restricted; `pkg:` references (files of
installed packages) must stay inside their package's folder instead (`resources.package_folder`),
with or without the flag. `--allow-outside-root` lifts the repository restriction.
"""

from __future__ import annotations

import glob
import os
from pathlib import Path

from thinklint.fsutil import real
from thinklint.resources import package_folder
from thinklint.yamlsrc import SourceError

FLAG = "--allow-outside-root"


def repository_root(folder: Path) -> Path:
    """The nearest folder from `folder` upward that holds `.git`; else `folder` itself."""
    start = real(folder)
    for candidate in (start, *start.parents):
        if os.path.lexists(candidate / ".git"):
            return candidate
    return start


def outside(path: Path, root: Path) -> Path | None:
    """`path` resolved, when it is outside `root`; None when inside."""
    target = real(path)
    try:
        target.relative_to(root)
    except ValueError:
        return target
    return None


def glob_base(pattern: str) -> str:
    """The literal folder a glob starts from: its parts before the first one with a wildcard."""
    parts = Path(pattern).parts
    literal = []
    for part in parts:
        if glob.has_magic(part):
            break
        literal.append(part)
    return str(Path(*literal)) if literal else ""


def refusal(source: str, line: int | None, key: str, value: str, target: Path, root: Path) -> SourceError:
    return SourceError(source, line, key, f"{value} resolves to {target}, outside the repository root {root} "
                                          f"(pass {FLAG} to allow it)")


def check_path(path: Path, root: Path | None, source: str, line: int | None, key: str, value: str) -> None:
    """Raise a SourceError naming `key` when `path` resolves outside `root` (None: unrestricted), or
    cannot be a path at all."""
    check_nul(source, line, key, value, path)
    if root is None:
        return
    target = outside(path, root)
    if target is not None:
        raise refusal(source, line, key, value, target, root)


def check_nul(source: str, line: int | None, key: str, value: str, path: Path | None = None) -> None:
    """No file system call accepts a NUL byte (Python raises ValueError): a spec error at its key,
    checked whatever the root, since --allow-outside-root hands the same path to the readers."""
    if "\0" in value or (path is not None and "\0" in str(path)):
        raise SourceError(source, line, key, "contains a NUL byte")


def check_package(ref: str, source: str, line: int | None, key: str) -> None:
    """A `pkg:` reference whose folder leaves its package, as a SourceError at `key` (spec loading
    would otherwise only hear of it when the reference is first resolved, without a line)."""
    try:
        package_folder(ref)
    except SourceError as exc:
        raise SourceError(source, line, key, str(exc)) from None


def check_folder(path: Path, root: Path | None, source: str, line: int | None, key: str, value: str) -> None:
    """A folder and every entry in it (a tokenizer folder's files may be symlinks out of it)."""
    check_path(path, root, source, line, key, value)
    if root is None or not path.is_dir():
        return
    try:
        entries = sorted(path.iterdir())
    except OSError:
        return  # unreadable: loading it reports that
    for entry in entries:
        check_path(entry, root, source, line, key, f"{value}/{entry.name}")
