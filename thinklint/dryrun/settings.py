"""The immutable settings of one dry run, built by the CLI from its flags."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from thinklint.dryrun.result import Tolerance

DEFAULT_SAMPLES = 8


@dataclass(frozen=True)
class DryrunSettings:
    model: str
    config: Path | None = None
    samples: int = DEFAULT_SAMPLES  # how many samples, in spec order (or of `targets`)
    targets: tuple[str, ...] = ()  # FILE (its first samples) or FILE:LINE (one JSONL line)
    device: str = "auto"  # auto | cuda | cpu
    dtype: str = "auto"  # auto | bf16 | fp32
    batch_size: int | None = None  # None: estimated from token counts and free memory
    output_format: str = "text"  # text | json
    trust_remote_code: bool = False
    allow_outside_root: bool = False  # the spec may name files outside the repository root
    color: bool = False  # rich tables (a TTY)
    progress: bool = False  # a progress bar on stderr
    tolerance: Tolerance = field(default_factory=Tolerance)
    seed: int = 0  # the leak probe's noise
