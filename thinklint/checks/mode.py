"""mode (MOD): the sample's reasoning contradicts the declared mode, a switch or the family."""

from __future__ import annotations

from typing import Any, Iterator, Mapping

from thinklint.context import Context, DatasetStats
from thinklint.model import Message, Sample, Violation
from thinklint.think import (
    active_switch,
    assistant_turns,
    empty_block_turns,
    last_assistant,
    turn_parse,
    turn_reasoning,
    unread_switches,
)


def declared_mode(sample: Sample, ctx: Context, opts: Mapping[str, Any]) -> Iterator[Violation]:
    mode = ctx.dataset.mode
    if mode not in ("thinking", "non-thinking"):
        return
    last = last_assistant(sample)
    if last is None:
        return
    r = turn_reasoning(sample, last[0], ctx.profile)
    if r.ignored and not r.present:
        return  # the reasoning is under a key the template ignores: THK009 says so
    if mode == "thinking" and not r.present:
        yield Violation(f"dataset {ctx.dataset.name!r} is declared thinking, but the trained assistant turn "
                        f"{last[0]} has no reasoning", last[0])
    elif mode == "non-thinking" and r.present:
        yield Violation(f"dataset {ctx.dataset.name!r} is declared non-thinking, but assistant turn "
                        f"{last[0]} has reasoning", last[0])


def _switch_turns(sample: Sample, ctx: Context, want: str) -> Iterator[tuple[int, bool]]:
    for turn, m in assistant_turns(sample):
        if active_switch(sample, ctx.profile, turn) == want:
            yield turn, turn_reasoning(sample, turn, ctx.profile).present


def no_think_with_reasoning(sample: Sample, ctx: Context, opts: Mapping[str, Any]) -> Iterator[Violation]:
    switch = ctx.profile.text_switches.get("non_thinking")
    for turn, present in _switch_turns(sample, ctx, "non_thinking"):
        if present:
            yield Violation(f"assistant turn {turn} reasons although the prompt says {switch}", turn)


def think_without_reasoning(sample: Sample, ctx: Context, opts: Mapping[str, Any]) -> Iterator[Violation]:
    switch = ctx.profile.text_switches.get("thinking")
    for turn, present in _switch_turns(sample, ctx, "thinking"):
        if not present:
            yield Violation(f"assistant turn {turn} has an empty think block although the prompt says "
                            f"{switch}", turn)


def switch_not_read(sample: Sample, ctx: Context, opts: Mapping[str, Any]) -> Iterator[Violation]:
    """MOD009: a switch in a message the family's template does not read it from."""
    p = ctx.profile
    for turn, token in unread_switches(sample, p):
        yield Violation(f"user turn {turn} has {token}, but the {p.name} template reads {token} only in the "
                        "system message: here it is plain text and does not change the mode", turn)


def missing_empty_block(sample: Sample, ctx: Context, opts: Mapping[str, Any]) -> Iterator[Violation]:
    # only where the data is the literal training text: elsewhere the template writes the block itself
    p = ctx.profile
    if sample.format != "text" or not p.empty_block:
        return
    for turn in empty_block_turns(sample, p.empty_on):
        parsed = turn_parse(sample, turn, p)
        if parsed is not None and not parsed.blocks:
            yield Violation(f"assistant turn {turn} has no think block; the {p.name} format writes the empty "
                            f"block {p.empty_block!r} before an answer without reasoning", turn)


#: what reasoning looks like in data written for some other family, for families that have none
_FOREIGN_MARKERS = ("<think>", "</think>")
_FOREIGN_FIELDS = ("reasoning_content", "reasoning", "thinking")


def _has_foreign_reasoning(m: Message) -> bool:
    if any(marker in m.content for marker in _FOREIGN_MARKERS):
        return True
    return any(isinstance(m.extra.get(k), str) and m.extra[k].strip() for k in _FOREIGN_FIELDS)


def unsupported_mode(sample: Sample, ctx: Context, opts: Mapping[str, Any]) -> Iterator[Violation]:
    p = ctx.profile
    last = last_assistant(sample)
    if last is None:
        return
    if p.thinking is None:
        # a family that cannot think has no markers of its own: look for anyone's
        if _has_foreign_reasoning(last[1]):
            yield Violation(f"{p.family} cannot think, but assistant turn {last[0]} has reasoning", last[0])
        return
    r = turn_reasoning(sample, last[0], p)
    if not r.present and not r.ignored and p.non_thinking is None:
        yield Violation(f"{p.family} always thinks, but assistant turn {last[0]} has no reasoning: "
                        "training it teaches the model to skip its reasoning", last[0])


def thinking_ratio(stats: DatasetStats, ctx: Context, opts: Mapping[str, Any]) -> Iterator[Violation]:
    floor = ctx.spec.policy.min_thinking_ratio
    judged = stats.thinking + stats.non_thinking
    if floor is None or ctx.dataset.mode not in (None, "mixed") or not judged:
        return
    ratio = stats.thinking / judged
    if ratio < floor:
        yield Violation(f"dataset {stats.dataset!r} has {ratio:.0%} thinking samples ({stats.thinking} of "
                        f"{judged}), under policy.min_thinking_ratio {floor:.0%}")
