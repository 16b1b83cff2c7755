"""Split a `format: text` sample into turns by the profile's turn format.

The turn format comes from the profile (`turns`): a head and a tail around `{content}` for each role,
an optional `prefix` before the first turn, and `assistant_end_final` for the last assistant turn when
it closes differently (gpt-oss `<|return|>`, Olmo-3 eos, Apriel nothing). `{bos_token}`/`{eos_token}`
are the tokenizer's strings when the spec's tokenizer files say them, else any one special token.
A family without an end-of-turn after its turns (GLM: tail "") ends a turn where the next one starts.
A profile without `prefix` has a prefix that varies (dates, default system prompts), and a profile
without a system turn writes the system prompt after its prefix without a head (Apriel, DeepSeek):
either way whatever comes before the first turn is skipped. Harmony (gpt-oss) turns are regrouped:
an analysis message and the final message after it are one assistant turn, its reasoning under
`thinking`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Mapping

from thinklint.model import Message
from thinklint.profiles import Profile

_PLACEHOLDER = re.compile(r"\{(bos_token|eos_token)\}")
#: what a special token whose string is unknown may look like: <s>, </s>, <|endoftext|>, <｜end▁of▁sentence｜>
_ANY_SPECIAL = r"(?:<[^<>\s]{1,64}>)?"


def _rx(form: str, special: Mapping[str, str]) -> str:
    out, pos = [], 0
    for m in _PLACEHOLDER.finditer(form):
        out.append(re.escape(form[pos:m.start()]))
        value = special.get(m.group(1))
        out.append(re.escape(value) if value is not None else _ANY_SPECIAL)
        pos = m.end()
    return "".join(out) + re.escape(form[pos:])


def _shown(form: str, special: Mapping[str, str]) -> str:
    return _PLACEHOLDER.sub(lambda m: special.get(m.group(1), m.group(0)), form)


@dataclass(frozen=True)
class _Form:
    role: str
    head: re.Pattern[str]
    tails: tuple[re.Pattern[str], ...]  # any of them closes the turn; empty: it runs to the next turn
    shown_tail: str  # what may close it, quoted, for messages
    final_tail: re.Pattern[str] | None = None  # assistant_end_final, anchored at the end of the text


@dataclass(frozen=True)
class _Grammar:
    prefix: re.Pattern[str] | None
    forms: tuple[_Form, ...]
    any_head: re.Pattern[str]
    stops: re.Pattern[str] | None  # end-of-turn tokens that close a tail-less turn
    system_head: bool  # the system prompt is a turn of its own, with a head


#: a harmony tool result names its function in the header: `<|start|>functions.NAME to=assistant...`
_HARMONY_TOOL = r"<\|start\|>functions\.[^\s<]+ to=assistant<\|channel\|>commentary<\|message\|>"


@lru_cache(maxsize=64)
def _grammar(name: str, source: str, turns: tuple[tuple[str, str], ...], end_of_turn: tuple[str, ...],
             special: tuple[tuple[str, str], ...], style: str) -> _Grammar:
    t, sp = dict(turns), dict(special)
    forms: list[tuple[int, _Form]] = []
    heads: list[str] = []
    for role in ("system", "user", "tool", "assistant"):
        if role == "assistant":
            head, tail = t["assistant_header"], t["assistant_end"]
        elif "{content}" in t.get(role, ""):
            head, tail = t[role].split("{content}", 1)
        else:
            continue
        if not head:
            continue
        heads.append(_rx(head, sp))
        tails = [tail] if tail else []
        if tail.rstrip() != tail and tail.rstrip():
            tails.append(tail.rstrip() + "\0")  # the last turn may lose its trailing newline
        final = None
        if role == "assistant" and tails:
            # other end-of-turn tokens close it too (gpt-oss '<|call|>' after a tool call)
            tails += [tok for tok in end_of_turn
                      if tok not in tails and not any(tok in h for h in t.values())]
            end_final = t.get("assistant_end_final")
            if end_final is not None and end_final != tail:
                final = re.compile(f"(?:{_rx(end_final, sp)})\\Z")
        compiled = tuple(re.compile(_rx(x[:-1], sp) + r"\Z") if x.endswith("\0") else re.compile(_rx(x, sp))
                         for x in tails)
        closers = (tail, t.get("assistant_end_final") if role == "assistant" else None)
        ends = [repr(_shown(x, sp)) for x in closers if x]
        forms.append((len(_shown(head, sp)), _Form(role, re.compile(_rx(head, sp)), compiled,
                                                   " or ".join(dict.fromkeys(ends)), final)))
    if style == "channels":
        heads.append(_HARMONY_TOOL)
        forms.append((len("<|start|>functions."), _Form("tool", re.compile(_HARMONY_TOOL),
                                                         (re.compile(re.escape("<|end|>")),), "'<|end|>'")))
    # the longest head first: Qwen's tool turn starts like its user turn
    ordered = tuple(f for _, f in sorted(forms, key=lambda x: -x[0]))
    stop_tokens = [tok for tok in end_of_turn if not any(tok in h for h in t.values() if h)]
    return _Grammar(
        prefix=re.compile(_rx(t["prefix"], sp)) if "prefix" in t else None,
        forms=ordered, any_head=re.compile("|".join(f"(?:{h})" for h in heads)),
        stops=re.compile("|".join(re.escape(tok) for tok in stop_tokens)) if stop_tokens else None,
        system_head=any(f.role == "system" for f in ordered),
    )


def _end(g: _Grammar, form: _Form, text: str, start: int) -> tuple[int, int] | None:
    """(end of content, end of turn) for a turn whose content starts at `start`."""
    if not form.tails:
        # GLM writes no end-of-turn: the turn runs to the next turn, a stop token or the end
        ends = [(len(text), len(text))]
        nxt = g.any_head.search(text, start)
        if nxt:
            ends.append((nxt.start(), nxt.start()))
        stop = g.stops.search(text, start) if g.stops else None
        if stop:
            ends.append((stop.start(), stop.end()))
        return min(ends)
    found: list[tuple[int, int]] = []
    for rx in form.tails:
        for m in rx.finditer(text, start):
            # a tail of whitespace alone (Apriel's '\n' after a user turn) counts only where the next
            # turn or the text's end follows it, since content holds newlines; a token ends the turn
            if m.group(0).strip() or m.end() == len(text) or g.any_head.match(text, m.end()):
                found.append((m.start(), -m.end()))
                break
    final = form.final_tail.search(text, start) if form.final_tail is not None else None
    if final:
        found.append((final.start(), -final.end()))
    if not found:  # no tail is followed by a turn: take the first one, the next turn will not parse
        first = next((hit for rx in form.tails for hit in [rx.search(text, start)] if hit), None)
        return (first.start(), first.end()) if first else None
    s, neg_e = min(found)
    return s, -neg_e


def parse_text(text: str, profile: Profile, special: Mapping[str, str] | None = None
               ) -> tuple[tuple[Message, ...], str | None]:
    """The turns of `text`, and None, or the turns read so far and what stopped the parse."""
    sp = dict(special or {})
    g = _grammar(profile.name, profile.source, tuple(sorted(profile.turns.items())), profile.end_of_turn,
                 tuple(sorted(sp.items())), profile.style)
    pos = 0
    if g.prefix is not None:
        m = g.prefix.match(text)
        pos = m.end() if m else 0
    if (g.prefix is None or not g.system_head) and not g.any_head.match(text, pos):
        # a prefix that varies (default system prompt, date), or a system prompt the template writes
        # without a turn of its own (Apriel after its fixed prefix, DeepSeek raw after BOS)
        first = g.any_head.search(text, pos)
        pos = first.start() if first else pos
    messages: list[Message] = []
    while pos < len(text):
        for form in g.forms:
            head = form.head.match(text, pos)
            if not head or head.end() == pos:
                continue
            end = _end(g, form, text, head.end())
            if end is None:
                turn = len(messages) + 1
                return tuple(messages), f"{form.role} turn {turn} is not closed by {form.shown_tail}"
            messages.append(Message(form.role, text[head.end():end[0]], {}, ("text",), (head.end(), end[0])))
            pos = end[1]
            break
        else:
            return tuple(messages), (f"text at offset {pos} is not a turn of the {profile.name} format: "
                                     f"{text[pos:pos + 40]!r}")
    if not messages:
        return (), f"no turn of the {profile.name} format found"
    return (_harmony(messages, profile) if profile.style == "channels" else tuple(messages)), None


def _harmony(messages: list[Message], profile: Profile) -> tuple[Message, ...]:
    """An analysis message followed by its final message are one assistant turn with `thinking`."""
    analysis, final = profile.open or "\0", profile.answer_open or "\0"
    field = profile.reasoning_fields[0] if profile.reasoning_fields else "thinking"
    out: list[Message] = []
    pending: str | None = None
    for m in messages:
        if m.role == "assistant" and m.content.startswith(analysis):
            if pending is not None:
                out.append(Message("assistant", "", {field: pending}, ("text",)))
            pending = m.content[len(analysis):]
            continue
        extra = {field: pending} if pending is not None and m.role == "assistant" else {}
        if pending is not None and m.role != "assistant":
            out.append(Message("assistant", "", {field: pending}, ("text",)))
        pending = None
        content = m.content
        if m.role == "assistant" and content.startswith(final):
            content = content[len(final):]
        out.append(Message(m.role, content, extra, m.source))
    if pending is not None:
        out.append(Message("assistant", "", {field: pending}, ("text",)))
    return tuple(out)
