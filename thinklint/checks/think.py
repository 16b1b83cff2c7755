"""think-placement (THK), block structure: markers missing, doubled, misplaced or mis-spaced.

Every check reads a turn through `turn_parse`, i.e. as the family's template reads it: with the
family's markers, with the prefill a final_prefill template writes before the last turn, and with
a lone closer as the empty block where that is the family's empty block.
"""

from __future__ import annotations

from typing import Any, Iterator, Mapping

from thinklint.checks import repairs
from thinklint.context import Context
from thinklint.model import Fix, Message, Sample, Violation
from thinklint.profiles import Profile
from thinklint.think import ThinkParse, assistant_turns, lone_close_empty, parse, turn_mode, turn_parse


def assistant_parses(sample: Sample, profile: Profile) -> Iterator[tuple[int, Message, ThinkParse]]:
    for turn, m in assistant_turns(sample):
        parsed = turn_parse(sample, turn, profile)
        if parsed is not None:
            yield turn, m, parsed


def unclosed(sample: Sample, ctx: Context, opts: Mapping[str, Any]) -> Iterator[Violation]:
    p = ctx.profile
    for turn, m, parsed in assistant_parses(sample, p):
        b = parsed.unclosed
        if b is None:
            continue
        if b.start < parsed.lead:
            lead = parsed.text[:parsed.lead]
            yield Violation(f"assistant turn {turn} never writes {p.label(p.close)}: the {p.name} template "
                            f"writes {lead!r} before the last assistant turn, so the whole turn becomes "
                            f"unclosed reasoning (write the reasoning, {p.canonical_close!r} and the answer, "
                            "or switch thinking off for this sample)", turn)
        else:
            yield Violation(f"assistant turn {turn} opens {p.label(p.open)} but never closes it", turn)


def stray_close(sample: Sample, ctx: Context, opts: Mapping[str, Any]) -> Iterator[Violation]:
    p = ctx.profile
    for turn, m, parsed in assistant_parses(sample, p):
        if parsed.stray_closes:
            yield Violation(f"assistant turn {turn} has {p.label(p.close)} without a matching "
                            f"{p.label(p.open)}", turn)


def multiple_blocks(sample: Sample, ctx: Context, opts: Mapping[str, Any]) -> Iterator[Violation]:
    p = ctx.profile
    for turn, m, parsed in assistant_parses(sample, p):
        if parsed.nested_opens:
            yield Violation(f"assistant turn {turn} opens {p.label(p.open)} again inside a think block", turn)
        elif len(parsed.blocks) > 1:
            yield Violation(f"assistant turn {turn} has {len(parsed.blocks)} think blocks; "
                            "templates keep only one", turn)


def text_before_block(sample: Sample, ctx: Context, opts: Mapping[str, Any]) -> Iterator[Violation]:
    p = ctx.profile
    for turn, m, parsed in assistant_parses(sample, p):
        pre = parsed.preamble()
        if pre.strip():
            shown = pre.strip()[:40]
            yield Violation(f"assistant turn {turn} has text before {p.label(p.open)} ({shown!r}); "
                            "the chat template drops it", turn)


def duplicate_reasoning(sample: Sample, ctx: Context, opts: Mapping[str, Any]) -> Iterator[Violation]:
    p = ctx.profile
    for turn, m, parsed in assistant_parses(sample, p):
        field = next((f for f in p.reasoning_fields
                      if isinstance(m.extra.get(f), str) and m.extra[f].strip()), None)
        if field and parsed.blocks:
            yield Violation(f"assistant turn {turn} has reasoning both in {field!r} and inline; "
                            "the template renders two blocks", turn, _drop_copy(sample, ctx, m, field, parsed))


def _drop_copy(sample: Sample, ctx: Context, m: Message, field: str, parsed: ThinkParse) -> Fix | None:
    """The same reasoning twice: keep the copy the trainer reads (LLaMA-Factory reads only the
    content; a chat template reads the field), drop the other. Different texts: no fix."""
    p = ctx.profile
    if not repairs.single_block(parsed) or parsed.blocks[0].inner(parsed.text).strip() != m.extra[field].strip():
        return None
    if ctx.spec.training.framework == "llamafactory":
        return repairs.inline_fix(sample, m, field, p, "LLaMA-Factory reads only the content")
    return repairs.fix(f"drop the inline copy of {field!r}",
                       repairs.content_edit(sample, m, repairs.without_block(parsed)))


def canonical_block(parsed: ThinkParse, p: Profile) -> bool:
    """True when the single block is exactly the profile's form (`<think>\nR\n</think>\n\n` for Qwen3),
    with no newline added after it; empty reasoning may also be written as the family's empty block."""
    if not p.block_template or "{reasoning}" not in p.block_template:
        return True
    b = parsed.blocks[0]
    reasoning = b.inner(parsed.text)
    forms = [repairs.block_form(p, reasoning.strip("\n"))]
    if not reasoning.strip() and p.empty_block:
        forms.append(p.empty_block.lstrip())
    for form in forms:
        if parsed.text.startswith(form, b.start) and not parsed.text.startswith("\n", b.start + len(form)):
            return True
    return False


def answer_wrapped(parsed: ThinkParse, p: Profile) -> bool:
    """Granite 3.3 writes '<think>R</think><response>A</response>': the answer after the block is wrapped."""
    if not (p.answer_open and p.answer_close and p.style == "tags"):
        return True
    answer = parsed.answer().strip()
    return answer.startswith(p.answer_open) and answer.endswith(p.answer_close)


def non_canonical(sample: Sample, ctx: Context, opts: Mapping[str, Any]) -> Iterator[Violation]:
    p = ctx.profile
    if not (p.block_template and p.close):
        return
    for turn, m, parsed in assistant_parses(sample, p):
        if len(parsed.blocks) != 1 or not parsed.blocks[0].closed:
            continue
        if not canonical_block(parsed, p):
            b = parsed.blocks[0]
            head = parsed.text[b.start: b.inner_start + 2]
            tail = parsed.text[max(b.inner_end - 2, b.inner_start): b.end + 2]
            form = p.canonical_open + "…" + p.canonical_close
            yield Violation(f"assistant turn {turn}: think block is not in the canonical form {form!r} "
                            f"(starts {head!r}, ends {tail!r})", turn, _canonical_fix(sample, m, parsed, p))
        elif not answer_wrapped(parsed, p):
            yield Violation(f"assistant turn {turn}: the answer after the think block is not wrapped in "
                            f"{p.answer_open}…{p.answer_close}, the {p.name} form", turn)


def _canonical_fix(sample: Sample, m: Message, parsed: ThinkParse, p: Profile) -> Fix | None:
    """Safe: only the layout whitespace around the reasoning and before the answer changes, and
    the serving template renders the block in exactly this form whatever the data writes."""
    if not repairs.single_block(parsed):
        return None
    new = repairs.canonical_text(parsed, p)
    if new is None or not canonical_block(parse(new, p.open or "", p.close or "", lone_close_empty(p)), p):
        return None
    return repairs.fix(f"rewrite the think block as {p.canonical_open + '…' + p.canonical_close!r}",
                       repairs.content_edit(sample, m, new))


def prefilled_opener(sample: Sample, ctx: Context, opts: Mapping[str, Any]) -> Iterator[Violation]:
    """THK011: the last turn writes the opener that a final_prefill template writes itself."""
    p = ctx.profile
    if not p.final_prefill or sample.format == "text" or not p.open or not sample.messages:
        return
    turn = len(sample.messages)
    m = sample.messages[-1]
    if m.role != "assistant" or not m.content.lstrip().startswith(p.open):
        return
    mode = p.mode(turn_mode(sample, turn, p))
    prefill = mode.prefill if mode else p.open
    shape = "R" + p.canonical_close + "ANSWER"
    start = "the answer" if p.close and p.close in prefill else f"the reasoning: {shape!r}"
    yield Violation(f"assistant turn {turn} starts with {p.label(p.open)}, but the {p.name} template writes "
                    f"{prefill!r} before the last assistant turn itself: the rendered turn opens twice; "
                    f"start the turn with {start}", turn, _prefill_fix(sample, m, prefill, p))


def _prefill_fix(sample: Sample, m: Message, prefill: str, p: Profile) -> Fix | None:
    """Leave out what the template writes itself. Safe: the rendered turn is what the data meant.
    A prefill that is a whole (empty) block takes the data's block with it only when that block
    is empty too; reasoning after /no_think is MOD002's to judge."""
    assert p.open is not None
    content = m.content.lstrip()
    if p.close and p.close in prefill:
        parsed = parse(content, p.open, p.close)
        if not parsed.blocks or parsed.blocks[0].start or not parsed.blocks[0].closed \
                or parsed.blocks[0].inner(content).strip():
            return None
        new = content[parsed.blocks[0].end:].lstrip()
    else:
        new = content[len(p.open):].lstrip("\n")
    return repairs.fix(f"leave out {prefill!r}: the template writes it", repairs.content_edit(sample, m, new))
