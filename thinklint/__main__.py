"""`python -m thinklint`. Ctrl-C or SIGTERM while the program is still importing ends it the
way the commands do (exit 130 or 143, one line), rather than with a traceback from an import."""

from __future__ import annotations

import signal
import sys
from typing import Any


def _terminated(signum: int, frame: Any) -> None:
    raise SystemExit(143)


if __name__ == "__main__":
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
    main()
