"""think-placement (THK), markers and fields: markers in the wrong message or field, misspelt, or where
the template writes a block of its own."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Iterator, Mapping

from thinklint.checks.rendering import template_kwargs
from thinklint.context import Context
from thinklint.model import Sample, Violation
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
        hit = min(((m.content.find(mk), mk) for mk in markers if mk in m.content), default=None)
        if hit is not None:
            yield Violation(f"{m.role} turn {turn} contains {p.label(hit[1])}; think markers belong in "
                            "assistant turns", turn)


@lru_cache(maxsize=64)
def _near_miss_regex(marker: str, style: str) -> re.Pattern[str] | None:
    words = re.findall(r"[A-Za-z]+", marker)
    if not words:
        return None
    if style == "tags":
        # spaces, case, a backslash for the slash, an -ing ending, a self-closing slash, HTML escapes;
        # the words of a namespaced tag may be split or glued ('<seed: think>', '<seedthink>')
        body = r"[\s:_-]*".join(words)
        return re.compile(rf"(?:<|&lt;)\s*[/\\]?\s*{body}(?:ing)?\s*/?\s*(?:>|&gt;)", re.IGNORECASE)
    # plain text: the same words in another case or spacing, brackets optional
    head = r"\[?\s*" if marker.lstrip().startswith("[") else ""
    tail = r"\s*\]?" if marker.rstrip().endswith("]") else r"\s*:?"
    return re.compile(head + r"\W+".join(words) + tail, re.IGNORECASE)


def near_miss(sample: Sample, ctx: Context, opts: Mapping[str, Any]) -> Iterator[Violation]:
    p = ctx.profile
    if not p.inline_markers:
        return
    rxs = [rx for rx in {_near_miss_regex(mk, p.style) for mk in (p.open or "", p.close or "")} if rx]
    exact = {mk.strip() for mk in (p.open, p.close) if mk}
    for turn, m in assistant_turns(sample):
        for key in ("content", *p.reasoning_fields, *p.ignored_fields):
            text = m.field_text(key)
            hits = (h.group(0) for rx in rxs for h in rx.finditer(text or ""))
            hit = next((h for h in hits if h.strip() not in exact), None)
            if hit is not None:
                where = "" if key == "content" else f" (in {key!r})"
                yield Violation(f"assistant turn {turn} has {hit!r}{where}, a near miss of {p.markers_label}",
                                turn)
                break


def ignored_key(sample: Sample, ctx: Context, opts: Mapping[str, Any]) -> Iterator[Violation]:
    """THK009: reasoning under a key the serving template does not read."""
    p = ctx.profile
    if not p.can_think:
        return  # MOD005 reports reasoning given to a family that cannot think
    aliasing = bool(opts.get("transformers_aliasing"))
    lf = ctx.spec.training.framework == "llamafactory"
    for turn, m in enumerate(sample.messages, 1):
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
            yield Violation(f"{m.role} turn {turn} has reasoning under {key!r}: {why}{instead}", turn)
            break


def markers_in_field(sample: Sample, ctx: Context, opts: Mapping[str, Any]) -> Iterator[Violation]:
    p = ctx.profile
    if not p.has_markers:
        return
    markers = [mk for mk in (p.open, p.close, p.answer_open if p.style == "channels" else None) if mk]
    for turn, m in enumerate(sample.messages, 1):
        for key in p.reasoning_fields:
            value = m.extra.get(key)
            if isinstance(value, str) and any(mk in value for mk in markers):
                yield Violation(f"{m.role} turn {turn}: {key!r} contains {p.markers_label} markers; "
                                "the template adds its own, giving a block inside a block", turn)


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
