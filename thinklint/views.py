"""What `thinklint show` and the HTML report display for one sample, as plain data.

A `SampleView` is built once (from the trainer's `Encoding` when there is a tokenizer, from the
normalised messages otherwise) and drawn by several renderers (plain text, rich, HTML), so that
every view of a sample agrees on which tokens are trained and where the segments begin.
Nothing here imports transformers: the tokenizer arrives as an object with `decode`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

from thinklint.model import Finding, Location, Sample
from thinklint.printable import visible
from thinklint.profiles import Profile
from thinklint.think import parse_message
from thinklint.tokens.encoding import IGNORE_INDEX, Encoding

#: what a segment kind is called in every view
KIND_NAMES = {"prompt": "prompt", "empty_think": "empty think block", "reasoning": "reasoning",
              "answer": "answer", "eot": "end of turn"}

#: bytes of a character split over several tokens: merged into one piece when decoding alone fails
_MAX_MERGE = 4


@dataclass(frozen=True)
class Piece:
    """One token (several when a character spans tokens) of a token view."""

    text: str
    ids: tuple[int, ...]
    trained: bool
    mark: str = ""  # "" | think (an open/close marker) | eot (an end-of-turn token) | special


@dataclass(frozen=True)
class SegmentView:
    kind: str
    turn: str  # "assistant turn 2", as findings name it
    pieces: tuple[Piece, ...]
    length: int  # tokens in the segment, elided ones included
    trained: int  # tokens of the segment that take loss
    elided: int = 0  # tokens left out of the middle of a long segment
    elided_at: int = 0  # index in `pieces` where the gap is

    @property
    def loss(self) -> str:
        """trained | masked | mixed: what the segment's labels do, for its header."""
        if self.trained == self.length:
            return "trained"
        return "masked" if self.trained == 0 else "mixed"


@dataclass(frozen=True)
class Part:
    """A stretch of a message's text in a structural view."""

    kind: str  # text | marker (a think marker) | reasoning (inside a block) | field (a reasoning field)
    text: str
    label: str = ""  # for a field: its key


@dataclass(frozen=True)
class MessageView:
    number: int  # 1-based, as findings count turns
    role: str
    parts: tuple[Part, ...]


@dataclass(frozen=True)
class SampleView:
    location: Location
    dataset: str
    findings: tuple[Finding, ...]
    trainer: str = ""  # who produced the tokens, for the header
    segments: tuple[SegmentView, ...] = ()  # the token view, when there is one
    tokens: int = 0
    trained: int = 0
    full_length: int = 0
    truncated: bool = False
    messages: tuple[MessageView, ...] = ()  # the structural view otherwise
    note: str = ""  # why there is no token view

    @property
    def has_tokens(self) -> bool:
        return bool(self.segments)


@dataclass(frozen=True)
class Views:
    """The sample views of a report: the first `cap` samples with findings, in file order."""

    views: tuple[SampleView, ...]
    total: int  # samples with findings, shown or not
    cap: int


class TokenNames:
    """Decodes single tokens (memoised: datasets repeat tokens) and knows which are markers."""

    def __init__(self, tokenizer: Any, profile: Profile) -> None:
        self.tokenizer = tokenizer
        self._text: dict[int, str] = {}
        added = getattr(tokenizer, "added_tokens_decoder", None) or {}
        self.special = frozenset(int(i) for i in added)
        markers = (self._single(profile.open), self._single(profile.close))
        self.think = frozenset(i for i in markers if i is not None)
        self.eot = frozenset(i for i in (self._single(e) for e in profile.end_of_turn) if i is not None)

    def _single(self, text: str | None) -> int | None:
        if not text:
            return None
        ids = self.tokenizer.encode(text, add_special_tokens=False)
        return int(ids[0]) if len(ids) == 1 else None

    def text(self, ids: Sequence[int]) -> str:
        if len(ids) == 1:
            hit = self._text.get(ids[0])
            if hit is None:
                hit = self._text[ids[0]] = str(self.tokenizer.decode([ids[0]], skip_special_tokens=False))
            return hit
        return str(self.tokenizer.decode(list(ids), skip_special_tokens=False))

    def mark(self, token: int) -> str:
        if token in self.think:
            return "think"
        if token in self.eot:
            return "eot"
        return "special" if token in self.special else ""


def _join_split_character(enc: Encoding, i: int, end: int, names: TokenNames) -> tuple[list[int], str] | None:
    """The tokens from `i` that together decode to whole characters, when they share a label.

    Byte-level tokenizers split rare characters over tokens, each of which decodes alone to U+FFFD;
    joined, the view shows the character instead of replacement marks.
    """
    trained = enc.labels[i] != IGNORE_INDEX
    group = [enc.input_ids[i]]
    for j in range(i + 1, min(end, i + _MAX_MERGE)):
        if (enc.labels[j] != IGNORE_INDEX) != trained:
            return None
        group.append(enc.input_ids[j])
        text = names.text(group)
        if "\ufffd" not in text:
            return group, text
    return None


def _pieces(enc: Encoding, start: int, end: int, names: TokenNames) -> list[Piece]:
    out: list[Piece] = []
    i = start
    while i < end:
        group = [enc.input_ids[i]]
        text = names.text(group)
        joined = _join_split_character(enc, i, end, names) if "\ufffd" in text else None
        if joined is not None:
            group, text = joined
        mark = names.mark(group[0]) if len(group) == 1 else ""
        out.append(Piece(visible(text), tuple(int(t) for t in group), enc.labels[i] != IGNORE_INDEX, mark))
        i += len(group)
    return out


def segment_views(enc: Encoding, names: TokenNames, turn_name: Callable[[int], str],
                  keep: int | None = None) -> tuple[SegmentView, ...]:
    """The segments of an encoding; with `keep`, a segment longer than 2*keep shows its ends only."""
    out = []
    for seg in enc.segments:
        trained = enc.supervised_in(seg)
        if keep is not None and len(seg) > 2 * keep:
            head = _pieces(enc, seg.start, seg.start + keep, names)
            tail = _pieces(enc, seg.end - keep, seg.end, names)
            out.append(SegmentView(seg.kind, turn_name(seg.turn), tuple(head + tail), len(seg), trained,
                                   len(seg) - 2 * keep, len(head)))
        else:
            pieces = tuple(_pieces(enc, seg.start, seg.end, names))
            out.append(SegmentView(seg.kind, turn_name(seg.turn), pieces, len(seg), trained))
    return tuple(out)


def message_views(sample: Sample, profile: Profile) -> tuple[MessageView, ...]:
    """The sample's turns with their think blocks and reasoning fields, for views without tokens."""
    out = []
    for number, m in enumerate(sample.messages, 1):
        parts: list[Part] = []
        if m.role == "assistant":
            for key in (*profile.reasoning_fields, *profile.ignored_fields):
                value = m.extra.get(key)
                if isinstance(value, str):
                    parts.append(Part("field", visible(value), key))
        parsed = parse_message(m, profile) if m.role != "tool" else None
        pos = 0
        for block in parsed.blocks if parsed else ():
            parts.append(Part("text", visible(m.content[pos:block.start])))
            parts.append(Part("marker", m.content[block.start:block.inner_start]))
            parts.append(Part("reasoning", visible(block.inner(m.content))))
            pos = block.end
            if block.closed:
                # the newlines after the closer go with it, as the trainer's segments count them
                while pos < len(m.content) and m.content[pos] == "\n":
                    pos += 1
                parts.append(Part("marker", m.content[block.inner_end:pos]))
        parts.append(Part("text", visible(m.content[pos:])))
        out.append(MessageView(number, m.role, tuple(p for p in parts if p.text or p.kind == "field")))
    return tuple(out)


def trainer_name(sample: Sample, profile: Profile, spec: Any) -> str:
    """Who produced the tokens, in the words of the spec."""
    if sample.format == "tokenized":
        return "the dataset's own input_ids and labels"
    training = spec.training
    if sample.format == "text":
        return f"format: text, tokenized as is ({profile.name})"
    thinking = _yaml(training.enable_thinking)
    if training.framework == "llamafactory":
        return f"LLaMA-Factory template {training.template}, enable_thinking: {thinking}"
    return f"the chat template, enable_thinking: {thinking}"


def _yaml(value: Any) -> str:
    return {True: "true", False: "false", None: "null"}.get(value, str(value))
