"""Writes that need not hold up the report: a forked child writes a large cache entry while the parent
renders and prints the findings.

After a one-line edit of a large file the run rewrites that file's cache entry (megabytes: keys,
columns, the findings' text, a checksum) and then prints every finding. The two do not depend on
each other, and the second core is idle by then, so within `deferring()` (the `check` command, from
its first read to its last write) `later` hands the write to a forked child; leaving `deferring()`
waits for it, so a command returns with its cache written, as before. Anything else, and any process
where forking is not known to be safe (another thread, a tokenizer's or torch's native threads,
no `os.fork`), writes at once. A child that fails leaves the entry unwritten: the next run checks
those samples again, as after a write that failed in place (`entries.store_entry`).
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from typing import Any, Callable, Iterator

#: children writing now, within `deferring()`; None outside it
_pending: list[int] | None = None


@contextmanager
def deferring() -> Iterator[None]:
    """Let `later` write in the background until the block ends; the block's end waits for every write."""
    global _pending
    if _pending is not None:  # nested: the outer block waits
        yield
        return
    _pending = []
    try:
        yield
    finally:
        settle()
        _pending = None


def later(write: Callable[..., Any], *args: Any) -> None:
    """`write(*args)` in a forked child within `deferring()` where that is safe, else now. One child at a time:
    a later write (of the same file, say) never overtakes an earlier one."""
    settle()
    if _pending is None or not _safe_to_fork():
        write(*args)
        return
    try:
        pid = os.fork()
    except OSError:  # no memory or processes left for a child: the parent can still write
        write(*args)
        return
    if pid == 0:
        code = 1
        try:
            write(*args)
            code = 0
        finally:
            os._exit(code)  # no flush of the parent's buffered output, no atexit, no teardown
    _pending.append(pid)


def settle() -> None:
    """Wait for every background write started so far."""
    while _pending:
        pid = _pending.pop()
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:  # reaped already (a caller's own waitpid(-1))
            pass


def _safe_to_fork() -> bool:
    # the child runs only Python and file writes, but a lock that another thread held at the fork
    # stays held in it: no Python thread, no tokenizers (Rust threads) and no torch (its pools) loaded
    if not hasattr(os, "fork") or "tokenizers" in sys.modules or "torch" in sys.modules:
        return False
    import threading

    return threading.active_count() == 1
