"""Where the reasoning of an assistant turn is, by the profile's markers: parsed once, read by many rules.

A turn is read the way its family's serving template reads it, which is what a dataset in that
family's conventions must satisfy. Two family facts change what the data looks like:

- `final_prefill` (Nemotron Nano v2): the template writes the mode's prefill (``<think>\\n``) before
  the last assistant turn itself, so that turn's data starts inside the block; the parse of such a
  turn is the parse of prefill + content, with `lead` marking what the template added.
- an empty block that is a lone closer (GLM-4.7 and DeepSeek-V3.1 write ``</think>ANSWER``): a
  closer at the very start of a turn is that empty block, not a stray closer.

Harmony channels (gpt-oss) are not inline markup: such a family's reasoning is in a field only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any, Callable, TypeVar

from thinklint.model import Message, Sample
from thinklint.profiles import Profile

_T = TypeVar("_T")


@dataclass(frozen=True)
class Block:
    start: int  # offset of the opener (of the closer, for a lone-closer empty block)
    end: int  # offset just past the closer (or len(text) when unclosed)
    inner_start: int
    inner_end: int
    closed: bool

    def inner(self, text: str) -> str:
        return text[self.inner_start:self.inner_end]


@dataclass(frozen=True)
class ThinkParse:
    """Blocks found in `text`; offsets are into `text`, whose first `lead` characters are written
    by the template rather than by the data (0 except for a final_prefill family's last turn)."""

    text: str
    blocks: tuple[Block, ...]
    stray_closes: tuple[int, ...]  # closers with no opener before them
    nested_opens: tuple[int, ...]  # openers inside an open block
    lead: int = 0

    @property
    def unclosed(self) -> Block | None:
        return next((b for b in self.blocks if not b.closed), None)

    def preamble(self, content: str | None = None) -> str:
        """Text before the first block (`content` is accepted for older callers and ignored)."""
        return self.text[self.lead: self.blocks[0].start] if self.blocks else ""

    def answer(self, content: str | None = None) -> str:
        return self.text[self.blocks[-1].end:] if self.blocks else self.text[self.lead:]

    def reasoning(self, content: str | None = None) -> str:
        """The blocks' text, and the text before a closer that has no opener: templates that parse
        inline blocks read it as reasoning (Qwen3 splits at '</think>'), and its author meant it so."""
        parts = [b.inner(self.text) for b in self.blocks]
        if self.stray_closes:
            stray = self.stray_closes[0]
            start = max((b.end for b in self.blocks if b.end <= stray), default=self.lead)
            parts.append(self.text[start:stray])
        return "".join(parts)


@lru_cache(maxsize=256)
def parse(content: str, open_: str, close: str, lone_empty: bool = False) -> ThinkParse:
    """Blocks of `content`; with `lone_empty`, a closer before any other text is an empty block."""
    blocks: list[Block] = []
    strays: list[int] = []
    nested: list[int] = []
    pos = 0
    if lone_empty:
        first = len(content) - len(content.lstrip())
        if content.startswith(close, first):
            blocks.append(Block(first, first + len(close), first, first, True))
            pos = first + len(close)
    # the next opener and closer at or after `pos`, found again only once `pos` has passed them: a
    # text of 30,000 stray closers searched the whole rest of it for an opener at each one
    o = c = -2
    while True:
        if -1 < o < pos or o == -2:
            o = content.find(open_, pos) if open_ else -1
        if -1 < c < pos or c == -2:
            c = content.find(close, pos) if close else -1
        if o < 0 and c < 0:
            break
        if c >= 0 and (o < 0 or c < o):
            strays.append(c)
            pos = c + len(close)
            continue
        inner_start = o + len(open_)
        if c < inner_start:  # else `c` is already the first closer after the opener
            c = content.find(close, inner_start)
        # openers that start before the closer (the search stops there: the reasoning, not the
        # rest of the text, is scanned for them)
        limit = c + len(open_) - 1 if c >= 0 else len(content)
        o2 = content.find(open_, inner_start, limit)
        while o2 >= 0:
            nested.append(o2)
            o2 = content.find(open_, o2 + len(open_), limit)
        if c < 0:
            blocks.append(Block(o, len(content), inner_start, len(content), False))
            break
        blocks.append(Block(o, c + len(close), inner_start, c, True))
        pos = c + len(close)
    return ThinkParse(content, tuple(blocks), tuple(strays), tuple(nested))


def lone_close_empty(profile: Profile) -> bool:
    """The family's empty block is its closer alone (GLM-4.7 and DeepSeek-V3.1: '</think>')."""
    empty = profile.empty_block
    return bool(empty and profile.close and empty.strip() == profile.close)


def parse_message(message: Message, profile: Profile) -> ThinkParse | None:
    """The parse of a message's content as written; None when the family has no inline markers."""
    if not profile.inline_markers:
        return None
    return parse(message.content, profile.open or "", profile.close or "", lone_close_empty(profile))


def prefill_lead(sample: Sample, turn: int, profile: Profile) -> str:
    """What a final_prefill template writes before turn `turn` (1-based) itself: the prefill of the
    turn's mode when it is the last message, the sample is not pre-rendered text, and the data does
    not write the opener again (THK011 reports that)."""
    if not profile.final_prefill or sample.format == "text" or turn != len(sample.messages):
        return ""
    m = sample.messages[turn - 1]
    if m.role != "assistant" or (profile.open and m.content.lstrip().startswith(profile.open)):
        return ""
    mode = profile.mode(turn_mode(sample, turn, profile))
    return mode.prefill if mode else ""


def memoised(sample: Sample, key: tuple[Any, ...], owner: object, compute: Callable[..., _T], *args: Any) -> _T:
    """`compute(*args)`, kept in `sample.memo` under `key` for this very `owner` (the profile or
    context it was computed for: a rule may judge a sample under another, and gets its own)."""
    entry = sample.memo.get(key)
    if entry is not None and entry[0] is owner:
        return entry[1]  # type: ignore[no-any-return]
    value = compute(*args)
    sample.memo[key] = (owner, value)
    return value


def turn_parse(sample: Sample, turn: int, profile: Profile) -> ThinkParse | None:
    """The parse of assistant turn `turn` as the family's template reads it (see the module doc)."""
    return memoised(sample, ("parse", turn), profile, _turn_parse, sample, turn, profile)


def _turn_parse(sample: Sample, turn: int, profile: Profile) -> ThinkParse | None:
    m = sample.messages[turn - 1]
    lead = prefill_lead(sample, turn, profile)
    if not lead:
        return parse_message(m, profile)
    # the template renders prefill + content.strip(): parse exactly that
    parsed = parse(lead + m.content.strip(), profile.open or "", profile.close or "")
    return replace(parsed, lead=len(lead))


@dataclass(frozen=True)
class Reasoning:
    """The reasoning of one assistant turn as the profile's template would find it."""

    field: str | None  # the reasoning field that holds it, if any
    field_text: str | None
    inline: str | None  # the inline block's reasoning, if any
    ignored: str | None = None  # a field the template ignores that holds reasoning (THK009)

    @property
    def text(self) -> str:
        return (self.field_text if self.field_text is not None else self.inline) or ""

    @property
    def present(self) -> bool:
        text = self.text  # "has a non-space character", without strip()'s copy of the whole reasoning
        return bool(text) and not text.isspace()

    @property
    def has_block(self) -> bool:
        """An explicit (possibly empty) block or field is there."""
        return self.field_text is not None or self.inline is not None


def reasoning_of(message: Message, profile: Profile, parsed: ThinkParse | None = None) -> Reasoning:
    """`parsed` is the turn's parse when the caller has it (turn_parse); else the content's own."""
    field = next((f for f in profile.reasoning_fields if isinstance(message.extra.get(f), str)), None)
    inline = None
    if parsed is None:
        parsed = parse_message(message, profile)
    if parsed and (parsed.blocks or parsed.stray_closes):
        inline = parsed.reasoning()
    ignored = next((f for f in profile.ignored_fields
                    if isinstance(message.extra.get(f), str) and message.extra[f].strip()), None)
    return Reasoning(field, message.extra.get(field) if field else None, inline, ignored)


def turn_reasoning(sample: Sample, turn: int, profile: Profile) -> Reasoning:
    return memoised(sample, ("reasoning", turn), profile, _turn_reasoning, sample, turn, profile)


def _turn_reasoning(sample: Sample, turn: int, profile: Profile) -> Reasoning:
    return reasoning_of(sample.messages[turn - 1], profile, turn_parse(sample, turn, profile))


def assistant_turns(sample: Sample) -> tuple[tuple[int, Message], ...]:
    """(1-based turn number, message) for every assistant message."""
    turns = sample.memo.get("assistant_turns")
    if turns is None:
        turns = sample.memo["assistant_turns"] = tuple(
            (i + 1, m) for i, m in enumerate(sample.messages) if m.role == "assistant")
    return turns


def last_assistant(sample: Sample) -> tuple[int, Message] | None:
    turns = assistant_turns(sample)
    return turns[-1] if turns else None


def is_thinking(sample: Sample, profile: Profile) -> bool | None:
    """Whether the trained (last) assistant turn carries reasoning; None when there is none to judge."""
    last = last_assistant(sample)
    if last is None:
        return None
    return turn_reasoning(sample, last[0], profile).present


# ---------------------------------------------------------------------------------------------
# text switches (/think, /no_think, /nothink)

@lru_cache(maxsize=64)
def switch_regex(switch: str, suffix: bool = False) -> re.Pattern[str]:
    # a soft switch is a word of its own: "/no_think" must not match "/no_thinking" or "a/no_think";
    # a switch the template appends itself (GLM-4.5 '/nothink') also counts glued to the end
    word = rf"(?<![\w/]){re.escape(switch)}(?![\w])"
    return re.compile(word + (rf"|{re.escape(switch)}\s*\Z" if suffix else ""))


def switch_kind(profile: Profile, token: str) -> str:
    """How the family reads a text switch: system_text (the template reads it in the system message
    only: SmolLM3), user_text (in any system or user message: Nemotron v2), or soft (a habit the
    model learned, not read by the template: Qwen3, GLM-4.5)."""
    for sw in profile.switches:
        if sw.name == token and sw.kind in ("system_text", "user_text"):
            return sw.kind
    return "soft"


def _tokens(profile: Profile) -> list[tuple[str, str]]:
    """(mode, token) pairs; the non-thinking token first, as templates check it first."""
    out = []
    for mode in ("non_thinking", "thinking"):
        token = profile.text_switches.get(mode)
        if isinstance(token, str) and token:
            out.append((mode, token))
    return out


def _hits(profile: Profile, token: str, text: str) -> list[int]:
    if profile.text_switches.get("parsed_by_template"):
        return list(_switch_hits(token, text, True, False))
    suffix = any(m is not None and m.user_suffix == token for m in (profile.thinking, profile.non_thinking))
    return list(_switch_hits(token, text, False, suffix))


@lru_cache(maxsize=1024)
def _switch_hits(token: str, text: str, substring: bool, suffix: bool) -> tuple[int, ...]:
    """Where `token` occurs in `text` (memoised: several rules ask about the same message)."""
    if token not in text:  # every match contains the token: a C substring search rules most texts out
        return ()
    if substring:  # the template tests `token in content`: a substring, as it does
        return tuple(m.start() for m in re.finditer(re.escape(token), text))
    return tuple(m.start() for m in switch_regex(token, suffix).finditer(text))


@dataclass(frozen=True)
class SwitchHit:
    """The text switch in force for a turn and where it is written: `message` is the 0-based index
    of the message that decides, `offsets` where `token` occurs in that message's content."""

    mode: str
    message: int
    token: str
    offsets: tuple[int, ...]


def switch_in_force(sample: Sample, profile: Profile, before: int) -> SwitchHit | None:
    """The text switch in force for turn `before` (1-based), read the way the family reads it;
    None when no switch applies."""
    return memoised(sample, ("switch", before), profile, _switch_in_force, sample, profile, before)


def _switch_in_force(sample: Sample, profile: Profile, before: int) -> SwitchHit | None:
    best: tuple[int, int, SwitchHit] | None = None
    for kind, hit in _switch_hits_in(sample, profile):
        if hit.message >= before - 1:
            continue  # only messages before the turn decide its mode
        if kind == "system_text":
            return hit  # the system flag decides, the non-thinking one first (SmolLM3)
        # user_text: the last message with a flag wins, its thinking flag first (Nemotron v2);
        # soft: the latest occurrence wins
        idx = hit.message
        rank = (idx, -1 if hit.mode == "thinking" else -2) if kind == "user_text" else (idx, hit.offsets[-1])
        if best is None or rank > best[:2]:
            best = (*rank, hit)
    return best[2] if best else None


def _switch_hits_in(sample: Sample, profile: Profile) -> list[tuple[str, SwitchHit]]:
    """(kind, hit) for every message a switch is read from and written in, by mode (non-thinking
    first) then message: found once per sample, as every assistant turn asks about its prefix."""
    return memoised(sample, ("switch_hits",), profile, _find_switch_hits, sample, profile)


def _find_switch_hits(sample: Sample, profile: Profile) -> list[tuple[str, SwitchHit]]:
    found: list[tuple[str, SwitchHit]] = []
    for mode, token in _tokens(profile):
        kind = switch_kind(profile, token)
        roles = ("system",) if kind == "system_text" else ("system", "user")
        for idx, m in enumerate(sample.messages):
            if m.role in roles and token in m.content:  # every hit contains the token: C rules most out
                hits = _hits(profile, token, m.content)
                if hits:
                    found.append((kind, SwitchHit(mode, idx, token, tuple(hits))))
    return found


def active_switch(sample: Sample, profile: Profile, before: int) -> str | None:
    """'thinking' or 'non_thinking': the text switch in force for turn `before` (1-based), read the
    way the family reads it; None when no switch applies."""
    hit = switch_in_force(sample, profile, before)
    return hit.mode if hit else None


def unread_switches(sample: Sample, profile: Profile) -> list[tuple[int, str]]:
    """(turn, token) for switches in messages the family does not read them from (a SmolLM3
    '/no_think' in a user message)."""
    out = []
    for _, token in _tokens(profile):
        if switch_kind(profile, token) != "system_text":
            continue
        for turn, m in enumerate(sample.messages, 1):
            if m.role == "user" and switch_regex(token).search(m.content):
                out.append((turn, token))
    return sorted(out)


def turn_mode(sample: Sample, turn: int, profile: Profile) -> str:
    """The mode turn `turn` is served in as far as the data shows: its switch, else the default."""
    return active_switch(sample, profile, turn) or profile.default_mode


def empty_block_turns(sample: Sample, empty_on: str) -> list[int]:
    """The assistant turns the template writes an empty block for when they have no reasoning."""
    turns = [t for t, _ in assistant_turns(sample)]
    if empty_on == "last_turn":
        return turns[-1:]
    if empty_on == "after_last_query":
        last_user = max((i + 1 for i, m in enumerate(sample.messages) if m.role == "user"), default=0)
        return [t for t in turns if t > last_user]
    return turns if empty_on == "every_turn" else []
