"""Where the reasoning of an assistant turn is, by the profile's markers: parsed once, read by many rules."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from thinklint.model import Message, Sample
from thinklint.profiles import Profile


@dataclass(frozen=True)
class Block:
    start: int  # offset of the opener
    end: int  # offset just past the closer (or len(content) when unclosed)
    inner_start: int
    inner_end: int
    closed: bool

    def inner(self, content: str) -> str:
        return content[self.inner_start:self.inner_end]


@dataclass(frozen=True)
class ThinkParse:
    blocks: tuple[Block, ...]
    stray_closes: tuple[int, ...]  # closers with no opener before them
    nested_opens: tuple[int, ...]  # openers inside an open block

    @property
    def unclosed(self) -> Block | None:
        return next((b for b in self.blocks if not b.closed), None)

    def preamble(self, content: str) -> str:
        """Text before the first block."""
        return content[: self.blocks[0].start] if self.blocks else ""

    def answer(self, content: str) -> str:
        return content[self.blocks[-1].end:] if self.blocks else content

    def reasoning(self, content: str) -> str:
        return "".join(b.inner(content) for b in self.blocks)


@lru_cache(maxsize=4096)
def parse(content: str, open_: str, close: str) -> ThinkParse:
    blocks: list[Block] = []
    strays: list[int] = []
    nested: list[int] = []
    pos = 0
    while True:
        o = content.find(open_, pos)
        c = content.find(close, pos)
        if o < 0 and c < 0:
            break
        if c >= 0 and (o < 0 or c < o):
            strays.append(c)
            pos = c + len(close)
            continue
        inner_start = o + len(open_)
        c = content.find(close, inner_start)
        o2 = content.find(open_, inner_start)
        while 0 <= o2 and (c < 0 or o2 < c):
            nested.append(o2)
            o2 = content.find(open_, o2 + len(open_))
        if c < 0:
            blocks.append(Block(o, len(content), inner_start, len(content), False))
            break
        blocks.append(Block(o, c + len(close), inner_start, c, True))
        pos = c + len(close)
    return ThinkParse(tuple(blocks), tuple(strays), tuple(nested))


def parse_message(message: Message, profile: Profile) -> ThinkParse | None:
    if not profile.has_markers:
        return None
    return parse(message.content, profile.open or "", profile.close or "")


@dataclass(frozen=True)
class Reasoning:
    """The reasoning of one assistant turn as the profile's template would find it."""

    field: str | None  # the reasoning field that holds it, if any
    field_text: str | None
    inline: str | None  # the inline block's reasoning, if any

    @property
    def text(self) -> str:
        return (self.field_text if self.field_text is not None else self.inline) or ""

    @property
    def present(self) -> bool:
        return bool(self.text.strip())

    @property
    def has_block(self) -> bool:
        """An explicit (possibly empty) block or field is there."""
        return self.field_text is not None or self.inline is not None


def reasoning_of(message: Message, profile: Profile) -> Reasoning:
    field = next((f for f in profile.reasoning_fields if isinstance(message.extra.get(f), str)), None)
    inline = None
    parsed = parse_message(message, profile)
    if parsed and parsed.blocks:
        inline = parsed.reasoning(message.content)
    return Reasoning(field, message.extra.get(field) if field else None, inline)


def assistant_turns(sample: Sample) -> list[tuple[int, Message]]:
    """(1-based turn number, message) for every assistant message."""
    return [(i + 1, m) for i, m in enumerate(sample.messages) if m.role == "assistant"]


def last_assistant(sample: Sample) -> tuple[int, Message] | None:
    turns = assistant_turns(sample)
    return turns[-1] if turns else None


def is_thinking(sample: Sample, profile: Profile) -> bool | None:
    """Whether the trained (last) assistant turn carries reasoning; None when there is none to judge."""
    last = last_assistant(sample)
    if last is None:
        return None
    return reasoning_of(last[1], profile).present


def last_user_text(sample: Sample, before: int | None = None) -> str | None:
    """The text of the last user or system message before turn `before` (1-based)."""
    msgs = sample.messages[: (before - 1) if before else None]
    for m in reversed(msgs):
        if m.role in ("user", "system"):
            return m.content
    return None


@lru_cache(maxsize=64)
def switch_regex(switch: str) -> re.Pattern[str]:
    # a switch is a word of its own: "/no_think" must not match "/no_thinking" or "a/no_think"
    return re.compile(rf"(?<![\w/]){re.escape(switch)}(?![\w])")


def active_switch(sample: Sample, profile: Profile, before: int) -> str | None:
    """'thinking' or 'non_thinking': the latest soft switch in user/system text before turn `before`."""
    best: tuple[int, int, str] | None = None
    for idx, m in enumerate(sample.messages[: before - 1]):
        if m.role not in ("user", "system"):
            continue
        for mode in ("thinking", "non_thinking"):
            token = profile.text_switches.get(mode)
            if not isinstance(token, str):
                continue
            for hit in switch_regex(token).finditer(m.content):
                if best is None or (idx, hit.start()) > best[:2]:
                    best = (idx, hit.start(), mode)
    return best[2] if best else None
