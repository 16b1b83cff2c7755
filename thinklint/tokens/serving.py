"""The serving side: the chat template, rendered as inference would render it, per mode.

Messages go to the template as the data has them (reasoning fields included); the mode is
selected with the profile's switches (`enable_thinking`, `thinking`...), and, with
`inference.enable_thinking: auto`, per turn: thinking when the turn has reasoning.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from thinklint.jinja import ChatTemplate
from thinklint.model import Message, Sample
from thinklint.profiles import Profile
from thinklint.spec import InferenceSpec

#: keys the normalisers add for their own bookkeeping; a template must not see them
_INTERNAL_KEYS = frozenset({"function_call"})


def template_message(m: Message) -> dict[str, Any]:
    out: dict[str, Any] = {"role": m.role, "content": m.content}
    out.update({k: v for k, v in m.extra.items() if k not in _INTERNAL_KEYS})
    return out


def template_messages(messages: Sequence[Message]) -> list[dict[str, Any]]:
    return [template_message(m) for m in messages]


def tools_of(sample: Sample) -> list[Any] | None:
    return sample.tool_list()


@dataclass(frozen=True)
class Serving:
    template: ChatTemplate
    profile: Profile
    inference: InferenceSpec
    special_tokens: Mapping[str, str] = field(default_factory=dict)

    def mode_kwargs(self, thinking: bool) -> dict[str, Any]:
        """Template kwargs that select the mode (the family's default when it cannot serve this one)."""
        p = self.profile
        mode = p.mode("thinking" if thinking else "non_thinking") or p.mode(p.default_mode)
        kwargs = dict(mode.kwargs) if mode else {}
        if self.inference.preserve_thinking:
            for switch in p.switches:
                for override in switch.overrides:
                    if override.history == "keep":
                        kwargs[switch.name] = override.value
        return kwargs

    def thinking_for(self, has_reasoning: bool) -> bool:
        setting = self.inference.enable_thinking
        return has_reasoning if setting == "auto" else bool(setting)

    def render(self, messages: Sequence[Message], tools: list[Any] | None, *, generation_prompt: bool,
               thinking: bool | None, extra_kwargs: Mapping[str, Any] | None = None) -> str:
        kwargs = {**self.special_tokens, **(extra_kwargs or {})}
        if thinking is not None:
            kwargs.update(self.mode_kwargs(thinking))
        return self.template.render(template_messages(messages), add_generation_prompt=generation_prompt,
                                    tools=tools, **kwargs)

    def prompt(self, sample: Sample, upto: int, thinking: bool) -> str:
        """The prompt inference builds to generate message `upto` (0-based): the history before it."""
        return self.render(sample.messages[:upto], tools_of(sample), generation_prompt=True, thinking=thinking)
