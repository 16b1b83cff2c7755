"""truncation (TRN): what cutoff_len cuts, as the trainer cuts it."""

from __future__ import annotations

from typing import Any, Iterator, Mapping

from thinklint.checks.tokens_common import encoded, turn_name
from thinklint.context import Context
from thinklint.model import Sample, Violation
from thinklint.tokens.encoding import Encoding


def _losses(full: Encoding, cut: Encoding, close_id: int | None, header: list[int], sample: Sample) -> list[str]:
    lost: list[str] = []
    for turn in full.turns:
        name = turn_name(sample, turn)
        if turn not in cut.turns:
            lost.append(f"all of {name}")
            continue

        def count(enc: Encoding, kind: str) -> int:
            return sum(len(s) for s in enc.of_turn(turn) if s.kind == kind)

        def has_close(enc: Encoding) -> bool:
            return close_id is not None and any(close_id in enc.ids(s) for s in enc.of_turn(turn)
                                                if s.kind in ("reasoning", "empty_think"))

        if has_close(full) and not has_close(cut):
            lost.append(f"the think closer of {name}")
        answer_full, answer_cut = count(full, "answer"), count(cut, "answer")
        if answer_cut < answer_full:
            lost.append(f"{'the whole' if answer_cut == 0 else 'part of the'} answer of {name}")
        if count(full, "eot") and not count(cut, "eot"):
            lost.append(f"the end-of-turn token of {name}")
        prompts = [s for s in cut.of_turn(turn) if s.kind == "prompt"]
        ends_with_header = bool(prompts) and list(cut.ids(prompts[-1]))[-len(header):] == header
        if header and not ends_with_header and any(s.kind == "prompt" for s in full.of_turn(turn)):
            lost.append(f"the assistant header of {name}")
    return lost


def over_cutoff(sample: Sample, ctx: Context, opts: Mapping[str, Any]) -> Iterator[Violation]:
    cut = encoded(sample, ctx)
    if cut is None or not cut.truncated:
        return
    full = encoded(sample, ctx, untruncated=True) or cut
    tokens = ctx.tokens
    close = tokens.tokenize(ctx.profile.close) if ctx.profile.close else []
    header = tokens.tokenize(ctx.profile.turns["assistant_header"])
    lost = _losses(full, cut, close[0] if len(close) == 1 else None, header, sample)
    what = ", ".join(lost) if lost else "only prompt tokens"
    yield Violation(f"the sample has {cut.full_length} tokens, over cutoff_len {ctx.spec.training.cutoff_len}: "
                    f"truncation cuts {what}; the trainer keeps the row")
