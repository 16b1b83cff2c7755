"""mode (MOD), the training render: what LLaMA-Factory's template or the chat template does to reasoning.

MOD007 reads LLaMA-Factory's own thought words (rules/trainers/llamafactory.yaml), not the family's
markers: LLaMA-Factory detects and strips reasoning by its template, whatever model it trains.
MOD010 reads the family's facts: a template that deletes the reasoning of the turn it is asked to
render cannot produce a reasoning target.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Iterator, Mapping

from thinklint.context import Context
from thinklint.model import Sample, Violation
from thinklint.profiles import Profile
from thinklint.spec import TrainingSpec
from thinklint.think import assistant_turns, last_assistant, parse, turn_reasoning


@lru_cache(maxsize=16)
def lf_thought_words(template: str) -> tuple[bool, str, str] | None:
    """(reasoning template?, opener, closer) of a LLaMA-Factory template; None when it is not modelled."""
    from thinklint.tokens.lf_templates import llamafactory_template  # data only: no transformers

    try:
        t = llamafactory_template(template)
    except KeyError:
        return None
    return t.reasoning, t.thought_words[0], t.thought_words[1]


def trainer_drops_reasoning(sample: Sample, ctx: Context, opts: Mapping[str, Any]) -> Iterator[Violation]:
    """MOD007: LLaMA-Factory's settings remove (or fail to remove) the sample's reasoning."""
    t = ctx.spec.training
    if t.framework != "llamafactory":
        return
    words = lf_thought_words(t.template)
    if words is None:
        return
    reasoning_template, open_w, close_w = words
    if t.enable_thinking is not False and reasoning_template:
        return
    markers = (open_w.strip(), close_w.strip())
    exact = re.compile(re.escape(open_w) + r".*?" + re.escape(close_w), re.DOTALL)
    for turn, m in assistant_turns(sample):
        if not parse(m.content, *markers).reasoning().strip():
            continue  # no block, or only empty ones: no reasoning to lose
        if not reasoning_template:
            yield Violation(f"assistant turn {turn} has reasoning, but template {t.template} has no thinking "
                            "support: the markers are trained as plain text", turn)
        elif any(mk in exact.sub("", m.content) for mk in markers):
            form = open_w + "…" + close_w
            yield Violation(f"assistant turn {turn}: enable_thinking is false, but LLaMA-Factory strips only "
                            f"the exact form {form!r}, so this reasoning is kept and trained", turn)
        else:
            yield Violation(f"assistant turn {turn}: enable_thinking is false, so LLaMA-Factory removes this "
                            "reasoning and never trains it", turn)


def template_kwargs(p: Profile, t: TrainingSpec) -> dict[str, Any]:
    """The switches a chat-template trainer passes, as far as the spec says (the rest stay default)."""
    known = {sw.name for sw in p.switches if sw.kind == "kwarg"}
    out: dict[str, Any] = {}
    if "enable_thinking" in known and t.enable_thinking is not None:
        out["enable_thinking"] = t.enable_thinking
    if "preserve_thinking" in known and t.preserve_thinking:
        out["preserve_thinking"] = True
    return out


def _keeping_switches(p: Profile) -> list[str]:
    """name=value of switch settings under which the template keeps the last turn's reasoning."""
    return [f"{sw.name}={str(ov.value).lower()}" for sw in p.switches for ov in sw.overrides
            if ov.history in ("keep", "strip", "after_last_query", "last_message_only")]


def template_drops_reasoning(sample: Sample, ctx: Context, opts: Mapping[str, Any]) -> Iterator[Violation]:
    """MOD010: trained through the chat template, the sample's last turn loses its reasoning."""
    p = ctx.profile
    t = ctx.spec.training
    if t.framework != "chat_template" or p.final_prefill:
        return
    last = last_assistant(sample)
    if last is None:
        return
    turn = last[0]
    r = turn_reasoning(sample, turn, p)
    if not r.present:
        return
    history, _ = p.history_for(template_kwargs(p, t))
    if r.field_text is not None:
        deleted = history == "strip_all"
    else:  # inline: deleted where the template strips it, or parses it into a block it then drops;
        # a verbatim or prefixed template keeps the text (Kimi: after its own empty block, THK013)
        deleted = p.inline == "stripped" or (p.inline == "parsed" and history == "strip_all")
    if not deleted:
        return
    keep = _keeping_switches(p)
    remedy = (f"pass {' or '.join(keep)} to the template when rendering for training" if keep else
              "build the training text yourself (the prompt with add_generation_prompt, then the reasoning, "
              "the answer and the end-of-turn token)")
    yield Violation(f"assistant turn {turn} has reasoning, but the {p.name} chat template deletes the "
                    "reasoning of every assistant turn, the last one included: rendered for training, the "
                    f"sample teaches the model to skip its reasoning; {remedy}", turn)
