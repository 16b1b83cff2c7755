"""The immutable settings of one run, built by the CLI from its flags (parse, then execute)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    config: Path | None = None
    paths: tuple[str, ...] = ()
    select: tuple[str, ...] | None = None
    ignore: tuple[str, ...] = ()
    extend_select: tuple[str, ...] = ()
    output_format: str = "text"
    output_file: Path | None = None
    statistics: bool = False
    exit_zero: bool = False
    baseline: Path | None = None
    write_baseline: Path | None = None
    jobs: int | None = None  # None: one worker per CPU (fewer when the input is small)
    use_cache: bool = True
    engine: str = "local"  # local | ray
    progress: bool | None = None  # None: on a terminal, not under pre-commit or CI
    fix: bool = False
    unsafe_fixes: bool = False
    diff: bool = False
    verbose: bool = False
    color: bool | None = None
    trust_remote_code: bool = False
    max_line_bytes: int | None = None
    allow_outside_root: bool = False
    #: samples whose token view the HTML report includes (a large run stays a page a browser opens)
    max_views: int = 200
