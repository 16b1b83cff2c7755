"""Probe conversations, what a profile predicts they render to, and what a template actually renders.

A profile is a claim about a chat template. Each probe is a small conversation with sentinel texts
(QUERY1, REASON1, ANSWER1...); the profile's facts (turn format, block, empty block, history rule,
prefill per mode, end of turn) predict the exact text the template renders after the first user
text, and a real render either agrees or not. The same comparison verifies a profile against its
reference template (tests) and finds the family of an unknown template (detect.py).

Comparing only what follows the first user text keeps probes independent of default system
prompts, dates and BOS handling; the `user` probe checks the part before it separately.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable, Mapping, Sequence

from thinklint.jinja import TemplateError, render
from thinklint.profiles import Profile

Q1, Q2, R1, A1, A2, SYS, RES = "QUERY1", "QUERY2", "REASON1", "ANSWER1", "ANSWER2", "SYSTEM1", "RESULT1"
INLINE = f"<think>\n{R1}\n</think>\n\n{A1}"
#: special tokens every probe render gets; profiles write them as {bos_token} / {eos_token}
SPECIAL_TOKENS: Mapping[str, str] = {"bos_token": "<s>", "eos_token": "</s>"}
#: templates that print today's date see a fixed one, so that renders are reproducible
PROBE_DATE = datetime(2025, 1, 15)
FIELDS = ("reasoning_content", "thinking", "reasoning")

Msg = Mapping[str, Any]


def _u(text: str) -> Msg:
    return {"role": "user", "content": text}


def _a(text: str, **extra: str) -> Msg:
    return {"role": "assistant", "content": text, **extra}


def _both(reasoning: str) -> dict[str, str]:
    # gpt-oss reads `thinking`, the rest `reasoning_content`: one probe serves both
    return {"reasoning_content": reasoning, "thinking": reasoning}


@dataclass(frozen=True)
class Probe:
    name: str
    messages: tuple[Msg, ...]
    add_generation_prompt: bool = False
    kwargs: Mapping[str, Any] = field(default_factory=dict)


def _label(kwargs: Mapping[str, Any]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(kwargs.items()))


BASE_PROBES: tuple[Probe, ...] = (
    Probe("user", (_u(Q1),)),
    Probe("system", ({"role": "system", "content": SYS}, _u(Q1))),
    Probe("tool", (_u(Q1), {"role": "tool", "content": RES})),
    Probe("gen", (_u(Q1),), True),
    *(Probe(f"final:{f}", (_u(Q1), _a(A1, **{f: R1}))) for f in FIELDS),
    Probe("final:inline", (_u(Q1), _a(INLINE))),
    Probe("final:plain", (_u(Q1), _a(A1))),
    Probe("history:field", (_u(Q1), _a(A1, **_both(R1)), _u(Q2))),
    Probe("history:inline", (_u(Q1), _a(INLINE), _u(Q2))),
    Probe("history:gen", (_u(Q1), _a(A1, **_both(R1)), _u(Q2)), True),
    Probe("postq:field", (_u(Q1), _a(A1, **_both(R1)), _a(A2))),
    Probe("postq:plain", (_u(Q1), _a(A1), _a(A2))),
)


def probes_for(profiles: Iterable[Profile]) -> tuple[Probe, ...]:
    """The base probes plus, for every switch any of `profiles` knows, the probes that show its effect."""
    out = list(BASE_PROBES)
    seen: set[str] = set()

    def add(probe: Probe) -> None:
        if probe.name not in seen:
            seen.add(probe.name)
            out.append(probe)

    for prof in profiles:
        for mode_name in ("thinking", "non_thinking"):
            m = prof.mode(mode_name)
            if m is None:
                continue
            if m.kwargs:
                add(Probe(f"gen[{_label(m.kwargs)}]", (_u(Q1),), True, dict(m.kwargs)))
            if m.system_text:
                system = {"role": "system", "content": f"{SYS} {m.system_text}"}
                add(Probe(f"gen[system:{m.system_text}]", (system, _u(Q1)), True))
        for sw in prof.switches:
            for ov in sw.overrides:
                kw = {sw.name: ov.value}
                for base in ("final:reasoning_content", "history:field", "postq:plain"):
                    template = next(p for p in BASE_PROBES if p.name == base)
                    add(Probe(f"{base}[{_label(kw)}]", template.messages, False, kw))
    return tuple(out)


def render_probe(template: str, probe: Probe) -> str:
    """The template's full render of `probe` (raises TemplateError), as transformers 4.x passes messages:
    reasoning fields are not aliased, so that what the template itself reads shows."""
    extra: dict[str, Any] = {**SPECIAL_TOKENS, **probe.kwargs}
    return render(template, probe.messages, add_generation_prompt=probe.add_generation_prompt,
                  alias_reasoning=False, now=PROBE_DATE, timeout=2.0, **extra)


# ---------------------------------------------------------------------------------------------
# what a profile predicts

def _sub(text: str) -> str:
    for key, value in SPECIAL_TOKENS.items():
        text = text.replace("{" + key + "}", value)
    return text


def _split(turn: str) -> tuple[str, str]:
    pre, _, post = _sub(turn).partition("{content}")
    return pre, post


def _keeps(history: str, position: str) -> bool:
    return {"keep": True, "strip": position == "final", "strip_all": False,
            "after_last_query": position in ("final", "postq"),
            "last_message_only": position == "final"}[history]


def _empty(empty_on: str, position: str) -> bool:
    return {"every_turn": True, "after_last_query": position in ("final", "postq"),
            "last_turn": position == "final", "never": False}[empty_on]


def _marked(prof: Profile, content: str) -> bool:
    """A `verbatim` template writes no empty block before content that has a marker of its own
    (Nemotron-3); a `prefixed` one writes it whatever the content holds (Kimi, SmolLM3 no_think)."""
    return prof.inline == "verbatim" and any(m and m in content for m in (prof.open, prof.close))


def _assistant(prof: Profile, msg: Msg, position: str, history: str, empty_on: str, prefill: str) -> str:
    content = str(msg.get("content", ""))
    end = prof.assistant_end_final if position == "final" else prof.turns["assistant_end"]
    if position == "final" and prof.final_prefill:
        # Nemotron Nano v2: the last turn is the prompt's prefill + content.strip(), nothing parsed
        return _sub(prof.turns["assistant_header"]) + prefill + content.strip() + _sub(end)
    reasoning = next((msg[f] for f in prof.reasoning_fields if isinstance(msg.get(f), str)), None)
    close = "</think>"
    if reasoning is None and close in content and prof.inline in ("parsed", "stripped"):
        before, _, after = content.rpartition(close)
        if prof.inline == "parsed":
            reasoning = before.split("<think>")[-1].strip("\n")
            content = after.lstrip("\n")
        else:
            content = after
    body = prof.answer_prefix + content
    if reasoning is not None and _keeps(history, position) and prof.block_template:
        body = prof.block_template.replace("{reasoning}", reasoning) + body
    elif prof.empty_block is not None and _empty(empty_on, position) and not _marked(prof, content):
        body = prof.empty_block + body
    return _sub(prof.turns["assistant_header"]) + body + _sub(end)


def _system_text(probe: Probe) -> str:
    return " ".join(str(m.get("content", "")) for m in probe.messages if m.get("role") == "system")


@dataclass(frozen=True)
class Prediction:
    """`tail`: the exact render after the first user text. `head_suffix`: what must end the render
    before it (the user turn's opening, and the system turn when there is one). `head`: the whole
    text before it, when the profile knows it."""

    tail: str
    head_suffix: str = ""
    head: str | None = None


def _expected(prof: Profile, probe: Probe) -> str | None:
    """A literal expectation of the profile for this probe, or for its base when the extra kwargs are
    switches this family does not know (they change nothing)."""
    expect: Mapping[str, str] = prof.detect.get("expect", {})
    if probe.name in expect:
        return expect[probe.name]
    known = {sw.name for sw in prof.switches if sw.overrides}
    if probe.add_generation_prompt:
        for mode_name in ("thinking", "non_thinking"):
            m = prof.mode(mode_name)
            known.update(m.kwargs if m else ())
    base = probe.name.split("[", 1)[0]
    if base != probe.name and not known & set(probe.kwargs):
        return expect.get(base)
    return None


def predict(prof: Profile, probe: Probe) -> Prediction | None:
    """What `prof` says `probe` renders to; None when the profile's facts cannot say."""
    hints = prof.detect
    if probe.name in hints.get("skip", ()):
        return None
    mode_name = prof.mode_for(probe.kwargs, _system_text(probe))
    mode = prof.mode(mode_name)
    assert mode is not None
    u_pre, u_post = _split(prof.turns["user"])
    u_post = mode.user_suffix + u_post
    head_suffix = u_pre
    head: str | None = None
    if probe.name == "system":
        if "system" not in prof.turns:
            return None
        s_pre, s_post = _split(prof.turns["system"])
        head_suffix = s_pre + SYS + s_post + u_pre
    elif probe.name == "user" and "prefix" in prof.turns:
        head = _sub(prof.turns["prefix"]) + u_pre
    expected = _expected(prof, probe)
    if expected is not None:
        return Prediction(expected, head_suffix, head)
    history, empty_on = prof.history_for(probe.kwargs)
    msgs = list(probe.messages)
    first_user = next(i for i, m in enumerate(msgs) if m.get("role") == "user")
    last_user = max(i for i, m in enumerate(msgs) if m.get("role") == "user")
    tail = u_post
    for i in range(first_user + 1, len(msgs)):
        msg = msgs[i]
        role = msg.get("role")
        if role == "user":
            tail += u_pre + str(msg["content"]) + u_post
        elif role == "tool":
            if "tool" not in prof.turns:
                return None
            t_pre, t_post = _split(prof.turns["tool"])
            tail += t_pre + str(msg["content"]) + t_post
        else:
            position = "history" if i < last_user else ("final" if i == len(msgs) - 1 else "postq")
            tail += _assistant(prof, msg, position, history, empty_on, mode.prefill)
    if probe.add_generation_prompt:
        tail += _sub(prof.turns["assistant_header"]) + mode.prefill
    return Prediction(tail, head_suffix, head)


# ---------------------------------------------------------------------------------------------
# comparing

@dataclass(frozen=True)
class Evidence:
    probe: str
    ok: bool
    expected: str
    actual: str

    def describe(self) -> str:
        mark = "ok " if self.ok else "BAD"
        detail = "" if self.ok else f": expected {self.expected!r}, rendered {self.actual!r}"
        return f"{mark} {self.probe}{detail}"


def split_render(text: str) -> tuple[str, str] | None:
    """(before, after) the first user text of a probe render; None when the template dropped it."""
    at = text.find(Q1)
    return None if at < 0 else (text[:at], text[at + len(Q1):])


def compare(pred: Prediction, rendered: str | TemplateError, probe: str) -> Evidence:
    if isinstance(rendered, TemplateError):
        return Evidence(probe, False, pred.tail, f"error: {rendered}")
    parts = split_render(rendered)
    if parts is None:
        return Evidence(probe, False, pred.tail, rendered)
    head, tail = parts
    if pred.head is not None and head != pred.head:
        return Evidence(probe, False, pred.head + "|" + pred.tail, head + "|" + tail)
    if not head.endswith(pred.head_suffix):
        return Evidence(probe, False, "…" + pred.head_suffix + "|" + pred.tail, head[-80:] + "|" + tail)
    return Evidence(probe, tail == pred.tail, pred.tail, tail)


def render_all(template: str, probes: Sequence[Probe]) -> dict[str, str | TemplateError]:
    out: dict[str, str | TemplateError] = {}
    for probe in probes:
        try:
            out[probe.name] = render_probe(template, probe)
        except TemplateError as exc:
            out[probe.name] = exc
    return out


def check(prof: Profile, renders: Mapping[str, str | TemplateError], probes: Sequence[Probe]) -> list[Evidence]:
    """Every probe the profile can predict, compared with the template's render."""
    out: list[Evidence] = []
    for probe in probes:
        pred = predict(prof, probe)
        if pred is not None and probe.name in renders:
            out.append(compare(pred, renders[probe.name], probe.name))
    return out
