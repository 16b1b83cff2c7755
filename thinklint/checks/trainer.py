"""mode (MOD), trainer side: what LLaMA-Factory's converters do to reasoning before any template sees it."""

from __future__ import annotations

from typing import Any, Iterator, Mapping

from thinklint.checks import repairs
from thinklint.context import Context
from thinklint.model import Sample, Violation
from thinklint.think import assistant_turns, is_thinking

#: fields datasets keep reasoning in; no LLaMA-Factory converter reads any of them (0.9.5)
REASONING_FIELDS = ("reasoning_content", "reasoning", "thinking")
#: what LLaMA-Factory's OpenAI converter writes into tool-less system prompts (0.9.4+)
THINKING_OFF = "detailed thinking off"
THINKING_SWITCHES = ("detailed thinking on", "detailed thinking off")


def reasoning_field_ignored(sample: Sample, ctx: Context, opts: Mapping[str, Any]) -> Iterator[Violation]:
    if ctx.spec.training.framework != "llamafactory":
        return
    for turn, m in assistant_turns(sample):
        field = next((k for k in REASONING_FIELDS if isinstance(m.extra.get(k), str) and m.extra[k].strip()), None)
        if field is None:
            continue
        instead = ("an empty think block is trained in its place" if ctx.spec.training.enable_thinking
                   else "the turn is trained without it")
        # safe: the reasoning moves to the one place LLaMA-Factory reads, in the form it strips and masks
        repair = repairs.inline_fix(sample, m, field, ctx.profile, "LLaMA-Factory reads only the content")
        yield Violation(f"assistant turn {turn}: LLaMA-Factory reads only 'content', so the reasoning in {field!r} "
                        f"is dropped and {instead}; write it inline as <think>…</think>", turn, repair)


def openai_thinking_off(sample: Sample, ctx: Context, opts: Mapping[str, Any]) -> Iterator[Violation]:
    if ctx.spec.training.framework != "llamafactory" or ctx.dataset.formatting != "openai" or sample.tools:
        return
    system = next((m.content for m in sample.messages[:1] if m.role == "system"), "")
    if any(s in system for s in THINKING_SWITCHES):
        return
    what = "becomes" if not system else "gets a line"
    if is_thinking(sample, ctx.profile):
        yield Violation(f"LLaMA-Factory's openai formatting writes {THINKING_OFF!r} into this tool-less sample's "
                        f"system prompt (it {what} {THINKING_OFF!r}), yet the sample reasons: the model learns to "
                        "think when told not to")
    else:
        yield Violation(f"LLaMA-Factory's openai formatting writes {THINKING_OFF!r} into this tool-less sample's "
                        f"system prompt; serving will not send it, so training and serving prompts differ")
