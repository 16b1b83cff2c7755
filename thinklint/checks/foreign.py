"""think-placement (THK), foreign markup: markup the family's template does not read as its own,
another family's think markers (THK012) or harmony control tokens in content (THK014)."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Iterator, Mapping

from thinklint.checks.firsts import first_marker
from thinklint.context import Context
from thinklint.model import Sample, Violation
from thinklint.profiles import Profile, builtin_profiles
from thinklint.think import assistant_turns


@lru_cache(maxsize=1)
def family_markers() -> tuple[tuple[str, str], ...]:
    """(marker, whose) for the think markers of every builtin family, and the common <think>."""
    found: dict[str, str] = {"<think>": "the common", "</think>": "the common"}
    for other in builtin_profiles().values():
        if other.style == "tags":
            marks: tuple[str | None, ...] = (other.open, other.close)
        elif other.style == "channels":
            marks = (other.open, other.answer_open)
        else:
            continue
        for mk in marks:
            if mk and mk not in found:
                found[mk] = f"{other.name}'s"
    return tuple(found.items())


@lru_cache(maxsize=64)
def _foreign_to(*own: str | None) -> tuple[tuple[str, ...], dict[str, str]]:
    """Every family marker that is not one of `own`, and whose each is."""
    whose = {mk: w for mk, w in family_markers() if mk not in own}
    return tuple(whose), whose


def _convention(p: Profile) -> str:
    if p.style == "channels":
        field = p.reasoning_fields[0] if p.reasoning_fields else "a field"
        return f"its reasoning goes in {field!r} (the analysis channel) and only the answer in content"
    if p.style == "text":
        return f"its reasoning follows {p.open!r} and ends at {p.close!r}"
    return f"its markers are {p.markers_label}"


def foreign_markers(sample: Sample, ctx: Context, opts: Mapping[str, Any]) -> Iterator[Violation]:
    """THK012: another family's think markers, which this family's template treats as plain text."""
    p = ctx.profile
    if not (p.can_think and p.has_markers):
        return  # a family that cannot think: MOD005 reports any reasoning
    markers, whose = _foreign_to(p.open, p.close, p.answer_open, p.answer_close)
    for turn, m in assistant_turns(sample):
        for key in ("content", *p.reasoning_fields):
            text = m.field_text(key)
            hit = first_marker(text, markers) if text else None
            if hit is None:
                continue
            where = "" if key == "content" else f" in {key!r}"
            yield Violation(f"assistant turn {turn} has {hit[1]}{where} ({whose[hit[1]]} think marker), "
                            f"which the {p.name} template treats as plain text: {_convention(p)}", turn)
            break


def control_tokens(p: Profile) -> tuple[str, ...]:
    texts = [p.open or "", p.close or "", p.answer_open or "", p.block_template or "", p.answer_prefix,
             p.turns.get("assistant_header", ""), p.turns.get("assistant_end", ""), p.assistant_end_final,
             *p.end_of_turn]
    return tuple(sorted({t for text in texts for t in re.findall(r"<\|[a-z_]+\|>", text)}))


def channel_markup(sample: Sample, ctx: Context, opts: Mapping[str, Any]) -> Iterator[Violation]:
    """THK014: harmony markup in an assistant message's content (gpt-oss)."""
    p = ctx.profile
    if p.style != "channels" or sample.format == "text":
        return  # pre-rendered text holds the channels by right: its turns are read from them
    raising = [mk for mk in (p.open, p.answer_open) if mk]
    field = p.reasoning_fields[0] if p.reasoning_fields else "a reasoning field"
    for turn, m in assistant_turns(sample):
        header = next((mk for mk in raising if mk in m.content), None)
        if header is not None:
            yield Violation(f"assistant turn {turn} has the channel header {header!r} in its content: the "
                            f"{p.name} template raises on it; put the reasoning in "
                            f"{field!r} and only the answer in content",
                            turn)
            continue
        token = next((t for t in control_tokens(p) if t in m.content), None)
        if token is not None:
            yield Violation(f"assistant turn {turn} has the harmony token {token!r} in its content: the "
                            f"{p.name} template writes the channels itself, and the token ends or corrupts "
                            "the final message", turn)
