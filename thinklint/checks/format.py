"""format (FMT): the record does not fit its declared format, or there is nothing to train."""

from __future__ import annotations

from typing import Any, Iterator, Mapping

from thinklint.context import Check, Context
from thinklint.model import Sample, Violation
from thinklint.think import turn_reasoning


def problem_check(*kinds: str) -> Check:
    """Report the normaliser's problems of these kinds (the reader already found them)."""

    def run(sample: Sample, ctx: Context, opts: Mapping[str, Any]) -> Iterator[Violation]:
        for p in sample.problems:
            if p.kind in kinds:
                yield Violation(p.message, p.turn)

    return Check(sample=run, structural=True)


def _merged_roles(sample: Sample) -> list[tuple[int, str]]:
    """(turn, role) with consecutive tool results merged, as LLaMA-Factory's converters do."""
    out: list[tuple[int, str]] = []
    for i, m in enumerate(sample.messages, 1):
        if m.role == "tool" and out and out[-1][1] == "tool":
            continue
        out.append((i, m.role))
    return out


def role_order(sample: Sample, ctx: Context, opts: Mapping[str, Any]) -> Iterator[Violation]:
    if not sample.messages:
        return
    for turn, m in enumerate(sample.messages[1:], 2):
        if m.role == "system":
            yield Violation(f"system message at turn {turn}: a system prompt must come first", turn)
            return
    if ctx.spec.training.framework != "llamafactory":
        return
    roles = [(t, r) for t, r in _merged_roles(sample) if r != "system"]
    for k, (turn, role) in enumerate(roles):
        expected = ("user", "tool") if k % 2 == 0 else ("assistant",)
        if role not in expected:
            yield Violation(f"{role} at turn {turn} where LLaMA-Factory expects "
                            f"{' or '.join(expected)}: it skips the whole sample", turn)
            return
    if len(roles) % 2:
        turn = roles[-1][0]
        yield Violation(f"the conversation ends with a {roles[-1][1]} turn (turn {turn}): "
                        "LLaMA-Factory skips a sample without a final assistant response", turn)


def no_assistant(sample: Sample, ctx: Context, opts: Mapping[str, Any]) -> Iterator[Violation]:
    if sample.text is not None or sample.input_ids is not None:
        return
    if not any(m.role == "assistant" for m in sample.messages):
        yield Violation("no assistant turn: the sample has nothing to train")


def empty_assistant(sample: Sample, ctx: Context, opts: Mapping[str, Any]) -> Iterator[Violation]:
    profile = ctx.profile
    for turn, m in enumerate(sample.messages, 1):
        if m.role != "assistant" or m.extra.get("tool_calls") or m.extra.get("function_call"):
            continue
        answer = m.content
        # the answer follows the last closer; a harmony family's content is the answer itself
        if profile.inline_markers and profile.close:
            end = answer.rfind(profile.close)
            if end >= 0:
                answer = answer[end + len(profile.close):]  # (rsplit copied the reasoning too)
        if answer and not answer.isspace():
            continue
        if turn_reasoning(sample, turn, profile).present:
            yield Violation(f"assistant turn {turn} has reasoning but no answer", turn)
        else:
            yield Violation(f"assistant turn {turn} is empty", turn)
