"""Run the picked samples through the model in batches that fit, and measure each one.

Samples the model cannot take (longer than its positions, token ids outside its embedding table)
are skipped with a reason before any forward pass. Out of memory: an automatic batch is split in
two and retried; a batch the user sized (--batch-size) stops the run with a smaller size to try;
a single sample that does not fit is skipped with a reason, the run goes on.
"""

from __future__ import annotations

import gc
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import torch

from thinklint.app import UsageError
from thinklint.dryrun.batching import Tensors, collate, cpu_available_bytes, footprint, plan_batches
from thinklint.dryrun.loss import measure_batch
from thinklint.dryrun.model import Placement, embedding_rows, max_positions, output_rows
from thinklint.dryrun.result import SampleLoss, Skipped, Tolerance
from thinklint.dryrun.samples import Picked
from thinklint.tokens.encoding import IGNORE_INDEX

#: share of the free memory a batch may plan to use (the estimate is rough; the rest is headroom)
_BUDGET_SHARE = {"cuda": 0.8, "cpu": 0.5}


@dataclass
class Measured:
    samples: dict[int, SampleLoss] = field(default_factory=dict)  # by index into the picks
    skipped: list[tuple[int, Skipped]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    tokens: int = 0
    padded_tokens: int = 0
    batches: int = 0
    largest_batch: int = 0


def is_oom(exc: BaseException) -> bool:
    oom_type = getattr(torch, "OutOfMemoryError", torch.cuda.OutOfMemoryError)
    if isinstance(exc, oom_type):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and ("out of memory" in text or "can't allocate memory" in text)


def budget_bytes(placement: Placement) -> int:
    if placement.device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(placement.device)
        available = int(free)
    else:
        available = cpu_available_bytes()
    return int(available * _BUDGET_SHARE.get(placement.device.type, 0.5))


def _unrunnable(model: Any, pick: Picked) -> str | None:
    n = len(pick.encoding)
    if n == 0:
        return "no tokens: nothing to run"
    limit = max_positions(model)
    if limit is not None and n > limit:
        return (f"{n:,} tokens, more than the model's max_position_embeddings {limit:,}: "
                "not run (lower training.cutoff_len, or use a model with a longer context)")
    rows = embedding_rows(model)
    top = max(pick.encoding.input_ids, default=0)
    if rows is not None and top >= rows:
        return (f"token id {top} is outside the model's embedding table ({rows:,} rows): "
                "the tokenizer and the model do not belong together")
    return None


def _free(placement: Placement) -> None:
    gc.collect()
    if placement.device.type == "cuda":
        torch.cuda.empty_cache()


def run_batches(model: Any, placement: Placement, picks: Sequence[Picked], pad_id: int,
                batch_size: int | None, tolerance: Tolerance, seed: int = 0,
                advance: Callable[[int], None] | None = None) -> Measured:
    out = Measured()
    runnable: list[int] = []
    for i, pick in enumerate(picks):
        reason = _unrunnable(model, pick)
        if reason is None:
            runnable.append(i)
        else:
            out.skipped.append((i, Skipped(pick.sample.location, reason)))
            if advance:
                advance(1)
    lengths = [len(picks[i].encoding) for i in runnable]
    fp = footprint(model.config, placement.dtype_bytes)
    budget = budget_bytes(placement)
    plan = plan_batches(lengths, lambda size, length: fp.batch_bytes(size, length) <= budget, batch_size)
    queue = deque([[runnable[j] for j in batch] for batch in plan])
    generator = torch.Generator().manual_seed(seed)
    while queue:
        batch = queue.popleft()
        members = [picks[i] for i in batch]
        started = time.perf_counter()
        failed: BaseException | None = None
        try:
            results = _forward(model, placement, members, pad_id, out.batches, tolerance, generator)
        except Exception as exc:
            if not is_oom(exc):
                raise
            failed = exc
        if failed is not None:
            del failed  # drop the traceback's frames, and the tensors they hold, before retrying
            _free(placement)
            _on_oom(batch, picks, batch_size, placement, queue, out, advance)
            continue
        if placement.device.type == "cuda":
            torch.cuda.synchronize(placement.device)
        out.seconds += time.perf_counter() - started
        out.batches += 1
        out.largest_batch = max(out.largest_batch, len(batch))
        out.tokens += sum(len(p.encoding) for p in members)
        out.padded_tokens += len(members) * max(len(p.encoding) for p in members)
        for i, result in zip(batch, results):
            out.samples[i] = result
        if advance:
            advance(len(batch))
    return out


def _forward_labels(members: list[Picked], tensors: Tensors, vocab: int | None) -> torch.Tensor:
    """The labels for the batch's forward pass: a sample with a label that is not a token id runs
    with all its labels masked. A cross-entropy over such a label raises on the CPU and, worse,
    trips a device-side assert on CUDA that poisons every later call; the per-sample measure
    reports the label instead."""
    labels: torch.Tensor = tensors.labels
    if vocab is None:
        return labels
    for row, pick in enumerate(members):
        if any(label != IGNORE_INDEX and not 0 <= label < vocab for label in pick.encoding.labels[1:]):
            if labels is tensors.labels:
                labels = labels.clone()
            labels[row] = IGNORE_INDEX
    return labels


def _forward(model: Any, placement: Placement, members: list[Picked], pad_id: int, index: int,
             tolerance: Tolerance, generator: torch.Generator) -> list[SampleLoss]:
    with torch.inference_mode():
        tensors = collate([(p.encoding.input_ids, p.encoding.labels) for p in members], pad_id, placement.device)
        inputs = dict(input_ids=tensors.input_ids, attention_mask=tensors.attention_mask, use_cache=False)
        error = None
        try:
            output = model(**inputs, labels=_forward_labels(members, tensors, output_rows(model)))
        except Exception as exc:  # the model's loss code failed: a finding, measured without labels
            if is_oom(exc):
                raise
            error = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
            output = model(**inputs)
        loss = None if error else getattr(output, "loss", None)
        return measure_batch(model, members, tensors, output.logits, loss, index, tolerance, generator, error)


def _on_oom(batch: list[int], picks: Sequence[Picked], batch_size: int | None, placement: Placement,
            queue: deque[list[int]], out: Measured, advance: Callable[[int], None] | None) -> None:
    longest = max(len(picks[i].encoding) for i in batch)
    where = f"{placement.device.type} ({placement.dtype_name})"
    if len(batch) == 1:
        pick = picks[batch[0]]
        out.skipped.append((batch[0], Skipped(pick.sample.location, (
            f"{longest:,} tokens do not fit in memory on {where}, even alone: not run "
            "(try a GPU with more memory, --dtype bf16, or a lower training.cutoff_len)"))))
        if advance:
            advance(1)
        return
    smaller = max(1, len(batch) // 2)
    if batch_size is not None:
        raise UsageError(f"out of memory on {where} with a batch of {len(batch)} samples "
                         f"({len(batch)} x {longest:,} padded tokens): try --batch-size {smaller}")
    out.notes.append(f"out of memory with an automatic batch of {len(batch)} samples ({longest:,} padded tokens): "
                     f"split and retried; pass --batch-size {smaller} to start there")
    queue.appendleft(batch[smaller:])
    queue.appendleft(batch[:smaller])
