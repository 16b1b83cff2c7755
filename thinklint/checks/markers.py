"""think-placement (THK), markers and fields: markers in the wrong message or field, misspelt, or where
the template writes a block of its own."""

from __future__ import annotations

from typing import Any, Iterator, Mapping

from thinklint.checks import repairs
from thinklint.checks.firsts import first_marker
from thinklint.checks.nearmiss import finditer, near_miss_setup
from thinklint.checks.rendering import template_kwargs
from thinklint.context import Context
from thinklint.model import Fix, Message, Sample, Violation
from thinklint.think import active_switch, assistant_turns, empty_block_turns


def outside_assistant(sample: Sample, ctx: Context, opts: Mapping[str, Any]) -> Iterator[Violation]:
    """THK004: the family's markers in a system, user or tool message."""
    p = ctx.profile
    if not p.has_markers:
        return
    # a plain-text family's own system prompt names its markers (Apriel: "after the marker
    # [BEGIN FINAL RESPONSE]"), so a system message may mention them too
    roles = ("user", "tool") if p.style == "text" else ("system", "user", "tool")
    markers = [mk for mk in (p.open, p.close) if mk]
    for turn, m in enumerate(sample.messages, 1):
        if m.role not in roles:
            continue
        hit = first_marker(m.content, markers)
        if hit is not None:
            yield Violation(f"{m.role} turn {turn} contains {p.label(hit[1])}; think markers belong in "
                            "assistant turns", turn)


def near_miss(sample: Sample, ctx: Context, opts: Mapping[str, Any]) -> Iterator[Violation]:
    p = ctx.profile
    if not p.inline_markers:
        return
    rxs, exact = near_miss_setup(p.open or "", p.close or "", p.style)
    for turn, m in assistant_turns(sample):
        for key in ("content", *p.reasoning_fields, *p.ignored_fields):
            text = m.field_text(key)
            if not text:
                continue
            hits = [h for rx in rxs for h in finditer(rx, text) if h.group(0).strip() not in exact]
            if hits:
                hit = min(hits, key=lambda h: h.start()).group(0)
                where = "" if key == "content" else f" (in {key!r})"
                yield Violation(f"assistant turn {turn} has {hit!r}{where}, a near miss of {p.markers_label}",
                                turn, _near_miss_fix(sample, m, key, text, [h.span() for h in hits], ctx))
                break


def _near_miss_fix(sample: Sample, m: Message, key: str, text: str, spans: list[tuple[int, int]],
                   ctx: Context) -> Fix | None:
    """Every near miss in the field spelt as the marker it stands for. Safe when each differs from
    its marker only in case, spaces or a backslash for the slash (a typo of the same token);
    unsafe for other words for it (`<thinking>`, `&lt;think&gt;`, `<seed_think>`), which may be
    meant as text; none when a near miss could stand for either marker (`<think/>`)."""
    p = ctx.profile
    repaired = repairs.near_miss_text(text, spans, p)
    if repaired is None:
        return None
    new, safe = repaired
    edit = repairs.content_edit(sample, m, new) if key == "content" else repairs.field_edit(sample, m, key, new)
    return repairs.fix(f"spell the think markers exactly ({p.markers_label})", edit, safe=safe)


def ignored_key(sample: Sample, ctx: Context, opts: Mapping[str, Any]) -> Iterator[Violation]:
    """THK009: reasoning under a key the serving template does not read."""
    p = ctx.profile
    if not p.can_think:
        return  # MOD005 reports reasoning given to a family that cannot think
    aliasing = bool(opts.get("transformers_aliasing"))
    lf = ctx.spec.training.framework == "llamafactory"
    for turn, m in enumerate(sample.messages, 1):
        if not m.extra:
            continue  # no field at all, as most messages: nothing under a key the template ignores
        if any(isinstance(m.extra.get(f), str) and m.extra[f].strip() for f in p.reasoning_fields):
            continue  # the template finds this turn's reasoning in the field it reads
        for key in p.ignored_fields:
            value = m.extra.get(key)
            if not (isinstance(value, str) and value.strip()):
                continue
            if p.reasoning_fields:
                if aliasing:
                    continue  # transformers >= 5 copies it into the field the template reads
                why = (f"the {p.name} template reads only {p.reasoning_fields[0]!r} (transformers >= 5 "
                       f"copies {key!r} into it; older transformers and other renderers drop it)")
            else:
                why = (f"the {p.name} template reads no reasoning field, whatever transformers copies where, "
                       "only inline blocks")
            if lf:
                instead = "; LLaMA-Factory reads no reasoning field either: write the reasoning inline"
            elif p.reasoning_fields:
                instead = f"; use {p.reasoning_fields[0]!r}"
            else:
                instead = f"; write it inline as {p.canonical_open + '…' + p.canonical_close!r}"
            yield Violation(f"{m.role} turn {turn} has reasoning under {key!r}: {why}{instead}", turn,
                            _ignored_key_fix(sample, ctx, m, key) if m.role == "assistant" else None)
            break


def _ignored_key_fix(sample: Sample, ctx: Context, m: Message, key: str) -> Fix | None:
    """Move the reasoning where the spec's trainer reads it: inline for LLaMA-Factory (it reads
    no field) and for families whose template reads no field, else the field the template reads.
    Safe: the text is kept, only its place changes, to the one place that is read."""
    p = ctx.profile
    if ctx.spec.training.framework == "llamafactory":
        return repairs.inline_fix(sample, m, key, p, "LLaMA-Factory reads only the content")
    if not p.reasoning_fields:
        return repairs.inline_fix(sample, m, key, p, f"the {p.name} template reads only inline blocks")
    return repairs.field_move_fix(sample, m, key, p.reasoning_fields[0], p)


def markers_in_field(sample: Sample, ctx: Context, opts: Mapping[str, Any]) -> Iterator[Violation]:
    p = ctx.profile
    if not p.has_markers:
        return
    markers = [mk for mk in (p.open, p.close, p.answer_open if p.style == "channels" else None) if mk]
    for turn, m in enumerate(sample.messages, 1):
        for key in p.reasoning_fields:
            value = m.extra.get(key)
            if isinstance(value, str) and any(mk in value for mk in markers):
                inner = repairs.stripped_markers(value, p, markers)
                # safe: the markers are the template's to write; the reasoning between them stays
                repair = repairs.fix(f"remove the markers from {key!r}", repairs.field_edit(sample, m, key, inner)
                                     ) if inner is not None else None
                yield Violation(f"{m.role} turn {turn}: {key!r} contains {p.markers_label} markers; "
                                "the template adds its own, giving a block inside a block", turn, repair)


def doubled_by_template(sample: Sample, ctx: Context, opts: Mapping[str, Any]) -> Iterator[Violation]:
    """THK013: a `prefixed` template writes its own block before content that already has one."""
    p = ctx.profile
    # only a render with the chat template doubles the block; LLaMA-Factory renders with its own
    if p.inline != "prefixed" or not p.empty_block or not p.has_markers:
        return
    if ctx.spec.training.framework != "chat_template":
        return
    for turn, m in assistant_turns(sample):
        if not any(mk and mk in m.content for mk in (p.open, p.close)):
            continue
        if any(isinstance(m.extra.get(f), str) and m.extra[f].strip() for f in p.reasoning_fields):
            continue  # a field block plus an inline one: THK006
        # the mode the data switches to, else the one the trainer's template arguments select
        mode = active_switch(sample, p, turn) or p.mode_for(template_kwargs(p, ctx.spec.training))
        served = p.mode(mode)
        # SmolLM3's /no_think does what enable_thinking=false does: the switch overrides apply
        _, empty_on = p.history_for(served.kwargs if served else {})
        if turn not in empty_block_turns(sample, empty_on):
            continue
        hybrid = len(p.supported_modes) > 1
        when = f"in {mode.replace('_', '-')} mode" if hybrid else "whatever the turn holds"
        instead = (f"put the reasoning in {p.reasoning_fields[0]!r}" if p.reasoning_fields
                   else "leave the block out, the template writes it")
        yield Violation(f"assistant turn {turn} has its own think block, but the {p.name} template writes "
                        f"{p.empty_block!r} before it {when}: the rendered turn has two blocks; {instead}",
                        turn)
