"""Small helpers shared by the core tests: write specs and data, run the CLI in-process or for real."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterable, Sequence

from click.testing import CliRunner, Result

from thinklint.cli import main

#: the worktree this test suite belongs to (subprocesses must import it, not an installed copy)
ROOT = Path(__file__).resolve().parent.parent

GOOD = {"messages": [{"role": "user", "content": "2+2?"},
                     {"role": "assistant", "content": "<think>\nadd them\n</think>\n\n4"}]}
UNCLOSED = {"messages": [{"role": "user", "content": "2+2?"},
                         {"role": "assistant", "content": "<think>\nadd them\n4"}]}


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def write_jsonl(path: Path, records: Iterable[Any]) -> Path:
    return write(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))


def simple_project(root: Path, records: Iterable[Any] = (GOOD,), extra_spec: str = "") -> Path:
    """thinklint.yaml with one openai dataset `data/*.jsonl` holding `records` in data/a.jsonl."""
    write_jsonl(root / "data" / "a.jsonl", records)
    return write(root / "thinklint.yaml",
                 "version: 1\ndatasets:\n  - {name: main, path: data/*.jsonl}\n" + extra_spec)


def invoke(*args: str) -> Result:
    """The CLI in-process (the caller chdirs where it wants to run)."""
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """`python -m thinklint ARGS` in a real process, importing this worktree."""
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "NO_COLOR")}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run([sys.executable, "-m", "thinklint", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def imported_by_run(args: Sequence[str], modules: Sequence[str], cwd: Path, prelude: str = "",
                    ) -> tuple[list[str] | None, subprocess.CompletedProcess[str]]:
    """Which of `modules` a `thinklint ARGS` run imported, in a fresh interpreter in `cwd` (None when it
    never got to say), with the process for messages. `prelude` runs first (to patch something)."""
    code = (f"import json, sys\n{prelude}\nfrom thinklint.cli import main\n"
            f"try:\n    main({list(args)!r})\nexcept SystemExit:\n    pass\n"
            f"print('IMPORTED', json.dumps([m for m in {list(modules)!r} if m in sys.modules]))")
    proc = run_python(code, cwd)
    said = [ln for ln in proc.stdout.splitlines() if ln.startswith("IMPORTED ")]
    return (json.loads(said[-1][len("IMPORTED "):]) if said else None), proc


def run_python(code: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """`python -c CODE` in a fresh interpreter importing this worktree, offline (for what must not touch
    pytest's own process: imports, `gc.freeze`)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300, check=False)
