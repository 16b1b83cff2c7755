"""`thinklint dryrun`: pick samples, run them through the model, apply the dryrun rules, report.

`dryrun()` is the API (a loaded model can be passed in); `run_dryrun()` is the command, which
renders the result and returns the exit code: 0 when no error-severity finding, 1 when one,
2 when nothing could be run or the run failed (out of memory with a given --batch-size...).
"""

from __future__ import annotations

import sys
import time
from contextlib import contextmanager
from dataclasses import replace
from typing import Any, Callable, Iterator, Mapping, Sequence, TextIO

from thinklint.app import EXIT_ERROR, EXIT_FINDINGS, EXIT_OK, UsageError, locate_spec, prepare
from thinklint.catalog import Rule
from thinklint.dryrun.result import DryrunResult, RunInfo, SampleLoss
from thinklint.dryrun.samples import Picked, pick
from thinklint.dryrun.settings import DryrunSettings
from thinklint.engine import stamp
from thinklint.model import Finding
from thinklint.selection import Selection
from thinklint.settings import Settings
from thinklint.spec import Spec


def pad_id(tokenizer: Any) -> int:
    """The tokenizer's pad id (Qwen3: <|endoftext|> 151643), else its eos id: padding is masked anyway."""
    for attr in ("pad_token_id", "eos_token_id"):
        value = getattr(tokenizer, attr, None)
        if isinstance(value, int):
            return value
    return 0


def evaluate(measured: Sequence[tuple[SampleLoss, Picked]], selection: Selection) -> list[Finding]:
    """The dryrun functions of the selected rules, over every measured sample."""
    findings: list[Finding] = []
    for result, picked in measured:
        for active in selection.rules:
            check = active.rule.check.dryrun
            if check is None or selection.ignored_for(result.location.path, active.rule.code):
                continue
            for v in check(result, picked.context, active.options):
                findings.append(stamp(active, result.location, v, result.sample.digest))
    findings.sort(key=Finding.sort_key)
    return findings


def dryrun(spec: Spec, settings: DryrunSettings, model: Any = None,
           advance: Callable[[int], None] | None = None,
           on_total: Callable[[int], None] | None = None) -> tuple[DryrunResult, Mapping[str, Rule]]:
    """Run the dry run; `model` is a loaded transformers model (default: load settings.model)."""
    rules, selection = prepare(spec, Settings(config=settings.config, trust_remote_code=settings.trust_remote_code),
                               stage="dryrun")
    picks = pick(spec, settings)
    if not picks.picked and not picks.skipped:
        raise UsageError("no sample to run: the spec's datasets (or the given files) have no sample")
    # torch is imported only from here on: the rest of thinklint never needs it
    from thinklint.dryrun import model as models
    from thinklint.dryrun.engine import run_batches

    placement = models.place(settings.device, settings.dtype)
    started = time.perf_counter()
    if model is None:
        model = models.load_model(settings.model, placement, settings.trust_remote_code)
        label = settings.model
    else:
        model = models.prepare(model, placement)
        label = settings.model or str(getattr(model, "name_or_path", "") or type(model).__name__)
    load_seconds = time.perf_counter() - started
    if on_total:
        on_total(len(picks.picked))
    measured = run_batches(model, placement, picks.picked, pad_id(picks.tokens.tokenizer), settings.batch_size,
                           settings.tolerance, settings.seed, advance)
    order = sorted(measured.samples)
    pairs = [(measured.samples[i], picks.picked[i]) for i in order]
    size = str(settings.batch_size) if settings.batch_size else f"{measured.largest_batch}, sized to fit"
    info = RunInfo(model=label, device=placement.device.type, dtype=placement.dtype_name, batch_size=size,
                   tolerance=settings.tolerance, seconds=measured.seconds, load_seconds=load_seconds,
                   tokens=measured.tokens, padded_tokens=measured.padded_tokens, batches=measured.batches,
                   notes=tuple(measured.notes))
    skipped = list(picks.skipped) + [s for _, s in sorted(measured.skipped, key=lambda p: p[0])]
    result = DryrunResult(tuple(r for r, _ in pairs), tuple(skipped), info, (), picks.files)
    return replace(result, findings=tuple(evaluate(pairs, selection))), rules


@contextmanager
def _progress(enabled: bool) -> Iterator[tuple[Callable[[int], None] | None, Callable[[int], None] | None]]:
    """A rich progress bar on stderr (samples done, tokens/s follow from the summary); off when not a TTY."""
    if not enabled:
        yield None, None
        return
    try:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    except ImportError:  # rich is an optional extra ([ui]): no bar, same run
        yield None, None
        return
    from rich.console import Console

    with Progress(TextColumn("dryrun"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=Console(file=sys.stderr), transient=True) as bar:
        task = bar.add_task("samples", total=None)
        yield (lambda n: bar.advance(task, n)), (lambda total: bar.update(task, total=total))


def run_dryrun(settings: DryrunSettings, out: TextIO | None = None, err: TextIO | None = None) -> int:
    from thinklint.dryrun.report import render_json, render_text

    out = out or sys.stdout
    err = err or sys.stderr
    spec = locate_spec(settings.config, settings.allow_outside_root)
    with _progress(settings.progress) as (advance, on_total):
        result, rules = dryrun(spec, settings, advance=advance, on_total=on_total)
    if settings.output_format == "json":
        out.write(render_json(result, rules))
    else:
        out.write(render_text(result, rules, color=settings.color))
    if not result.samples:
        err.write("thinklint: error: no sample could be run through the model (see the skipped samples)\n")
        return EXIT_ERROR
    return EXIT_FINDINGS if any(f.severity == "error" for f in result.findings) else EXIT_OK
