"""A dry run as text (a rich table on a terminal, plain columns otherwise) or as JSON.

Findings use the reporters of `check`, so a dryrun finding reads like any other; the per-segment
tables, the skipped samples and the run's figures come around them.
"""

from __future__ import annotations

import json
from io import StringIO
from typing import Any, Mapping, Sequence

from thinklint.catalog import Rule
from thinklint.dryrun.result import DryrunResult, KindTotal, SampleLoss
from thinklint.model import Location
from thinklint.reporters import Report
from thinklint.reporters import json as json_reporter
from thinklint.reporters import text as text_reporter

KIND_LABELS = {"prompt": "prompt", "empty_think": "empty think", "reasoning": "reasoning",
               "answer": "answer", "eot": "end of turn"}
HEADER = ("segment", "tokens", "supervised", "loss sum", "loss mean")


def where(loc: Location) -> str:
    if loc.line is not None:
        return f"{loc.path}:{loc.line}"
    return f"{loc.path}[{loc.index}]" if loc.index is not None else loc.path


def _num(value: float | None, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def table_rows(rows: Sequence[KindTotal]) -> list[tuple[str, ...]]:
    """The per-segment table: one row per kind, then all of them."""
    out: list[tuple[str, ...]] = [(KIND_LABELS[r.kind], f"{r.tokens:,}", f"{r.supervised:,}",
            _num(r.loss_sum if r.supervised else None, 3), _num(r.loss_mean, 4)) for r in rows]
    tokens, supervised = sum(r.tokens for r in rows), sum(r.supervised for r in rows)
    loss = sum(r.loss_sum for r in rows)
    out.append(("all", f"{tokens:,}", f"{supervised:,}", _num(loss if supervised else None, 3),
                _num(loss / supervised if supervised else None, 4)))
    return out


def _plain(rows: list[tuple[str, ...]], indent: str = "  ") -> list[str]:
    table = [HEADER, *rows]
    widths = [max(len(r[c]) for r in table) for c in range(len(HEADER))]
    return [indent + "  ".join(cell.ljust(widths[c]) if c == 0 else cell.rjust(widths[c])
                               for c, cell in enumerate(r)).rstrip() for r in table]


def _rich(title: str, rows: list[tuple[str, ...]]) -> str:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(show_edge=False, pad_edge=False, box=None, header_style="bold")
    for c, name in enumerate(HEADER):
        table.add_column(name, justify="left" if c == 0 else "right")
    for i, r in enumerate(rows):
        last = i == len(rows) - 1
        table.add_row(*r, style="bold" if last else None, end_section=i == len(rows) - 2)
    buffer = StringIO()
    console = Console(file=buffer, force_terminal=True, width=max(100, len(title) + 2))
    console.print(Text(title, style="bold cyan"), soft_wrap=True)  # a long title stays on one line
    console.print(table)
    return buffer.getvalue().rstrip("\n")


def _small(value: float) -> str:
    return "0" if value == 0 else f"{value:.1e}"


def sample_title(s: SampleLoss) -> str:
    head = f"{where(s.location)}  {s.tokens:,} tokens, {s.loss_tokens:,} take loss"
    if s.error:
        return f"{head} · loss not confirmed: {s.error}"
    if s.recomputed_mean is None:
        return f"{head} · no loss"
    model = _num(s.model_mean, 4)
    diff = _small(abs(s.model_mean - s.recomputed_mean)) if s.model_mean is not None else "-"
    leak = (f" · leak probe {_small(s.leak_delta)} at {s.leak_positions} masked positions"
            if s.leak_delta is not None else "")
    return f"{head} · loss {s.recomputed_mean:.4f} (model {model}, |diff| {diff}){leak}"


def _table(title: str, rows: Sequence[KindTotal], color: bool) -> list[str]:
    body = table_rows(rows)
    return [_rich(title, body)] if color else [title, *_plain(body)]


def render_text(result: DryrunResult, rules: Mapping[str, Rule], color: bool = False) -> str:
    lines: list[str] = []
    for s in result.samples:
        lines += _table(sample_title(s), s.totals(), color) + [""]
    if result.samples:
        n = len(result.samples)
        lines += _table(f"Total: {n:,} sample{'' if n == 1 else 's'}", result.totals(), color) + [""]
    report = Report(findings=result.findings, files=result.files, samples=len(result.samples), rules=rules,
                    color=color)
    lines.append(text_reporter.render(report).rstrip("\n"))
    for skipped in result.skipped:
        lines.append(f"Skipped {where(skipped.location)}: {skipped.reason}")
    info = result.info
    lines.append(f"Ran {info.tokens:,} tokens in {info.batches} batch{'es' if info.batches != 1 else ''} "
                 f"(batch size {info.batch_size}) through {info.model} on {info.device} ({info.dtype}) "
                 f"in {info.seconds:.2f} s: {info.tokens_per_second:,.0f} tokens/s "
                 f"(model loaded in {info.load_seconds:.2f} s).")
    lines.append(f"The model's loss must match the recomputation within {info.tolerance.describe()}.")
    lines += [f"Note: {note}" for note in info.notes]
    return "\n".join(lines) + "\n"


def _kinds(rows: Sequence[KindTotal]) -> list[dict[str, Any]]:
    return [{"kind": r.kind, "tokens": r.tokens, "supervised": r.supervised,
             "loss_sum": r.loss_sum if r.supervised else None, "loss_mean": r.loss_mean} for r in rows]


def sample_json(s: SampleLoss) -> dict[str, Any]:
    loc = s.location
    mean = s.recomputed_mean
    return {
        "path": loc.path, "line": loc.line, "sample": loc.index, "tokens": s.tokens, "supervised": s.loss_tokens,
        "loss": {"model_mean": s.model_mean, "model_sum": s.model_sum, "recomputed_mean": mean,
                 "recomputed_sum": s.recomputed_sum if s.loss_tokens else None,
                 "abs_diff": abs(s.model_mean - mean) if s.model_mean is not None and mean is not None else None,
                 "leak_delta": s.leak_delta, "leak_positions": s.leak_positions, "error": s.error},
        "batch": {"index": s.batch.index, "size": s.batch.size, "padded_length": s.batch.padded_length,
                  "forward_mean": s.batch.forward_mean, "recomputed_mean": s.batch.recomputed_mean},
        "segments": _kinds(s.totals()),
        "turns": [{"kind": g.kind, "turn": g.turn, "start": g.start, "end": g.end, "supervised": g.supervised,
                   "loss_sum": g.loss_sum if g.supervised else None} for g in s.segments],
    }


def render_json(result: DryrunResult, rules: Mapping[str, Rule]) -> str:
    report = Report(findings=result.findings, files=result.files, samples=len(result.samples), rules=rules)
    out = json_reporter.payload(report)
    info = result.info
    total = result.totals()
    supervised = sum(r.supervised for r in total)
    loss = sum(r.loss_sum for r in total)
    out["run"] = {
        "model": info.model, "device": info.device, "dtype": info.dtype, "batch_size": info.batch_size,
        "batches": info.batches, "tokens": info.tokens, "padded_tokens": info.padded_tokens,
        "seconds": info.seconds, "tokens_per_second": info.tokens_per_second, "load_seconds": info.load_seconds,
        "tolerance": {"rtol": info.tolerance.rtol, "atol": info.tolerance.atol}, "notes": list(info.notes),
    }
    out["samples"] = [sample_json(s) for s in result.samples]
    out["total"] = {"samples": len(result.samples), "tokens": sum(r.tokens for r in total),
                    "supervised": supervised, "loss_sum": loss if supervised else None,
                    "loss_mean": loss / supervised if supervised else None, "segments": _kinds(total)}
    out["skipped"] = [{"path": k.location.path, "line": k.location.line, "sample": k.location.index,
                       "reason": k.reason} for k in result.skipped]
    return json.dumps(out, indent=2, ensure_ascii=False) + "\n"
