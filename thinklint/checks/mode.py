"""mode (MOD): the sample's reasoning contradicts the declared mode, a switch or the family."""

from __future__ import annotations

from typing import Any, Iterator, Mapping

from thinklint.checks import repairs
from thinklint.checks.nearmiss import has_near_miss
from thinklint.context import Context, DatasetStats
from thinklint.model import Fix, Message, Sample, Violation
from thinklint.think import (
    SwitchHit,
    assistant_turns,
    empty_block_turns,
    last_assistant,
    parse_message,
    switch_in_force,
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


def _switch_turns(sample: Sample, ctx: Context, want: str) -> Iterator[tuple[int, bool, SwitchHit]]:
    for turn, m in assistant_turns(sample):
        hit = switch_in_force(sample, ctx.profile, turn)
        if hit is not None and hit.mode == want:
            yield turn, turn_reasoning(sample, turn, ctx.profile).present, hit


def no_think_with_reasoning(sample: Sample, ctx: Context, opts: Mapping[str, Any]) -> Iterator[Violation]:
    switch = ctx.profile.text_switches.get("non_thinking")
    for turn, present, hit in _switch_turns(sample, ctx, "non_thinking"):
        if present:
            yield Violation(f"assistant turn {turn} reasons although the prompt says {switch}", turn,
                            _side_fix(sample, ctx, turn, hit, opts.get("prefer")))


def think_without_reasoning(sample: Sample, ctx: Context, opts: Mapping[str, Any]) -> Iterator[Violation]:
    switch = ctx.profile.text_switches.get("thinking")
    for turn, present, hit in _switch_turns(sample, ctx, "thinking"):
        if not present:
            yield Violation(f"assistant turn {turn} has an empty think block although the prompt says "
                            f"{switch}", turn, _side_fix(sample, ctx, turn, hit, opts.get("prefer")))


def _side_fix(sample: Sample, ctx: Context, turn: int, hit: SwitchHit, prefer: Any) -> Fix | None:
    """Only when the spec says which side wins (the rule's `prefer` option), and unsafe either way:
    `sample` edits the prompt (removes the switch), `switch` deletes the turn's reasoning. Nothing
    can write missing reasoning, so a /think without reasoning has only the `sample` repair."""
    if prefer == "sample":
        return repairs.remove_switch(sample, hit)
    if prefer != "switch" or hit.mode != "non_thinking":
        return None
    p = ctx.profile
    m = sample.messages[turn - 1]
    r = turn_reasoning(sample, turn, p)
    parsed = turn_parse(sample, turn, p)
    inline = parsed is not None and bool(parsed.blocks or parsed.stray_closes)
    why = f"the prompt says {hit.token}"
    if r.field is not None and r.field_text and r.field_text.strip():
        if inline:
            return None  # reasoning in the field and inline: THK006 first
        return repairs.fix(f"empty {r.field!r} of assistant turn {turn} ({why})",
                           repairs.field_edit(sample, m, r.field, ""), safe=False)
    if not repairs.single_block(parsed):
        return None
    assert parsed is not None
    return repairs.fix(f"empty the think block of assistant turn {turn} ({why})",
                       repairs.content_edit(sample, m, repairs.empty_block_text(parsed, p)), safe=False)


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
                            f"block {p.empty_block!r} before an answer without reasoning", turn,
                            _empty_block_fix(sample, sample.messages[turn - 1], ctx))


def _empty_block_fix(sample: Sample, m: Message, ctx: Context) -> Fix | None:
    """Safe: the block is the scaffold the template writes itself; no text of the sample changes
    (the answer's leading newlines go, as the template drops them after a block)."""
    p = ctx.profile
    assert p.empty_block is not None
    written = parse_message(m, p)
    if written is None or written.stray_closes or has_near_miss(m.content, p):
        return None  # a closer or a misspelt marker: the turn has reasoning, not a missing block
    new = p.empty_block + m.content.lstrip("\n")
    written = parse_message(Message(m.role, new), p)
    if m.span is None or written is None or not written.blocks:
        return None
    return repairs.fix(f"write the empty block {p.empty_block!r}", repairs.content_edit(sample, m, new))


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
