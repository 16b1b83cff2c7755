"""The model's own loss, an independent recomputation, and the leak probe, per sample of a batch.

What "the model's own loss" is, for a padded batch: `forward(labels=...)` returns one number, the
mean over every supervised token of the batch, which mixes samples. Per sample, the model's own
loss is its `loss_function` (what its forward calls: for causal LMs transformers' ForCausalLMLoss,
unless the model brings its own) applied to that sample's logits and labels, cut to its length:
exactly what a forward pass of the sample alone would return, since right padding leaves a real
token's logits unchanged. It is taken twice, with the mean reduction (a plain forward) and with
`num_items_in_batch=1` (the sum the Trainer divides by the batch's token count). The batch's
forward loss is compared too, with the recomputation's batch mean, so that a forward pass that
adds a term of its own (an auxiliary loss) is seen.

The recomputation shares nothing with the model's code but the logits: for each position t whose
next label is supervised, logsumexp(logits[t]) - logits[t][label[t + 1]] in float32 (the model's
loss upcasts to float32 too; logsumexp subtracts the row's maximum, so each term is exact to about
1e-6 relative), then summed per segment and per sample in float64. float64 rows would cost 1.5x on
a CPU and far more on a GPU, for accuracy the tolerance does not need.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import replace
from typing import Any, Sequence

import torch

from thinklint.dryrun.batching import LEAK_POSITIONS, Tensors
from thinklint.dryrun.result import BatchLoss, SampleLoss, SegmentLoss, Tolerance
from thinklint.dryrun.samples import Picked
from thinklint.tokens.encoding import IGNORE_INDEX

#: rows per chunk of the recomputation: about 128 MiB of float32 for a 150k vocabulary
_CHUNK_BYTES = 128 << 20
#: the leak probe writes noise of this scale into the logits: far from anything a model outputs
_NOISE_SCALE = 30.0


def recompute(logits: torch.Tensor, positions: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Negative log-likelihood of `targets` at `positions` of one sample's (length, vocab) logits.

    Returned as float64 on the CPU, so that sums over thousands of tokens add no float32 error.
    """
    rows = max(1, _CHUNK_BYTES // (4 * logits.shape[-1]))
    parts = []
    for a in range(0, positions.numel(), rows):
        chunk = logits[positions[a:a + rows]].to(torch.float32)
        gold = chunk.gather(1, targets[a:a + rows, None].to(chunk.device)).squeeze(1)
        parts.append((torch.logsumexp(chunk, dim=-1) - gold).to(torch.float64).cpu())
    return torch.cat(parts) if parts else torch.zeros(0, dtype=torch.float64)


def _vocab_size(model: Any, logits: torch.Tensor) -> int:
    config = getattr(model, "config", None)
    value = getattr(config, "vocab_size", None)
    return int(value) if isinstance(value, int) else int(logits.shape[-1])


def _model_losses(model: Any, logits: torch.Tensor, labels: torch.Tensor,
                  vocab: int) -> tuple[float, float | None]:
    """(mean, sum) by the model's own loss function; the sum is None when it takes no num_items_in_batch."""
    loss_fn = model.loss_function
    mean = float(loss_fn(logits=logits[None], labels=labels[None], vocab_size=vocab))
    try:
        total: float | None = float(loss_fn(logits=logits[None], labels=labels[None], vocab_size=vocab,
                                            num_items_in_batch=1))
    except TypeError:
        total = None
    return mean, total


def probe_positions(masked: torch.Tensor, supervised: torch.Tensor, length: int,
                    generator: torch.Generator) -> torch.Tensor:
    """Masked positions to perturb: every boundary with a supervised span (where an off-by-one mask
    would leak), the last position, then random others, up to LEAK_POSITIONS."""
    sup = set(supervised.tolist())
    masked_list = masked.tolist()
    first = [t for t in masked_list if (t - 1) in sup or (t + 1) in sup or t == length - 1]
    chosen = set(first[:LEAK_POSITIONS])
    rest = [t for t in masked_list if t not in chosen]
    room = LEAK_POSITIONS - len(chosen)
    if rest and room > 0:
        order = torch.randperm(len(rest), generator=generator)[:room].tolist()
        chosen.update(rest[i] for i in order)
    return torch.tensor(sorted(chosen), dtype=torch.long)


def _leak_delta(model: Any, logits: torch.Tensor, labels: torch.Tensor, vocab: int, positions: torch.Tensor,
                mean: float, generator: torch.Generator) -> float:
    """How far the model's mean loss moves when the logits at masked `positions` become noise.

    In place, on rows saved first and written back after: a copy of the whole logits would double
    the memory a long sample needs.
    """
    index = positions.to(logits.device)
    saved = logits[index].clone()
    noise = torch.randn(saved.shape, generator=generator, dtype=torch.float32) * _NOISE_SCALE
    logits[index] = noise.to(device=logits.device, dtype=logits.dtype)
    try:
        probed = float(model.loss_function(logits=logits[None], labels=labels[None], vocab_size=vocab))
    finally:
        logits[index] = saved
    return abs(probed - mean)


def _segments(pick: Picked, loss_at: list[int], nll: list[float]) -> tuple[SegmentLoss, ...]:
    """Per segment: how many of its tokens took loss and their summed loss (`loss_at` is sorted)."""
    prefix = [0.0]
    for value in nll:
        prefix.append(prefix[-1] + value)
    out = []
    for seg in pick.encoding.segments:
        a, b = bisect_left(loss_at, seg.start), bisect_left(loss_at, seg.end)
        out.append(SegmentLoss(seg.kind, seg.turn, seg.start, seg.end, b - a, prefix[b] - prefix[a]))
    return tuple(out)


def _outside_vocab(gold: torch.Tensor, supervised: torch.Tensor, rows: int) -> str | None:
    bad = ((gold < 0) | (gold >= rows)).nonzero()
    if not bad.numel():
        return None
    k = int(bad[0, 0])
    return (f"label {int(gold[k])} at token {int(supervised[k]) + 1} is not a token id of the model "
            f"(0..{rows - 1}): a cross-entropy over it fails or reads past the logits")


def _measure_sample(model: Any, pick: Picked, lg: torch.Tensor, lab: torch.Tensor, vocab: int,
                    alone: torch.Tensor | None, batch: BatchLoss, tolerance: Tolerance,
                    generator: torch.Generator) -> SampleLoss:
    """One sample of a batch; `alone` is the forward loss when the batch holds only this sample."""
    length = lab.shape[0]
    targets = lab[1:]
    supervised = (targets != IGNORE_INDEX).nonzero().squeeze(-1).cpu()
    gold = targets[supervised.to(targets.device)]
    result = SampleLoss(sample=pick.sample, encoding=pick.encoding, segments=_segments(pick, [], []),
                        loss_tokens=supervised.numel(), recomputed_sum=0.0, model_mean=None, model_sum=None,
                        leak_delta=None, leak_positions=0, batch=batch, first_in_batch=False, tolerance=tolerance,
                        first_label_dropped=bool(lab[0] != IGNORE_INDEX))
    error = _outside_vocab(gold, supervised, lg.shape[-1])
    if error:
        return replace(result, error=error, labels_valid=False)
    nll = recompute(lg, supervised.to(lg.device), gold).tolist()
    loss_at = [t + 1 for t in supervised.tolist()]  # position t predicts token t + 1
    result = replace(result, segments=_segments(pick, loss_at, nll), recomputed_sum=sum(nll))
    if not nll:
        return result  # nothing to compare: MSK002 says so
    if not hasattr(model, "loss_function"):
        if alone is not None:
            return replace(result, model_mean=float(alone))
        return replace(result, error="the model has no loss_function to apply per sample: run with --batch-size 1")
    try:
        mean, total = _model_losses(model, lg, lab, vocab)
    except Exception as exc:  # a model's own loss code can fail in any way: that is the finding
        return replace(result, error=f"the model's loss function failed: {type(exc).__name__}: {exc}")
    masked = torch.cat([(targets == IGNORE_INDEX).nonzero().squeeze(-1).cpu(),
                        torch.tensor([length - 1])])  # the last position's logits predict past the end
    positions = probe_positions(masked, supervised, length, generator)
    delta = _leak_delta(model, lg, lab, vocab, positions, mean, generator)
    return replace(result, model_mean=mean, model_sum=total, leak_delta=delta, leak_positions=positions.numel())


def measure_batch(model: Any, picks: Sequence[Picked], tensors: Tensors, logits: torch.Tensor,
                  forward_loss: torch.Tensor | None, batch_index: int, tolerance: Tolerance,
                  generator: torch.Generator, forward_error: str | None = None) -> list[SampleLoss]:
    """One SampleLoss per sample of the batch, in batch order (call under torch.inference_mode)."""
    vocab = _vocab_size(model, logits)
    locations = tuple(p.sample.location for p in picks)
    pending = BatchLoss(batch_index, len(picks), tensors.padded_length, None, None, locations, forward_error)
    alone = forward_loss if len(picks) == 1 else None
    results = [
        _measure_sample(model, pick, logits[i, :tensors.lengths[i]], tensors.labels[i, :tensors.lengths[i]], vocab,
                        alone, pending, tolerance, generator)
        for i, pick in enumerate(picks)
    ]
    # a sample with a label outside the vocabulary ran fully masked (engine._forward_labels)
    counted = [r for r in results if r.labels_valid]
    n = sum(r.loss_tokens for r in counted)
    total = sum(r.recomputed_sum for r in counted)
    batch = replace(pending, forward_mean=float(forward_loss) if forward_loss is not None and n else None,
                    recomputed_mean=total / n if n else None)
    return [replace(r, batch=batch, first_in_batch=i == 0) for i, r in enumerate(results)]
