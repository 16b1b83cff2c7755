"""Batches that fit: a memory estimate from token counts, a plan, and right-padded tensors.

The estimate is deliberately rough and on the safe side; the engine still catches an
out-of-memory error and splits the batch. Planning is plain Python; only `collate` needs torch.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from thinklint.tokens.encoding import IGNORE_INDEX

#: the most samples in one automatic batch: beyond this a forward pass gains little
MAX_AUTO_BATCH = 16
#: how many masked positions per sample the leak probe perturbs
LEAK_POSITIONS = 256


@dataclass(frozen=True)
class Footprint:
    """What a forward pass with labels costs, from the model's config and dtype (bytes)."""

    vocab: int
    hidden: int
    intermediate: int
    heads: int
    dtype_bytes: int

    def batch_bytes(self, size: int, length: int) -> int:
        tokens = size * length
        # the logits in the model's dtype, kept for the whole batch
        logits = tokens * self.vocab * self.dtype_bytes
        # transient, one after the other: the forward loss's float32 upcast and log-softmax over the
        # batch, then the per-sample pass (one sample's upcast again, the leak probe's saved rows)
        forward_loss = tokens * self.vocab * 8
        per_sample = length * self.vocab * 8 + LEAK_POSITIONS * self.vocab * (self.dtype_bytes + 4)
        # activations of one layer at a time: inference mode keeps none across layers
        activations = tokens * (4 * self.hidden + 3 * self.intermediate) * self.dtype_bytes
        # attention scores, when the kernel materialises them (the CPU math path does; flash does not)
        scores = size * self.heads * length * length * 4
        return logits + max(forward_loss, per_sample) + activations + scores


def footprint(config: Any, dtype_bytes: int) -> Footprint:
    """The footprint of a transformers config (multimodal configs keep the text model in text_config)."""
    text = getattr(config, "text_config", None) or config
    hidden = int(getattr(text, "hidden_size", 4096) or 4096)
    return Footprint(
        vocab=int(getattr(text, "vocab_size", 152064) or 152064),
        hidden=hidden,
        intermediate=int(getattr(text, "intermediate_size", 4 * hidden) or 4 * hidden),
        heads=int(getattr(text, "num_attention_heads", 32) or 32),
        dtype_bytes=dtype_bytes,
    )


def cpu_available_bytes() -> int:
    """Memory the system can still give (MemAvailable), 4 GiB when it cannot be read."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return 4 << 30


def plan_batches(lengths: Sequence[int], fits: Callable[[int, int], bool], fixed: int | None = None,
                 cap: int = MAX_AUTO_BATCH) -> list[list[int]]:
    """Indices into `lengths`, grouped into batches, longest samples first.

    Longest first, so that a batch that does not fit fails at the start of a run, not after an
    hour, and samples of similar length share a batch (little padding). With `fixed`, every batch
    has that many samples; otherwise a batch grows while `fits(size, padded_length)` and `cap` allow.
    """
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    batches: list[list[int]] = []
    current: list[int] = []
    for i in order:
        if current:
            padded = lengths[current[0]]
            full = len(current) >= fixed if fixed is not None else (
                len(current) >= cap or not fits(len(current) + 1, padded))
            if full:
                batches.append(current)
                current = []
        current.append(i)
    if current:
        batches.append(current)
    return batches


@dataclass(frozen=True)
class Tensors:
    """A right-padded batch: padding has the pad id, attention 0 and label -100."""

    input_ids: Any
    attention_mask: Any
    labels: Any
    lengths: tuple[int, ...]

    @property
    def padded_length(self) -> int:
        return max(self.lengths)


def collate(rows: Sequence[tuple[Sequence[int], Sequence[int]]], pad_id: int, device: Any) -> Tensors:
    """(input_ids, labels) pairs -> tensors on `device`.

    Right padding: a causal model's real tokens never attend to padding on their right, and their
    position ids stay 0..n-1, so each sample's logits are the ones it would get alone.
    """
    import torch

    width = max(len(ids) for ids, _ in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    labels = torch.full((len(rows), width), IGNORE_INDEX, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for r, (row_ids, row_labels) in enumerate(rows):
        n = len(row_ids)
        ids[r, :n] = torch.tensor(list(row_ids), dtype=torch.long)
        labels[r, :n] = torch.tensor(list(row_labels), dtype=torch.long)
        mask[r, :n] = 1
    return Tensors(ids.to(device), mask.to(device), labels.to(device), tuple(len(i) for i, _ in rows))
