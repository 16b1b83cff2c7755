"""The program (`python -m thinklint`, and the `thinklint` script): the command line, and how it ends.

Ctrl-C or SIGTERM while the program is still importing ends it the way the commands do (exit 130
or 143, one line), rather than with a traceback from an import.

When a command is done, the interpreter would spend tens of milliseconds freeing every object and
module one by one: a tenth of a pre-commit run after a small edit. When nothing is left that needs
an orderly exit (no `atexit` callback, which logging, multiprocessing, Ray, temporary folders and
`weakref.finalize` all register, and no other thread), the program flushes its output and leaves
with `os._exit`, as mypy does. Every file thinklint writes is closed (atomically renamed) before
its command returns.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from typing import Any


def _terminated(signum: int, frame: Any) -> None:
    raise SystemExit(143)


def run() -> None:
    signal.signal(signal.SIGTERM, _terminated)
    try:
        from thinklint.cli import main
    except KeyboardInterrupt:
        sys.stderr.write("thinklint: interrupted\n")
        sys.exit(130)
    except SystemExit as stop:
        if stop.code == 143:
            sys.stderr.write("thinklint: terminated\n")
        raise
    try:
        main()
    except SystemExit as stop:
        code = stop.code
        if code is None or (isinstance(code, int) and not isinstance(code, bool)):
            exit_now(code or 0)
        raise


def exit_now(code: int) -> None:
    """`os._exit(code)` once the output is flushed, if nothing needs an orderly exit; else return."""
    import atexit

    callbacks = getattr(atexit, "_ncallbacks", None)
    if callbacks is None or callbacks() or threading.active_count() != 1:
        return
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):  # a closed or broken pipe: the ordinary exit reports it
        return
    os._exit(code)


if __name__ == "__main__":
    run()
