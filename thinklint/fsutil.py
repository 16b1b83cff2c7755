"""Atomic writes: a reader never sees half a file, a crash never leaves one."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO, Iterable, Iterator


def real(path: Path | str) -> Path:
    """The absolute path with symlinks resolved, as Path.resolve() but never raising.

    Path.resolve() raises RuntimeError on a symlink loop before Python 3.13; os.path.realpath
    leaves the looping part as it is, and reading the file then fails with an OSError that the
    caller reports (a data file in a loop is a finding, not a crash).
    """
    return Path(os.path.realpath(path))


def listing(root: Path, suffixes: tuple[str, ...]) -> list[tuple[str, str]]:
    """(path relative to `root`, full path) of the files under `root` ending in `suffixes`, sorted,
    bytecode caches skipped. os.walk, not pathlib's rglob, which takes four times as long: start-up
    lists thinklint's own files twice."""
    base = str(root)
    found: list[tuple[str, str]] = []
    for folder, dirs, files in os.walk(base):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        rel = os.path.relpath(folder, base)
        found.extend((name if rel == "." else os.path.join(rel, name), os.path.join(folder, name))
                     for name in files if name.endswith(suffixes))
    return sorted(found)


def stat_digest(h: Any, files: Iterable[tuple[str, str]]) -> None:
    """Add each (name, full path)'s name, size and modification time to hash `h`, as Python's bytecode
    cache keys its sources (reading and hashing every file cost a tenth of a hook run's start-up);
    a file that cannot be stat'ed is left out."""
    for name, full in files:
        try:
            st = os.stat(full)
        except OSError:
            continue
        h.update(f"{name}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())


def _umask() -> int:
    mask = os.umask(0o022)  # the only way to read it is to set it: put it back at once
    os.umask(mask)
    return mask


def atomic_write(path: Path, data: bytes, durable: bool = True) -> None:
    """Write to a temporary file beside `path`, fsync (unless not `durable`), then rename over it.

    Raises OSError when `path` cannot be written; `write_failure` says why in the user's terms."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_writer(path, durable) as fh:
        fh.write(data)


@contextmanager
def atomic_writer(path: Path, durable: bool = True) -> Iterator[BinaryIO]:
    """Stream a file's new content into a temporary file beside it; on leaving the block the
    temporary file is fsynced and renamed over `path` (keeping its mode), or, when the block
    raises, removed: `path` is either wholly old or wholly new, never half written.

    Without `durable` there is no fsync: readers still never see half a file, but a power cut may
    leave an empty or stale one. For files whose reader verifies them anyway (the cache's checksums).

    A symlink is written through: its target gets the new content, and the link stays a link (renaming
    over the link would replace it with a copy, and leave the file it names as it was)."""
    if path.is_symlink():
        path = real(path)
    fd, tmp = _temporary(path)
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            if durable:
                os.fsync(fh.fileno())
        # the temporary file is 0600; a report is meant to be read (a CI artifact, a shared
        # folder), so keep an existing file's mode, or give a new one what open() would
        os.chmod(tmp, path.stat().st_mode & 0o7777 if path.exists() else 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    if durable:
        _fsync_dir(path.parent)


def _temporary(path: Path) -> tuple[int, str]:
    """A new file beside `path`, created exclusively and readable by its owner only, as tempfile.mkstemp
    makes it (whose import, with random's, was a twentieth of a cached run after an edit)."""
    for _ in range(100):
        tmp = os.path.join(path.parent, f".{path.name}.{os.urandom(6).hex()}.tmp")
        try:
            return os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name beside {path}")


def write_failure(path: Path, exc: OSError) -> str:
    """Why `atomic_write(path)` failed, in the user's terms: a file standing where a folder must be
    (mkdir's "File exists" says nothing), or the system's reason, naming the folder rather than the
    temporary file beside `path` when creating that is what failed."""
    blocker = _not_a_folder(path.parent)
    if blocker is not None:
        return f"{blocker} is not a folder"
    reason = exc.strerror or str(exc)
    if exc.filename is None or exc.filename2 is not None or os.fspath(exc.filename) == os.fspath(path):
        return reason  # about `path` itself (os.replace names the temporary file first, `path` second)
    if os.path.basename(os.fspath(exc.filename)).startswith(f".{path.name}."):
        return f"{reason} (creating a file in {path.parent})"
    return f"{exc.filename}: {reason}"


def _not_a_folder(folder: Path) -> Path | None:
    """The nearest of `folder` and its parents that exists, when it is not a folder."""
    for candidate in (folder, *folder.parents):
        if os.path.lexists(candidate):
            return None if candidate.is_dir() else candidate
    return None


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable (POSIX); where a folder cannot be opened, there is no need."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
