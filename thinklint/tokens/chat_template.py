"""Trainer model for `training.framework: chat_template` and for pre-rendered `format: text`.

The whole conversation is rendered once (or taken as written), tokenised, and every assistant
span is supervised through its end-of-turn token, as TRL's assistant_only_loss and axolotl's
chat_template strategy do. Spans are found by the profile's turn format, not by guessing.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import Any, Sequence

from thinklint.model import Message
from thinklint.profiles import Profile
from thinklint.tokens.encoding import IGNORE_INDEX, Encoding, build_segments


class SpanError(ValueError):
    """The rendered text does not contain the assistant turns where the profile says they are."""


def assistant_spans(text: str, messages: Sequence[Message], profile: Profile) -> list[tuple[int, int, int, int]]:
    """(message index, content start, end-of-turn start, end-of-turn end) per assistant message, in order."""
    header = profile.turns["assistant_header"]
    eots = profile.end_of_turn
    spans = []
    pos = 0
    for i, m in enumerate(messages):
        if m.role != "assistant":
            continue
        h = text.find(header, pos)
        if h < 0:
            raise SpanError(f"assistant turn {i + 1}: header {header!r} not found in the rendered text")
        start = h + len(header)
        hits = [(text.find(e, start), e) for e in eots]
        hits = [(at, e) for at, e in hits if at >= 0]
        nxt = text.find(header, start)
        if hits and (nxt < 0 or min(hits)[0] < nxt):
            at, eot = min(hits)
            spans.append((i, start, at, at + len(eot)))
            pos = at + len(eot)
        else:  # a family that renders no end-of-turn token (GLM): the turn runs to the next header
            end = nxt if nxt >= 0 else len(text)
            spans.append((i, start, end, end))
            pos = end
    return spans


def _content_parts(text: str, start: int, end: int, profile: Profile) -> list[tuple[int, int, str]]:
    """Split an assistant turn's content into answer / reasoning / empty_think ranges."""
    content = text[start:end]
    if not profile.has_markers:
        return [(start, end, "answer")]
    open_, close = profile.open or "", profile.close or ""
    c = content.find(close)
    if c < 0:
        return [(start, end, "answer")]
    o = content.rfind(open_, 0, c)
    block_start = o if o >= 0 else 0  # prefill families: the data starts inside the block
    block_end = c + len(close)
    while block_end < len(content) and content[block_end] == "\n":
        block_end += 1
    inner = content[(o + len(open_)) if o >= 0 else 0: c]
    kind = "empty_think" if not inner.strip() else "reasoning"
    parts = []
    if block_start > 0:
        parts.append((start, start + block_start, "answer"))
    parts.append((start + block_start, start + block_end, kind))
    if block_end < len(content):
        parts.append((start + block_end, end, "answer"))
    return parts


def encode_text(text: str, messages: Sequence[Message], profile: Profile, tokenizer: Any,
                cutoff_len: int | None) -> Encoding:
    spans = assistant_spans(text, messages, profile)
    # char ranges: (start, end, kind, turn); everything uncovered is prompt
    ranges: list[tuple[int, int, str, int]] = []
    for i, start, eot_start, eot_end in spans:
        for a, b, kind in _content_parts(text, start, eot_start, profile):
            if b > a:
                ranges.append((a, b, kind, i))
        if eot_end > eot_start:
            ranges.append((eot_start, eot_end, "eot", i))
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    ids: list[int] = list(enc["input_ids"])
    starts = [r[0] for r in ranges]
    turn_starts = [s[1] for s in spans]
    kinds: list[str] = []
    turns: list[int] = []
    labels: list[int] = []
    last_turn = spans[-1][0] if spans else 0
    for tok, (s, _e) in zip(ids, enc["offset_mapping"]):
        k = bisect_right(starts, s) - 1
        if k >= 0 and ranges[k][0] <= s < ranges[k][1]:
            kinds.append(ranges[k][2])
            turns.append(ranges[k][3])
            labels.append(tok)
        else:
            j = bisect_right(turn_starts, s)
            kinds.append("prompt")
            turns.append(spans[j][0] if j < len(spans) else last_turn)
            labels.append(IGNORE_INDEX)
    full = len(ids)
    if cutoff_len is not None and full > cutoff_len:
        # TRL and axolotl keep the start of an over-long sample
        ids, labels, kinds, turns = ids[:cutoff_len], labels[:cutoff_len], kinds[:cutoff_len], turns[:cutoff_len]
    return Encoding(tuple(ids), tuple(labels), build_segments(kinds, turns), full, full > len(ids))
