"""The time and size budget of one chat-template render, and where a template can overspend it.

A render may write at most ``max_chars`` characters and run for at most ``timeout`` seconds. Time is
checked where a template can spend it (calls, loops through ``range``, operators, namespace writes,
output chunks). Size is checked *before* an operation builds a value, wherever one operation can
multiply what it is given: ``*``, ``+``, ``%``, ``str.format``, ``~``, printing a value, and the
string methods and filters that pad, repeat, join or serialise (replace, join, center, ljust, rjust,
zfill, expandtabs, indent, format, wordwrap, string, tojson, pprint). Sizes are measured as the text
the value would print as (a list holding one long string 1,000 times weighs 1,000 times that string),
counted with an early exit, so a check costs at most ``max_chars`` steps.
"""

from __future__ import annotations

import contextvars
import re
import string
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from jinja2.compiler import CodeGenerator, Frame
from jinja2.nodes import Concat

from thinklint.errors import TemplateLimitError, TemplateTimeoutError


@dataclass
class Budget:
    deadline: float
    max_chars: int

    def tick(self) -> None:
        if time.monotonic() > self.deadline:
            raise TemplateTimeoutError("chat template exceeded its time limit")

    def size(self, n: int) -> None:
        if n > self.max_chars:
            raise TemplateLimitError(f"chat template output exceeds {self.max_chars:,} characters")

    def build(self, n: int) -> None:
        if n > self.max_chars:
            raise TemplateLimitError(
                f"chat template builds a value over its {self.max_chars:,}-character limit")


BUDGET: contextvars.ContextVar[Budget | None] = contextvars.ContextVar("thinklint_budget", default=None)


def tick() -> None:
    budget = BUDGET.get()
    if budget is not None:
        budget.tick()


def weight(value: Any, limit: int) -> int:
    """About how many characters `value` prints as; stops counting past `limit` (returns limit + 1)."""
    total = 0
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, (str, bytes)):
            total += len(v)
        elif isinstance(v, Mapping):
            total += 2 + 4 * len(v)
            stack.extend(v.keys())
            stack.extend(v.values())
        elif isinstance(v, (list, tuple, set, frozenset)):
            total += 2 + 2 * len(v)
            stack.extend(v)
        else:
            total += 8
        if total > limit:
            return limit + 1
    return total


def guard(*values: Any, extra: int = 0) -> None:
    """Refuse before building something from `values` (plus `extra` characters) over the budget."""
    budget = BUDGET.get()
    if budget is None:
        return
    budget.tick()
    total = extra
    for v in values:
        total += weight(v, budget.max_chars)
        budget.build(total)
    budget.build(total)


def repeat(seq: Any, times: int) -> None:
    """``seq * times`` weighs `times` x `seq`."""
    budget = BUDGET.get()
    if budget is not None:
        budget.build(weight(seq, budget.max_chars) * max(times, 0))


_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\d+|\*)?(?:\.(\d+|\*))?")
_NUMBERS = re.compile(r"\d+")


def _ints(values: Any) -> int:
    if isinstance(values, Mapping):
        items = list(values.values())
    else:
        items = list(values) if isinstance(values, (list, tuple)) else [values]
    return sum(v for v in items if isinstance(v, int) and not isinstance(v, bool) and v > 0)


def percent_format(fmt: str, args: Any) -> None:
    """``fmt % args``: the widths and precisions it asks for, `*` ones from the arguments."""
    widths = sum(int(n) for m in _PERCENT_SPEC.finditer(fmt) for n in m.groups() if n and n != "*")
    star = _ints(args) if "*" in fmt else 0
    guard(fmt, args, extra=widths + star)


def brace_format(fmt: str, args: Any, kwargs: Any) -> None:
    """``fmt.format(...)``: the numbers in its format specs, nested ``{}`` widths from the arguments."""
    try:
        specs = [spec for _, _, spec, _ in string.Formatter().parse(fmt) if spec]
    except ValueError:
        specs = []  # the call itself reports the malformed format string
    widths = sum(int(n) for spec in specs for n in _NUMBERS.findall(spec))
    nested = _ints(args) + _ints(kwargs) if any("{" in spec for spec in specs) else 0
    guard(fmt, args, kwargs, extra=widths + nested)


def _arg(args: tuple[Any, ...], kwargs: Mapping[str, Any], i: int, name: str, default: Any) -> Any:
    return args[i] if len(args) > i else kwargs.get(name, default)


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _replace(s: Any, old: Any, new: Any, count: Any) -> None:
    budget = BUDGET.get()
    if budget is None or not (isinstance(s, str) and isinstance(old, str)):
        return
    n = s.count(old) if old else len(s) + 1
    if isinstance(count, int) and count >= 0:
        n = min(n, count)
    guard(s, extra=n * max(0, weight(new, budget.max_chars) - len(old)))


def _join(sep: Any, items: Any) -> None:
    budget = BUDGET.get()
    if budget is None or not hasattr(items, "__len__"):
        return
    guard(items, extra=weight(sep, budget.max_chars) * len(items))


#: str methods that build a larger string than they are given: a check of their arguments
STR_METHODS: Mapping[str, Callable[[str, tuple[Any, ...], Mapping[str, Any]], None]] = {
    "replace": lambda s, a, k: _replace(s, _arg(a, k, 0, "old", ""), _arg(a, k, 1, "new", ""),
                                        _arg(a, k, 2, "count", -1)),
    "join": lambda s, a, k: _join(s, _arg(a, k, 0, "iterable", ())),
    "center": lambda s, a, k: guard(s, extra=_int(_arg(a, k, 0, "width", 0))),
    "ljust": lambda s, a, k: guard(s, extra=_int(_arg(a, k, 0, "width", 0))),
    "rjust": lambda s, a, k: guard(s, extra=_int(_arg(a, k, 0, "width", 0))),
    "zfill": lambda s, a, k: guard(s, extra=_int(_arg(a, k, 0, "width", 0))),
    "expandtabs": lambda s, a, k: guard(s, extra=s.count("\t") * _int(_arg(a, k, 0, "tabsize", 8))),
}


def check_str_method(obj: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
    """Before a call from a template: a str method that can grow its string past the budget."""
    owner = getattr(obj, "__self__", None)
    if isinstance(owner, str):
        check = STR_METHODS.get(getattr(obj, "__name__", ""))
        if check is not None:
            check(owner, args, kwargs)


def _filter_checks() -> Mapping[str, Callable[..., None]]:
    def indent(s: Any, width: Any = 4, *_: Any, **__: Any) -> None:
        pad = len(width) if isinstance(width, str) else _int(width)
        guard(s, extra=(str(s).count("\n") + 1) * pad if isinstance(s, str) else 0)

    def wordwrap(s: Any, width: Any = 79, break_long_words: Any = True, wrapstring: Any = None,
                 *_: Any, **__: Any) -> None:
        n = len(s) // max(_int(width), 1) + 1 if isinstance(s, str) else 0
        guard(s, extra=n * (len(wrapstring) if isinstance(wrapstring, str) else 1))

    return {
        "replace": lambda s, old="", new="", count=None, *_, **__: _replace(s, old, new, count),
        "join": lambda value, d="", *_, **__: _join(d, value),
        "center": lambda value, width=80, *_, **__: guard(value, extra=_int(width)),
        "indent": indent,
        "wordwrap": wordwrap,
        "format": lambda value, *args, **kwargs: percent_format(value, args or kwargs)
        if isinstance(value, str) else None,
        "string": lambda value, *_, **__: guard(value),
        "tojson": lambda value, *_, **__: guard(value),
        "pprint": lambda value, *_, **__: guard(value),
    }


FILTER_CHECKS = _filter_checks()


def checked_filter(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    """The filter `fn` behind its size check."""
    check = FILTER_CHECKS[name]
    # a filter marked pass_eval_context / pass_environment / pass_context gets that object first
    takes_first = hasattr(fn, "jinja_pass_arg")

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        check(*(args[1:] if takes_first else args), **kwargs)
        return fn(*args, **kwargs)

    if takes_first:
        wrapped.jinja_pass_arg = fn.jinja_pass_arg  # type: ignore[attr-defined]
    return wrapped


def checked_concat(parts: tuple[Any, ...], join: Callable[[tuple[Any, ...]], str]) -> str:
    """The ``~`` operator: `join` is jinja's own (str_join or markup_join)."""
    guard(*parts)
    return join(parts)


def finalize(value: Any) -> Any:
    """Every ``{{ value }}`` before it is turned into text (a list prints every item it holds)."""
    if not isinstance(value, str):
        guard(value)
    return value


class BudgetCodeGenerator(CodeGenerator):
    """jinja's code generator with ``a ~ b`` routed through `checked_concat`."""

    def visit_Concat(self, node: Concat, frame: Frame) -> None:
        if frame.eval_ctx.volatile:
            join = "(markup_join if context.eval_ctx.volatile else str_join)"
        elif frame.eval_ctx.autoescape:
            join = "markup_join"
        else:
            join = "str_join"
        self.write("environment.checked_concat((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write(f"), {join})")
