"""`format: tokenized`: the trainer's own (input_ids, labels), mapped back to turns by token ids.

Assistant turns are found by the token ids of the profile's assistant header and end-of-turn
token; think markers by their ids. Turn numbers count assistant turns (there are no messages).
"""

from __future__ import annotations

from typing import Any, Sequence

from thinklint.profiles import Profile
from thinklint.tokens.encoding import Encoding, build_segments


class LabelError(ValueError):
    """input_ids and labels cannot be paired (different lengths)."""


def _find(seq: Sequence[int], sub: Sequence[int], start: int) -> int:
    n, m = len(seq), len(sub)
    if not m:
        return -1
    first = sub[0]
    i = start
    while i <= n - m:
        try:
            i = seq.index(first, i, n - m + 1)
        except ValueError:
            return -1
        if list(seq[i:i + m]) == list(sub):
            return i
        i += 1
    return -1


def _single_id(tokenizer: Any, text: str | None) -> int | None:
    if not text:
        return None
    ids = tokenizer.encode(text, add_special_tokens=False)
    return ids[0] if len(ids) == 1 else None


def out_of_vocabulary(input_ids: Sequence[int], tokenizer: Any) -> str | None:
    """The first input id that the tokenizer does not have, described; None when it has them all.

    (Labels are compared with their input tokens by the mask rules, and a label that is not a token
    id is what the dry run reports; an input id outside the vocabulary cannot even be decoded.)"""
    size = len(tokenizer)
    bad = next((i for i, x in enumerate(input_ids) if not 0 <= x < size), None)
    if bad is not None:
        return f"input_ids[{bad}] = {input_ids[bad]} is not a token id of the tokenizer (it has {size:,})"
    return None


def encode_tokenized(input_ids: Sequence[int], labels: Sequence[int], profile: Profile, tokenizer: Any) -> Encoding:
    if len(input_ids) != len(labels):
        raise LabelError(f"input_ids has {len(input_ids)} tokens but labels has {len(labels)}")
    unknown = out_of_vocabulary(input_ids, tokenizer)
    if unknown:
        raise LabelError(unknown)
    ids = list(input_ids)
    header = tokenizer.encode(profile.turns["assistant_header"], add_special_tokens=False)
    eot_ids = {i for i in (_single_id(tokenizer, e) for e in profile.end_of_turn) if i is not None}
    open_id, close_id = _single_id(tokenizer, profile.open), _single_id(tokenizer, profile.close)
    kinds = ["prompt"] * len(ids)
    turns = [0] * len(ids)
    turn = 0
    done = 0  # tokens before `done` have their turn; the prompt before a header belongs to that turn
    pos = _find(ids, header, 0)
    while pos >= 0:
        start = pos + len(header)
        end = next((j for j in range(start, len(ids)) if ids[j] in eot_ids), len(ids) - 1)
        for j in range(done, end + 1):
            turns[j] = turn
        done = end + 1
        for j in range(start, end + 1):
            kinds[j] = "answer"
        if end < len(ids) and ids[end] in eot_ids:
            kinds[end] = "eot"
            # the newline a template writes after the end-of-turn token is part of the turn's end
            while end + 1 < len(ids) and not tokenizer.decode([ids[end + 1]]).strip():
                end += 1
                kinds[end] = "eot"
        if close_id is not None and close_id in ids[start:end]:
            c = ids.index(close_id, start, end)
            o = next((j for j in range(c - 1, start - 1, -1) if ids[j] == open_id), start)
            b = c + 1
            while b < end and not tokenizer.decode([ids[b]]).strip("\n"):
                b += 1  # the newlines after the closer belong to the block
            inner = tokenizer.decode(ids[o + 1 if ids[o] == open_id else o: c])
            for j in range(o, b):
                kinds[j] = "empty_think" if not inner.strip() else "reasoning"
        turn += 1
        pos = _find(ids, header, end + 1)
    for j in range(done, len(ids)):
        turns[j] = max(turn - 1, 0)
    return Encoding(tuple(ids), tuple(labels), build_segments(kinds, turns), len(ids), False)
