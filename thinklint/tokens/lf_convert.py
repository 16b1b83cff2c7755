"""LLaMA-Factory's dataset converters (data/converter.py), applied to thinklint's normalised messages.

The converters decide what the template ever sees: only `content` is read (a `reasoning_content`
field is silently dropped), an OpenAI assistant message with `tool_calls` loses its content, and
`formatting: openai` rewrites the system prompt. Rows the converter or the supervised processor
would skip raise `LlamaFactoryReject`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from thinklint.model import Message
from thinklint.tokens.lf_templates import Formatting

#: message fields that carry reasoning in common datasets; no LLaMA-Factory converter reads them
REASONING_FIELDS = ("reasoning_content", "reasoning", "thinking")

_PROMPT_ROLES = ("user", "observation")
_RESPONSE_ROLES = ("assistant", "function")


class LlamaFactoryReject(ValueError):
    """LLaMA-Factory produces no row for this sample.

    `fatal` is True when its preprocessing would raise (the whole run stops), False when it logs
    a warning and skips the row.
    """

    def __init__(self, message: str, *, fatal: bool = False) -> None:
        super().__init__(message)
        self.fatal = fatal


@dataclass(frozen=True)
class LFMessage:
    """A message as LLaMA-Factory's template receives it; `source` indexes the sample's messages."""

    role: str  # user | assistant | observation | function | system (the last one is always rejected)
    content: str
    source: int


@dataclass(frozen=True)
class LFExample:
    system: str
    tools: str
    messages: tuple[LFMessage, ...]


def ignored_reasoning(messages: Sequence[Message]) -> tuple[int, ...]:
    """Assistant messages whose reasoning sits in a field LLaMA-Factory never reads (it trains without it)."""
    return tuple(
        i
        for i, m in enumerate(messages)
        if m.role == "assistant" and any(m.field_text(key) for key in REASONING_FIELDS)
    )


def _tool_calls_content(message: Message) -> str | None:
    calls = message.extra.get("tool_calls")
    if not calls:
        return None
    try:
        functions: list[Any] = [call["function"] for call in calls]
    except (KeyError, TypeError):
        raise LlamaFactoryReject("a tool call without a `function` object", fatal=True) from None
    return json.dumps(functions, ensure_ascii=False)


def convert(messages: Sequence[Message], tools: str | None, formatting: Formatting) -> LFExample:
    """What `formatting`'s converter makes of a normalised sample (openai, sharegpt or alpaca)."""
    openai = formatting.name == "openai"
    system = ""
    body = list(enumerate(messages))
    if body and body[0][1].role == "system":
        system = body[0][1].content
        body = body[1:]

    aligned: list[LFMessage] = []
    pending: list[tuple[int, str]] = []  # OpenAI tool responses waiting for the next message
    for index, message in body:
        role, content = message.role, message.content
        if openai and role == "assistant":
            calls = _tool_calls_content(message)
            if calls is not None:
                role, content = "function", calls
        if role == "tool":
            if openai:
                pending.append((index, content))
                continue
            role = "observation"
        elif pending:
            join = formatting.tool_response_join or "\n"
            aligned.append(LFMessage("observation", join.join(c for _, c in pending), pending[0][0]))
            pending = []
        aligned.append(LFMessage(role, content, index))
    # the OpenAI converter only flushes tool responses when another message follows: trailing ones vanish

    for position, lf_message in enumerate(aligned):
        allowed = _PROMPT_ROLES if position % 2 == 0 else _RESPONSE_ROLES
        if lf_message.role not in allowed:
            raise LlamaFactoryReject(
                f"message {lf_message.source} ({lf_message.role}) breaks the "
                "user/observation - assistant/function alternation; LLaMA-Factory skips the row"
            )
    if len(aligned) < 2 or len(aligned) % 2:
        raise LlamaFactoryReject("no complete prompt/response pair at the end; LLaMA-Factory skips the row")

    tool_text = tools or ""
    if openai and formatting.thinking_off_prompt:
        system = _openai_system(system, tool_text, formatting)
    return LFExample(system, tool_text, tuple(aligned))


def _openai_system(system: str, tools: str, formatting: Formatting) -> str:
    off = formatting.thinking_off_prompt or ""
    if not system:
        return system if tools else off
    if tools:
        return system + "\n"
    if any(switch in system for switch in formatting.thinking_switches):
        return system
    return system + "\n" + off
