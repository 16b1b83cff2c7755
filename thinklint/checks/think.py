"""think-placement (THK): markers missing, doubled, misspelled, misplaced or mis-spaced."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Iterator, Mapping

from thinklint.context import Context
from thinklint.model import Message, Sample, Violation
from thinklint.profiles import Profile
from thinklint.think import ThinkParse, parse_message


def _assistant_parses(sample: Sample, profile: Profile) -> Iterator[tuple[int, Message, ThinkParse]]:
    for turn, m in enumerate(sample.messages, 1):
        if m.role == "assistant":
            parsed = parse_message(m, profile)
            if parsed is not None:
                yield turn, m, parsed


def unclosed(sample: Sample, ctx: Context, opts: Mapping[str, Any]) -> Iterator[Violation]:
    p = ctx.profile
    for turn, m, parsed in _assistant_parses(sample, p):
        if parsed.unclosed:
            yield Violation(f"assistant turn {turn} opens {p.open} but never closes it", turn)


def stray_close(sample: Sample, ctx: Context, opts: Mapping[str, Any]) -> Iterator[Violation]:
    p = ctx.profile
    for turn, m, parsed in _assistant_parses(sample, p):
        if parsed.stray_closes:
            yield Violation(f"assistant turn {turn} has {p.close} without a matching {p.open}", turn)


def multiple_blocks(sample: Sample, ctx: Context, opts: Mapping[str, Any]) -> Iterator[Violation]:
    p = ctx.profile
    for turn, m, parsed in _assistant_parses(sample, p):
        if parsed.nested_opens:
            yield Violation(f"assistant turn {turn} opens {p.open} again inside a think block", turn)
        elif len(parsed.blocks) > 1:
            yield Violation(f"assistant turn {turn} has {len(parsed.blocks)} think blocks; "
                            "templates keep only one", turn)


def text_before_block(sample: Sample, ctx: Context, opts: Mapping[str, Any]) -> Iterator[Violation]:
    p = ctx.profile
    for turn, m, parsed in _assistant_parses(sample, p):
        pre = parsed.preamble(m.content)
        if pre.strip():
            shown = pre.strip()[:40]
            yield Violation(f"assistant turn {turn} has text before {p.open} ({shown!r}); "
                            "the chat template drops it", turn)


def duplicate_reasoning(sample: Sample, ctx: Context, opts: Mapping[str, Any]) -> Iterator[Violation]:
    p = ctx.profile
    for turn, m, parsed in _assistant_parses(sample, p):
        field = next((f for f in p.reasoning_fields if isinstance(m.extra.get(f), str) and m.extra[f].strip()),
                     None)
        if field and parsed.blocks:
            yield Violation(f"assistant turn {turn} has reasoning both in {field!r} and inline; "
                            "the template renders two blocks", turn)


@lru_cache(maxsize=32)
def _near_miss_regex(open_: str, close: str) -> re.Pattern[str] | None:
    word = re.sub(r"[^A-Za-z]", "", open_)
    if not word:
        return None
    # spaces, case, a backslash for the slash, an -ing ending, a self-closing slash, HTML escapes
    body = rf"(?:<|&lt;)\s*[/\\]?\s*{word}(?:ing)?\s*/?\s*(?:>|&gt;)"
    return re.compile(body, re.IGNORECASE)


def near_miss(sample: Sample, ctx: Context, opts: Mapping[str, Any]) -> Iterator[Violation]:
    p = ctx.profile
    if not (p.has_markers and p.style == "tags"):
        return
    rx = _near_miss_regex(p.open or "", p.close or "")
    if rx is None:
        return
    exact = {p.open, p.close}
    for turn, m in enumerate(sample.messages, 1):
        if m.role != "assistant":
            continue
        for key in ("content", *p.reasoning_fields, *p.ignored_fields):
            text = m.field_text(key)
            if not text:
                continue
            for hit in rx.finditer(text):
                if hit.group(0) not in exact:
                    where = "" if key == "content" else f" (in {key!r})"
                    yield Violation(f"assistant turn {turn} has {hit.group(0)!r}{where}, "
                                    f"a near miss of {p.open}/{p.close}", turn)
                    break


def canonical_block(content: str, parsed: ThinkParse, p: Profile) -> bool:
    """True when the single block is exactly `<think>\nR\n</think>\n\n` (the profile's form)."""
    c_open, c_close = p.canonical_open, p.canonical_close
    open_rest = c_open[len(p.open or ""):]
    before_close, _, after_close = c_close.partition(p.close or "")
    b = parsed.blocks[0]
    inner = content[b.inner_start:b.inner_end]
    if not (content.startswith(c_open, b.start) and inner.startswith(open_rest) and inner.endswith(before_close)
            and len(inner) >= len(open_rest) + len(before_close)):
        return False
    reasoning = inner[len(open_rest): len(inner) - len(before_close)]
    return reasoning == reasoning.strip("\n") and content.startswith(after_close, b.end)


def non_canonical(sample: Sample, ctx: Context, opts: Mapping[str, Any]) -> Iterator[Violation]:
    p = ctx.profile
    if not (p.canonical_open and p.canonical_close and p.close):
        return
    for turn, m, parsed in _assistant_parses(sample, p):
        if len(parsed.blocks) != 1 or not parsed.blocks[0].closed or canonical_block(m.content, parsed, p):
            continue
        b = parsed.blocks[0]
        head = m.content[b.start: b.inner_start + 2]
        tail = m.content[max(b.inner_end - 2, b.inner_start): b.end + 2]
        form = p.canonical_open + "…" + p.canonical_close
        yield Violation(f"assistant turn {turn}: think block is not in the canonical form {form!r} "
                        f"(starts {head!r}, ends {tail!r})", turn)


def ignored_key(sample: Sample, ctx: Context, opts: Mapping[str, Any]) -> Iterator[Violation]:
    p = ctx.profile
    for turn, m in enumerate(sample.messages, 1):
        for key in p.ignored_fields:
            value = m.extra.get(key)
            if isinstance(value, str) and value.strip():
                instead = f"; use {p.reasoning_fields[0]!r}" if p.reasoning_fields else " (write it inline)"
                yield Violation(f"{m.role} turn {turn} has reasoning under {key!r}, which the {p.name} "
                                f"template ignores{instead}", turn)


def markers_in_field(sample: Sample, ctx: Context, opts: Mapping[str, Any]) -> Iterator[Violation]:
    p = ctx.profile
    if not p.has_markers:
        return
    for turn, m in enumerate(sample.messages, 1):
        for key in p.reasoning_fields:
            value = m.extra.get(key)
            if isinstance(value, str) and ((p.open or "\0") in value or (p.close or "\0") in value):
                yield Violation(f"{m.role} turn {turn}: {key!r} contains {p.open}/{p.close} markers; "
                                "the template adds its own, giving a block inside a block", turn)
