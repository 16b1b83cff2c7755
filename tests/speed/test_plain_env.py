"""The vetted templates' environment shortcuts jinja's attribute lookups and calls: renders stay jinja's own."""

from __future__ import annotations

from typing import Any

import jinja2
import jinja2.ext
import pytest

from thinklint.jinja import render
from thinklint.jinja_plain import PlainContext, PlainEnvironment

TEMPLATES = [
    # a key, a missing key, keys named like dict methods (the method wins, as in jinja), nesting
    ("{{ m.role }}|{{ m.missing is defined }}|{{ m.missing }}|{{ m['items'] }}|{{ m.items is callable }}"
     "|{{ m.get('role') }}|{{ m.keys()|list|length }}|{{ m.nested.deep }}|{{ m.nested.none is none }}"),
    "{% for x in m.list %}{{ loop.index0 }}{{ x.role if x.role is defined else '?' }}{% endfor %}",
    # str methods, positional and keyword arguments, chained, inside loops (jinja passes _loop_vars)
    ("{% for c in m.texts %}[{{ c.split('</think>')[-1].lstrip('\\n') }}|{{ c.strip('\\n') }}"
     "|{{ c.startswith('<') }}|{{ c.replace('a', 'b', 1) }}|{{ c.split(sep='x', maxsplit=1) }}]{% endfor %}"),
    # what is not a str method goes to jinja: list and dict methods, globals, namespaces, filters
    ("{% set ns = namespace(n=0) %}{% for c in m.texts %}{% set ns.n = ns.n + c|length %}{% endfor %}"
     "{{ ns.n }}|{{ m.list.index(m.list[0]) }}|{{ m.get('missing', 'dflt') }}|{{ range(3)|list }}"
     "|{{ dict(a=1) }}|{{ m.list[0].__class__ is defined }}|{{ m.__class__ is defined }}"),
    ("{% macro f(x) %}<{{ x.role }}{{ caller() if caller is defined else '' }}>{% endmacro %}"
     "{{ f(m) }}{% call f(m) %}body{% endcall %}{{ m.sub.role }}"),
    "{{ m.role.upper() }}{{ m.role.bogus is defined }}{% if m.texts[0].split %}y{% endif %}",
]


class Sub(dict):  # type: ignore[type-arg]
    """A dict subclass: not a plain dict, so jinja's own lookup."""

    role = "class attribute"


VALUES: list[dict[str, Any]] = [
    {"role": "user", "items": "shadowed", "nested": {"deep": 1, "none": None}, "list": [{"role": "a"}, {}],
     "texts": ["<think>\nr\n</think>\n\nanswer", "\n\nplain a x y\n", ""], "sub": Sub(role="key")},
    {"role": "assistant", "nested": {}, "list": [1, 2], "texts": ["x"], "sub": {"role": "k"}},
]


def _stock() -> jinja2.Environment:
    env = jinja2.Environment(trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols])
    env.globals["namespace"] = jinja2.utils.Namespace
    env.globals["dict"] = dict
    return env


def _plain() -> jinja2.Environment:
    env = PlainEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols])
    env.globals["namespace"] = jinja2.utils.Namespace
    env.globals["dict"] = dict
    return env


@pytest.mark.parametrize("source", TEMPLATES)
def test_renders_as_a_stock_environment(source: str) -> None:
    stock, plain = _stock(), _plain()
    for value in VALUES:
        want = stock.from_string(source).render(m=value)
        assert plain.from_string(source).render(m=value) == want


def test_the_shortcuts_are_taken_and_defer_otherwise() -> None:
    env = _plain()
    assert env.getattr({"role": "user"}, "role") == "user"
    assert isinstance(env.getattr({}, "role"), jinja2.Undefined)
    assert callable(env.getattr({"items": "shadowed"}, "items"))  # the method, as jinja's lookup gives
    assert env.getattr(Sub(role="key"), "role") == "class attribute"
    context = env.from_string("").new_context({})
    assert isinstance(context, PlainContext)
    assert context.call("a b".split, _loop_vars={}, _block_vars={}) == ["a", "b"]
    assert context.call([3, 4].index, 4, _loop_vars={}) == 1


def test_a_vetted_render_uses_the_plain_environment() -> None:
    text = "{{ messages[0].role }}:{{ messages[0].content.split('-')[1] }}{{ messages[0].missing is defined }}"
    messages = [{"role": "user", "content": "a-b"}]
    assert render(text, messages, trusted=True) == render(text, messages) == "user:bFalse"
