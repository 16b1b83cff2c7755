"""Repairs: the fixes rules attach to their findings, as edits on the record's JSON paths.

A repair is offered only where it has one right answer; the check that offers it makes sure the
repaired turn passes that check. Everything here is pure (sample and profile in, edits or a fix
out); `thinklint.fix` applies fixes and owns all writing.

Edits replace the smallest value that holds the change: a string for a text change, the message
object when a key is added or removed (so that edits stay plain JSON, cacheable as such).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from thinklint.jsonpath import same, value_at
from thinklint.model import Edit, Fix, Message, Sample
from thinklint.profiles import Profile
from thinklint.think import SwitchHit, ThinkParse, parse_message

#: every key datasets keep reasoning under; a move must not leave a second copy behind
REASONING_KEYS = ("reasoning_content", "reasoning", "thinking")


def block_form(p: Profile, reasoning: str) -> str:
    """The profile's block around `reasoning`, without the layout whitespace the template writes
    before the opener (GLM-4.5's '\\n<think>'): that belongs to the turn, and data may or may not
    carry it. The caller has checked that the profile has a block template."""
    assert p.block_template is not None
    return p.block_template.replace("{reasoning}", reasoning).lstrip()


def inline_form(p: Profile, reasoning: str) -> str | None:
    """The canonical inline block for `reasoning` (its edge newlines dropped, as templates drop
    them); None for a family whose reasoning cannot be written inline."""
    if not (p.inline_markers and p.block_template and "{reasoning}" in p.block_template):
        return None
    return block_form(p, reasoning.strip("\n"))


def fix(description: str, *edits: Edit | None, safe: bool = True) -> Fix | None:
    """A fix of these edits; None when any could not be made (the record is not what it seems) or
    none would change anything (a fix that changes nothing would be offered again and again)."""
    made = tuple(e for e in edits if e is not None)
    if not made or len(made) != len(edits) or all(same(e.old, e.new) for e in made):
        return None
    return Fix(description, made, safe)


# ---------------------------------------------------------------------------------------------
# edits


def content_edit(sample: Sample, m: Message, new: str) -> Edit | None:
    """Replace a message's content; for a turn of a pre-rendered text, splice it into the text."""
    if not m.source or sample.raw is None:
        return None
    current = value_at(sample.raw, m.source)
    if m.span is not None:
        start, end = m.span
        if not isinstance(current, str) or current[start:end] != m.content:
            return None
        return Edit(m.source, current, current[:start] + new + current[end:])
    if current != m.content or not isinstance(current, str):
        return None
    return Edit(m.source, current, new)


def message_object(sample: Sample, m: Message) -> tuple[tuple[str | int, ...], dict[str, Any]] | None:
    """The JSON path and object of a message that is an object in a list (openai, sharegpt)."""
    if m.span is not None or len(m.source) < 2 or sample.raw is None:
        return None
    path = m.source[:-1]
    obj = value_at(sample.raw, path)
    return (path, obj) if isinstance(obj, dict) else None


def message_edit(sample: Sample, m: Message, change: Callable[[dict[str, Any]], dict[str, Any] | None]
                 ) -> Edit | None:
    """Replace a message object by `change(copy)`; None when `change` declines."""
    found = message_object(sample, m)
    if found is None:
        return None
    path, obj = found
    new = change(dict(obj))
    return Edit(path, obj, new) if new is not None and new != obj else None


def field_edit(sample: Sample, m: Message, key: str, new: str) -> Edit | None:
    found = message_object(sample, m)
    if found is None or not isinstance(found[1].get(key), str):
        return None
    path, obj = found
    return Edit((*path, key), obj[key], new)


# ---------------------------------------------------------------------------------------------
# block text


def single_block(parsed: ThinkParse | None) -> bool:
    """One closed block, nothing else to interpret, in text the data wrote (no template lead)."""
    return bool(parsed is not None and not parsed.lead and len(parsed.blocks) == 1 and parsed.blocks[0].closed
                and not parsed.stray_closes and not parsed.nested_opens)


def canonical_text(parsed: ThinkParse, p: Profile) -> str | None:
    """The turn with its single block in the profile's form, the answer right after it: what the
    serving template renders (Qwen3: reasoning.strip('\\n'), content.lstrip('\\n'))."""
    b = parsed.blocks[0]
    reasoning = b.inner(parsed.text).strip("\n")
    if reasoning[:1] == "\r" or reasoning[-1:] == "\r":
        return None  # CRLF around the reasoning: which line breaks are layout is not clear
    return parsed.text[:b.start] + block_form(p, reasoning) + parsed.text[b.end:].lstrip("\n")


def without_block(parsed: ThinkParse, replacement: str = "") -> str:
    """The turn with its single block replaced (by nothing, or by an empty block)."""
    b = parsed.blocks[0]
    return parsed.text[:b.start] + replacement + parsed.text[b.end:].lstrip("\n")


def empty_block_text(parsed: ThinkParse, p: Profile) -> str:
    """The turn with its reasoning removed: the family's empty block where it has one, else no block."""
    return without_block(parsed, p.empty_block.lstrip() if p.empty_block else "")


# ---------------------------------------------------------------------------------------------
# near-miss markers (THK007)


def marker_for(hit: str, p: Profile) -> tuple[str, bool] | None:
    """The marker a near miss stands for, and whether it is a mere typo of it (case, spaces, a
    backslash for the slash: safe to correct); None when it could stand for either."""
    if p.style == "tags":
        body = hit.replace("&lt;", "<").replace("&gt;", ">")
        if re.search(r"/\s*>\Z", body):
            return None  # self-closing '<think/>': neither an opener nor a closer
        closing = re.match(r"<\s*[/\\]", body) is not None
        target = p.close if closing else p.open
        if not target:
            return None
        typo = body == hit and re.sub(r"\s+", "", body).replace("\\", "/").lower() == target.lower()
        return target, typo
    words = [w.lower() for w in re.findall(r"[A-Za-z]+", hit)]
    for marker in (p.open, p.close):
        if marker and [w.lower() for w in re.findall(r"[A-Za-z]+", marker)] == words:
            return marker.strip(), " ".join(hit.split()).lower() == " ".join(marker.split()).lower()
    return None


def near_miss_text(text: str, spans: list[tuple[int, int]], p: Profile) -> tuple[str, bool] | None:
    """`text` with every near miss at `spans` replaced by its marker, and whether all were typos."""
    out, pos, safe = [], 0, True
    for start, end in sorted(spans):
        raw = text[start:end]
        start += len(raw) - len(raw.lstrip())  # a plain-text hit may take the spaces around it
        end -= len(raw) - len(raw.rstrip())
        if start < pos:
            continue  # the same near miss found by both markers' patterns
        found = marker_for(text[start:end], p)
        if found is None:
            return None
        out += [text[pos:start], found[0]]
        safe = safe and found[1]
        pos = end
    return "".join(out) + text[pos:], safe


# ---------------------------------------------------------------------------------------------
# reasoning in the wrong place (THK006, THK009, THK010, MOD008)


def _other_reasoning(obj: dict[str, Any], key: str, p: Profile) -> bool:
    keys = {*REASONING_KEYS, *p.reasoning_fields, *p.ignored_fields} - {key}
    return any(isinstance(obj.get(k), str) and obj[k].strip() for k in keys)


#: a marker, or what a near-miss check would take for one (`<Think>`, `</ think>`, `<thinking>`, `&lt;think&gt;`)
#: (a bounded gap: `\s*[/\\]?\s*` backtracks over a long run of spaces after each `<`, quadratic on hostile text)
_MARKER_LIKE = re.compile(r"(?:<|&lt;)[\s/\\]{0,4}(?:think|thinking|thought|reasoning)\b", re.IGNORECASE)


def _marker_like(text: str, p: Profile) -> bool:
    return bool(_MARKER_LIKE.search(text)) or any(mark and mark in text for mark in (p.open, p.close))


def inline_fix(sample: Sample, m: Message, key: str, p: Profile, why: str) -> Fix | None:
    """Move the reasoning under `key` into the content as the family's inline block (or, when the
    content already holds the same reasoning inline, drop the field). Safe: no text is lost."""
    found = message_object(sample, m)
    value = m.extra.get(key)
    if found is None or not isinstance(value, str) or not value.strip():
        return None
    if _marker_like(value, p):
        return None  # moved as it is, its markers would nest a block in the block: THK010 strips them first
    obj, content_key = found[1], str(m.source[-1])
    form = inline_form(p, value)
    content = obj.get(content_key, "")
    content = "" if content is None else content  # OpenAI: null content beside tool calls
    if form is None or not isinstance(content, str) or _other_reasoning(obj, key, p):
        return None
    parsed = parse_message(m, p)
    if parsed is not None and (parsed.blocks or parsed.stray_closes):
        if not single_block(parsed) or parsed.blocks[0].inner(parsed.text).strip() != value.strip():
            return None  # different reasoning in both places: which one is right is not ours to say
        return fix(f"drop {key!r}: the content holds the same reasoning inline ({why})",
                   message_edit(sample, m, lambda o: {k: v for k, v in o.items() if k != key}))
    if _marker_like(content, p):
        return None  # a near-miss block in the content (THK007 respells it): a second block beside the moved one

    def move(o: dict[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in o.items() if k != key}
        out[content_key] = form + content.lstrip("\n")
        return out

    return fix(f"move the reasoning from {key!r} into the content as {inline_form(p, '…')!r} ({why})",
               message_edit(sample, m, move))


def field_move_fix(sample: Sample, m: Message, key: str, target: str, p: Profile) -> Fix | None:
    """Move the reasoning under `key` to the field the template reads, in the same place."""
    found = message_object(sample, m)
    if found is None or _other_reasoning(found[1], key, p):
        return None  # the target field is blank (else the rule would not fire): other keys are not
    parsed = parse_message(m, p)
    if parsed is not None and (parsed.blocks or parsed.stray_closes):
        return None  # reasoning inline too: moving the field would make two blocks

    def move(o: dict[str, Any]) -> dict[str, Any]:
        if target in o:  # an empty target field: fill it, drop the key
            o[target] = o.pop(key)
            return o
        return {(target if k == key else k): v for k, v in o.items()}

    return fix(f"move the reasoning from {key!r} to {target!r}", message_edit(sample, m, move))


def stripped_markers(value: str, p: Profile, markers: list[str]) -> str | None:
    """A reasoning field without the opener at its start and the closer at its end; None when the
    markers are anywhere else (the field then holds more than one block's reasoning)."""
    assert p.open and p.close
    inner = value.strip()
    inner = inner.removeprefix(p.open)
    inner = inner.removesuffix(p.close)
    if inner == value.strip() or any(mk in inner for mk in markers):
        return None
    return inner.strip("\n")


# ---------------------------------------------------------------------------------------------
# text switches (MOD002, MOD003)


def _cut(text: str, start: int, end: int) -> str:
    """`text` without [start, end) and the space that separated it from its neighbours."""
    if not text[end:].strip():
        start = len(text[:start].rstrip())
        end = len(text)
    elif not text[:start].strip():
        start = 0
        end = len(text) - len(text[end:].lstrip())
    elif text[start - 1] == " ":
        start -= 1
    elif text[end:end + 1] == " ":
        end += 1
    return text[:start] + text[end:]


def remove_switch(sample: Sample, hit: SwitchHit) -> Fix | None:
    """Remove the switch that decides a turn's mode from its message (unsafe: it edits the prompt).
    A system message left empty is removed (no system prompt is what it then says); a user
    message left empty is not repaired."""
    m = sample.messages[hit.message]
    text = m.content
    for off in sorted(hit.offsets, reverse=True):
        text = _cut(text, off, off + len(hit.token))
    description = f"remove {hit.token} from {m.role} turn {hit.message + 1}"
    if text.strip():
        return fix(description, content_edit(sample, m, text), safe=False)
    if m.role != "system" or m.span is not None:
        return None
    if len(m.source) == 1:  # a system column: empty means none
        return fix(description, content_edit(sample, m, ""), safe=False)
    if len(m.source) >= 3 and isinstance(m.source[-2], int) and sample.raw is not None:
        path, index = m.source[:-2], m.source[-2]
        messages = value_at(sample.raw, path)
        if isinstance(messages, list):
            new = messages[:index] + messages[index + 1:]
            return fix(f"remove the system message, which holds only {hit.token}", Edit(path, messages, new),
                       safe=False)
    return None
