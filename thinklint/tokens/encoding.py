"""What a trainer model produces: token ids, labels, and a map of what each token is.

Mask, template and truncation rules read an `Encoding` instead of re-deriving the trainer's logic,
so every rule agrees with every other on where the prompt ends and the reasoning begins.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

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
        return sum(1 for label in self.labels[seg.start : seg.end] if label != IGNORE_INDEX)

    def is_supervised(self, seg: Segment) -> bool:
        """True when every token of `seg` takes loss."""
        return self.supervised_in(seg) == len(seg)

    def is_masked(self, seg: Segment) -> bool:
        """True when no token of `seg` takes loss."""
        return self.supervised_in(seg) == 0

    def labels_match_inputs(self) -> bool:
        """Every supervised label equals its own input token (the trainer shifts later)."""
        return all(label in (IGNORE_INDEX, tok) for tok, label in zip(self.input_ids, self.labels))


def build_segments(kinds: list[str], turns: list[int]) -> tuple[Segment, ...]:
    """Runs of equal (kind, turn) per token, as segments."""
    segments: list[Segment] = []
    start = 0
    for i in range(1, len(kinds) + 1):
        if i == len(kinds) or kinds[i] != kinds[start] or turns[i] != turns[start]:
            segments.append(Segment(kinds[start], turns[start], start, i))
            start = i
    return tuple(segments)
