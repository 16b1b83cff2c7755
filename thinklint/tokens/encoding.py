"""What a trainer model produces: token ids, labels, and a map of what each token is.

Mask, template and truncation rules read an `Encoding` instead of re-deriving the trainer's logic,
so every rule agrees with every other on where the prompt ends and the reasoning begins.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import groupby
from typing import Protocol, Sequence

#: the label of a token that takes no loss (cross-entropy's ignore_index, LLaMA-Factory's IGNORE_INDEX)
IGNORE_INDEX = -100

#: segment kinds, in the order they usually appear in a turn
KINDS = ("prompt", "empty_think", "reasoning", "answer", "eot")


class Tokenizer(Protocol):
    """The part of a transformers tokenizer the trainer models use."""

    def encode(self, text: str, add_special_tokens: bool = ...) -> list[int]: ...

    def convert_tokens_to_ids(self, tokens: str) -> int: ...


@dataclass(frozen=True)
class Segment:
    """Tokens [start, end) of one kind, belonging to assistant turn `turn`.

    `turn` indexes the sample's messages: the assistant message the segment belongs to, or for a
    prompt segment the assistant message it precedes.
    """

    kind: str
    turn: int
    start: int
    end: int

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown segment kind {self.kind!r}")
        if not 0 <= self.start < self.end:
            raise ValueError(f"empty or negative segment [{self.start}, {self.end})")

    def __len__(self) -> int:
        return self.end - self.start


@dataclass(frozen=True)
class Encoding:
    """A sample as the trainer feeds it to the model, after truncation.

    `full_length` is the length before truncation; `segments` cover [0, len(input_ids)) exactly,
    in order, without gaps.
    """

    input_ids: tuple[int, ...]
    labels: tuple[int, ...]
    segments: tuple[Segment, ...]
    full_length: int
    truncated: bool

    def __post_init__(self) -> None:
        if len(self.input_ids) != len(self.labels):
            raise ValueError("input_ids and labels differ in length")
        position = 0
        for seg in self.segments:
            if seg.start != position:
                raise ValueError(f"segments leave a gap or overlap at token {position}")
            position = seg.end
        if position != len(self.input_ids):
            raise ValueError("segments do not cover input_ids")

    def __len__(self) -> int:
        return len(self.input_ids)

    @property
    def supervised(self) -> tuple[int, ...]:
        """Positions whose label takes loss."""
        return tuple(i for i, label in enumerate(self.labels) if label != IGNORE_INDEX)

    @property
    def any_supervised(self) -> bool:
        """True when some label takes loss (`bool(supervised)`, counted in C instead of listed)."""
        return self.labels.count(IGNORE_INDEX) != len(self.labels)

    @property
    def turns(self) -> tuple[int, ...]:
        """The assistant turns that still have at least one token after truncation."""
        return tuple(sorted({seg.turn for seg in self.segments}))

    def of_kind(self, kind: str) -> tuple[Segment, ...]:
        return tuple(seg for seg in self.segments if seg.kind == kind)

    def of_turn(self, turn: int) -> tuple[Segment, ...]:
        return tuple(seg for seg in self.segments if seg.turn == turn)

    def ids(self, seg: Segment) -> tuple[int, ...]:
        return self.input_ids[seg.start : seg.end]

    def supervised_in(self, seg: Segment) -> int:
        """How many tokens of `seg` take loss."""
        return seg.end - seg.start - self.labels[seg.start : seg.end].count(IGNORE_INDEX)

    def first_supervised_in(self, seg: Segment) -> int | None:
        """The position of the first token of `seg` that takes loss, None when all are masked."""
        labels = self.labels[seg.start : seg.end]
        if labels.count(IGNORE_INDEX) == len(labels):
            return None
        return seg.start + next(i for i, label in enumerate(labels) if label != IGNORE_INDEX)

    def is_supervised(self, seg: Segment) -> bool:
        """True when every token of `seg` takes loss."""
        return self.supervised_in(seg) == len(seg)

    def is_masked(self, seg: Segment) -> bool:
        """True when no token of `seg` takes loss."""
        return self.supervised_in(seg) == 0

    def labels_match_inputs(self) -> bool:
        """Every supervised label equals its own input token (the trainer shifts later)."""
        return all(label in (IGNORE_INDEX, tok) for tok, label in zip(self.input_ids, self.labels))


def common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    """The length of the longest common prefix of two id sequences.

    Compared slice by slice (in C) rather than token by token: usually one is a prefix of the
    other outright, else a bisection finds the first difference.
    """
    a, b = tuple(a), tuple(b)
    n = min(len(a), len(b))
    if a[:n] == b[:n]:
        return n
    lo, hi = 0, n  # invariant: a[:lo] == b[:lo] and a[:hi] != b[:hi]
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid
    return lo


def segments_from_runs(runs: Sequence[tuple[str, int, int]]) -> tuple[Segment, ...]:
    """Segments from runs of (kind, turn, count): `build_segments` of the runs spelled out token by
    token, without spelling them out (adjacent runs of the same kind and turn merge, empty ones vanish)."""
    segments: list[Segment] = []
    start = end = 0
    current: tuple[str, int] | None = None
    for kind, turn, count in runs:
        if count <= 0:
            continue
        if (kind, turn) != current:
            if current is not None:
                segments.append(Segment(current[0], current[1], start, end))
            current, start = (kind, turn), end
        end += count
    if current is not None:
        segments.append(Segment(current[0], current[1], start, end))
    return tuple(segments)


def build_segments(kinds: list[str], turns: list[int]) -> tuple[Segment, ...]:
    """Runs of equal (kind, turn) per token, as segments (groupby walks the tokens in C, not Python)."""
    if len(kinds) != len(turns):
        raise ValueError("kinds and turns differ in length")
    segments: list[Segment] = []
    start = 0
    for (kind, turn), run in groupby(zip(kinds, turns)):
        end = start + len(list(run))
        segments.append(Segment(kind, turn, start, end))
        start = end
    return tuple(segments)
