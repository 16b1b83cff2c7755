"""What a dry run measured, as plain data: the dryrun rules and the reporters read it, torch never appears.

Losses are in nats. A token "takes loss" when the shifted cross-entropy uses its label: label != -100
and not the first token of the sample (the shift drops label 0, whatever it is).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from thinklint.model import Finding, Location, Sample
from thinklint.tokens.encoding import KINDS, Encoding


@dataclass(frozen=True)
class Tolerance:
    """How close the model's loss and the recomputation must be: |a - b| <= atol + rtol * |b|.

    Both sides read the same logits, upcast to float32, so they differ only by float32 rounding:
    per token about 1e-6 relative (a log-sum of 150k exponentials), and in the model's reduction
    over n tokens at worst about n * 6e-8 more (measured: 1.5e-6 relative for a tiny Qwen3 on
    the CPU), whatever dtype the model ran in, since bf16 logits are the same bf16 logits on both
    sides. rtol 1e-4 leaves two
    orders of magnitude of margin for thousands of tokens, while a real defect (an unshifted loss,
    another ignore index, a term over masked positions) moves the mean by far more. atol only
    matters near a zero loss.
    """

    rtol: float = 1e-4
    atol: float = 1e-5

    def close(self, a: float, b: float) -> bool:
        return abs(a - b) <= self.atol + self.rtol * abs(b)

    def describe(self) -> str:
        return f"|model - recomputed| <= {self.atol:g} + {self.rtol:g} * |recomputed|"


@dataclass(frozen=True)
class SegmentLoss:
    """One segment of the encoding, with the tokens of it that took loss and their summed loss."""

    kind: str
    turn: int
    start: int
    end: int
    supervised: int
    loss_sum: float

    @property
    def tokens(self) -> int:
        return self.end - self.start


@dataclass(frozen=True)
class KindTotal:
    """A row of the per-segment table: every segment of one kind, added up."""

    kind: str
    tokens: int = 0
    supervised: int = 0
    loss_sum: float = 0.0

    @property
    def loss_mean(self) -> float | None:
        return self.loss_sum / self.supervised if self.supervised else None

    def __add__(self, other: KindTotal) -> KindTotal:
        return KindTotal(self.kind, self.tokens + other.tokens, self.supervised + other.supervised,
                         self.loss_sum + other.loss_sum)


def totals(segments: Iterable[SegmentLoss | KindTotal]) -> tuple[KindTotal, ...]:
    """Rows by kind, in the order kinds appear in a turn; kinds with no token are left out."""
    rows = {k: KindTotal(k) for k in KINDS}
    for s in segments:
        rows[s.kind] = rows[s.kind] + KindTotal(s.kind, s.tokens, s.supervised, s.loss_sum)
    return tuple(r for r in rows.values() if r.tokens)


@dataclass(frozen=True)
class BatchLoss:
    """The padded batch a sample ran in, and the loss its forward pass returned for all of it.

    `forward_mean` is `model(input_ids, attention_mask, labels).loss`: the model's mean over every
    supervised token of the batch; `recomputed_mean` is the recomputation's sum over the batch
    divided by the same count. None when the batch has no supervised token (the mean is 0/0).
    `forward_error` says why the forward pass failed with labels (it was rerun without them).
    """

    index: int
    size: int
    padded_length: int
    forward_mean: float | None
    recomputed_mean: float | None
    locations: tuple[Location, ...] = ()
    forward_error: str | None = None


@dataclass(frozen=True)
class SampleLoss:
    """A sample's forward pass: the model's own loss, the recomputation, the leak probe, per segment.

    `model_mean` is the model's loss function on this sample's logits and labels (its mean
    reduction, what `forward(labels=...)` returns for a batch of one); `model_sum` the same function
    with `num_items_in_batch=1` (the Trainer's sum reduction), None when the function does not take
    it. `leak_delta` is how much `model_mean` moved when the logits at `leak_positions` masked
    positions were replaced by noise. `error` says why the model's loss could not be computed.
    """

    sample: Sample
    encoding: Encoding
    segments: tuple[SegmentLoss, ...]
    loss_tokens: int
    recomputed_sum: float
    model_mean: float | None
    model_sum: float | None
    leak_delta: float | None
    leak_positions: int
    batch: BatchLoss
    first_in_batch: bool
    tolerance: Tolerance = field(default_factory=Tolerance)
    first_label_dropped: bool = False
    error: str | None = None
    labels_valid: bool = True  # False: a label is not a token id, the batch's forward ran it fully masked

    @property
    def location(self) -> Location:
        return self.sample.location

    @property
    def recomputed_mean(self) -> float | None:
        return self.recomputed_sum / self.loss_tokens if self.loss_tokens else None

    @property
    def tokens(self) -> int:
        return len(self.encoding)

    def totals(self) -> tuple[KindTotal, ...]:
        return totals(self.segments)


@dataclass(frozen=True)
class Skipped:
    """A sample the dry run did not run, and why (too long for the model, not encodable...)."""

    location: Location
    reason: str


@dataclass(frozen=True)
class RunInfo:
    model: str
    device: str
    dtype: str
    batch_size: str  # "4" (--batch-size) or "8, sized to fit" (the largest automatic batch)
    tolerance: Tolerance
    seconds: float = 0.0  # forward passes and checks, model loading excluded
    load_seconds: float = 0.0
    tokens: int = 0  # real tokens run (padding excluded)
    padded_tokens: int = 0
    batches: int = 0
    notes: tuple[str, ...] = ()

    @property
    def tokens_per_second(self) -> float:
        return self.tokens / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class DryrunResult:
    samples: tuple[SampleLoss, ...]
    skipped: tuple[Skipped, ...]
    info: RunInfo
    findings: tuple[Finding, ...] = ()
    files: int = 0

    def totals(self) -> tuple[KindTotal, ...]:
        return totals(seg for s in self.samples for seg in s.segments)
