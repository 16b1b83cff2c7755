"""mode (MOD): the sample's reasoning contradicts the declared mode, a switch, the family or the trainer."""

from __future__ import annotations

from typing import Any, Iterator, Mapping

from thinklint.checks.think import canonical_block
from thinklint.context import Context, DatasetStats
from thinklint.model import Message, Sample, Violation
from thinklint.think import active_switch, assistant_turns, is_thinking, last_assistant, parse_message, reasoning_of


def declared_mode(sample: Sample, ctx: Context, opts: Mapping[str, Any]) -> Iterator[Violation]:
    mode = ctx.dataset.mode
    if mode not in ("thinking", "non-thinking"):
        return
    thinking = is_thinking(sample, ctx.profile)
    last = last_assistant(sample)
    if thinking is None or last is None:
        return
    if mode == "thinking" and not thinking:
        yield Violation(f"dataset {ctx.dataset.name!r} is declared thinking, but the trained assistant turn "
                        f"{last[0]} has no reasoning", last[0])
    elif mode == "non-thinking" and thinking:
        yield Violation(f"dataset {ctx.dataset.name!r} is declared non-thinking, but assistant turn "
                        f"{last[0]} has reasoning", last[0])


def _switch_turns(sample: Sample, ctx: Context, want: str) -> Iterator[tuple[int, bool]]:
    for turn, m in assistant_turns(sample):
        if active_switch(sample, ctx.profile, turn) == want:
            yield turn, reasoning_of(m, ctx.profile).present


def no_think_with_reasoning(sample: Sample, ctx: Context, opts: Mapping[str, Any]) -> Iterator[Violation]:
    switch = ctx.profile.text_switches.get("non_thinking")
    for turn, present in _switch_turns(sample, ctx, "non_thinking"):
        if present:
            yield Violation(f"assistant turn {turn} reasons although the prompt says {switch}", turn)


def think_without_reasoning(sample: Sample, ctx: Context, opts: Mapping[str, Any]) -> Iterator[Violation]:
    switch = ctx.profile.text_switches.get("thinking")
    for turn, present in _switch_turns(sample, ctx, "thinking"):
        if not present:
            yield Violation(f"assistant turn {turn} has an empty think block although the prompt says {switch}",
                            turn)


def _empty_block_turns(sample: Sample, where: str) -> list[int]:
    turns = [t for t, _ in assistant_turns(sample)]
    if where == "last_turn":
        return turns[-1:]
    if where == "after_last_query":
        last_user = max((i + 1 for i, m in enumerate(sample.messages) if m.role == "user"), default=0)
        return [t for t in turns if t > last_user]
    return turns if where == "every_turn" else []


def missing_empty_block(sample: Sample, ctx: Context, opts: Mapping[str, Any]) -> Iterator[Violation]:
    # only where the data is the literal training text: elsewhere the template writes the block itself
    p = ctx.profile
    if sample.format != "text" or not p.empty_block:
        return
    for turn in _empty_block_turns(sample, p.empty_on):
        m = sample.messages[turn - 1]
        parsed = parse_message(m, p)
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
    # a family that cannot think has no markers of its own: look for anyone's
    thinking = is_thinking(sample, p) if p.thinking is not None else _has_foreign_reasoning(last[1])
    if thinking and p.thinking is None:
        yield Violation(f"{p.family} cannot think, but assistant turn {last[0]} has reasoning", last[0])
    elif not thinking and p.non_thinking is None:
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


def trainer_drops_reasoning(sample: Sample, ctx: Context, opts: Mapping[str, Any]) -> Iterator[Violation]:
    t = ctx.spec.training
    p = ctx.profile
    if t.framework != "llamafactory" or not p.has_markers:
        return
    nothink = t.template.endswith("_nothink")
    if t.enable_thinking is not False and not nothink:
        return
    for turn, m in assistant_turns(sample):
        r = reasoning_of(m, p)
        if not r.present:
            continue
        parsed = parse_message(m, p)
        inline = parsed is not None and len(parsed.blocks) == 1
        if nothink:
            yield Violation(f"assistant turn {turn} has reasoning, but template {t.template} has no thinking "
                            "support: the markers are trained as plain text", turn)
        elif inline and parsed is not None and not canonical_block(m.content, parsed, p):
            yield Violation(f"assistant turn {turn}: enable_thinking is false, but LLaMA-Factory strips only "
                            f"the exact form {p.canonical_open + '…' + p.canonical_close!r}, so this reasoning "
                            "is kept and trained", turn)
        elif inline:
            yield Violation(f"assistant turn {turn}: enable_thinking is false, so LLaMA-Factory removes this "
                            "reasoning and never trains it", turn)
