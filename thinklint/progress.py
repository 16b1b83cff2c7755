"""A progress bar on stderr (samples, samples/s, ETA) for runs that take more than a second.

Shown only where someone watches: rich installed, stderr a terminal, and neither pre-commit
(which sets PRE_COMMIT=1) nor CI (CI=...) in the environment. Progress is counted in bytes of
input (known before the run starts, unlike the number of samples), shown in samples.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any, Mapping, TextIO

#: the bar appears only after this many seconds, so that quick runs stay silent
DELAY = 1.0


def wanted(stream: TextIO | None = None, environ: Mapping[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    stream = stream or sys.stderr
    if env.get("PRE_COMMIT") or env.get("CI", "").lower() not in ("", "0", "false") or env.get("TERM") == "dumb":
        return False
    try:
        if not stream.isatty():
            return False
    except (AttributeError, ValueError):
        return False
    try:
        import rich  # noqa: F401
    except ImportError:
        return False
    return True


class Progress:
    """Call it with (samples, bytes) increments; `close()` when done. Silent until `DELAY` has passed."""

    def __init__(self, total_bytes: int, stream: TextIO | None = None) -> None:
        self.total = max(total_bytes, 1)
        self.samples = 0
        self.bytes = 0
        self.start = time.monotonic()
        self.stream = stream or sys.stderr
        self._bar: Any = None
        self._task: Any = None

    def __call__(self, samples: int, nbytes: int) -> None:
        self.samples += samples
        self.bytes += nbytes
        elapsed = time.monotonic() - self.start
        if self._bar is None:
            if elapsed < DELAY:
                return
            self._open()
        self._bar.update(self._task, completed=min(self.bytes, self.total), samples=self.samples,
                         rate=self.samples / elapsed if elapsed else 0.0)

    def _open(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, TextColumn, TimeRemainingColumn
        from rich.progress import Progress as Bar

        self._bar = Bar(TextColumn("thinklint"), BarColumn(), TextColumn("{task.fields[samples]:,} samples"),
                        TextColumn("{task.fields[rate]:,.0f} samples/s"), TextColumn("ETA"),
                        TimeRemainingColumn(), console=Console(file=self.stream), transient=True)
        self._bar.start()
        self._task = self._bar.add_task("check", total=self.total, completed=self.bytes, samples=self.samples,
                                        rate=0.0)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
