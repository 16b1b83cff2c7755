"""Render chat templates exactly as transformers' ``apply_chat_template`` does, without importing it.

A linter that renders differently from the trainer and the server reports problems that do not exist,
so everything here mirrors transformers (``utils/chat_template_utils.py``, 4.5x and 5.x): the same
sandbox and trimming flags, the same globals and filters, the same input clean-up (keys whose value is
None dropped, data reduced to plain JSON types, reasoning fields aliased as 5.x does).

Templates come from model repositories and are untrusted: they run in jinja2's immutable sandbox, and a
render that writes more than ``max_chars`` or runs longer than ``timeout`` seconds is stopped with a
`TemplateLimitError`. The budget is enforced where a template can spend it (thinklint.jinja_budget:
calls, ``range``, operators, the string methods and filters that multiply text, printed values,
namespace writes, output chunks) rather than with threads or signals, so it works on any platform
and inside worker threads. A template that runs out of time `MAX_TIMEOUTS` times is not rendered again.
"""

from __future__ import annotations

import contextvars
import hashlib
import json
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Iterator, Mapping, Sequence

from thinklint.errors import TemplateError, TemplateLimitError, TemplateTimeoutError
from thinklint.jinja_budget import (
    BUDGET, FILTER_CHECKS, Budget, BudgetCodeGenerator, brace_format, check_str_method, checked_concat,
    checked_filter, finalize, guard, percent_format, repeat, tick,
)
from thinklint.jinja_plain import PlainEnvironment
from thinklint.jinja_replay import Replays
import jinja2
import jinja2.ext
import jinja2.meta
import jinja2.utils
from jinja2 import nodes
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

__all__ = [
    "ChatTemplate", "TemplateError", "TemplateLimitError", "compile_template", "render",
    "template_variables", "REASONING_FIELDS", "DEFAULT_MAX_CHARS", "DEFAULT_TIMEOUT",
]

DEFAULT_MAX_CHARS = 4_000_000
DEFAULT_TIMEOUT = 5.0
#: names a message's reasoning is passed under; transformers 5.x copies the first non-null one to the others
REASONING_FIELDS = ("reasoning_content", "thinking", "reasoning")


_CLOCK: contextvars.ContextVar[datetime | None] = contextvars.ContextVar("thinklint_clock", default=None)
#: a template that ran out of time this many times is not rendered again in this process: a
#: hostile or runaway template costs seconds, not `timeout` x every sample
MAX_TIMEOUTS = 3


class _GenerationTag(jinja2.ext.Extension):
    """``{% generation %}`` marks assistant spans for transformers' loss mask; it renders its body unchanged."""

    tags = {"generation"}

    def parse(self, parser: Any) -> nodes.Node:
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
        call = nodes.CallBlock(self.call_method("_noop"), [], [], body)
        result: nodes.Node = call.set_lineno(lineno)
        return result

    def _noop(self, caller: Callable[[], str]) -> str:
        return caller()


class _Range:
    """The sandbox's ``range`` (capped at jinja2's MAX_RANGE) that also checks the deadline as it iterates."""

    def __init__(self, *args: int) -> None:
        self._r = jinja2.sandbox.safe_range(*args)

    def __iter__(self) -> Iterator[int]:
        for i in self._r:
            tick()
            yield i

    def __len__(self) -> int:
        return len(self._r)

    def __getitem__(self, index: Any) -> Any:
        return self._r[index]


#: the sandbox's verdict on (type of object, attribute name): its checks look at nothing else
#: (underscore names, internal attributes of functions/frames/..., mutating methods of known mutable
#: types, all by isinstance), so one verdict per pair is exact and saves a fifth of a render
_SAFE_ATTRIBUTES: dict[tuple[type, str], bool] = {}


class _Env(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "+", "**", "%"})
    code_generator_class = BudgetCodeGenerator
    checked_concat = staticmethod(checked_concat)  # what BudgetCodeGenerator compiles `~` to

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        key = (type(obj), attr)
        verdict = _SAFE_ATTRIBUTES.get(key)
        if verdict is None:
            verdict = super().is_safe_attribute(obj, attr, value)
            if len(_SAFE_ATTRIBUTES) >= 4096:  # attribute names come from templates: bounded, but be sure
                _SAFE_ATTRIBUTES.clear()
            _SAFE_ATTRIBUTES[key] = verdict
        return verdict

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        tick()
        check_str_method(__obj, args, kwargs)
        return super().call(__context, __obj, *args, **kwargs)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        sandboxed = super().wrap_str_format(value)
        if sandboxed is None:
            return None
        fmt: str = value.__self__
        is_map = value.__name__ == "format_map"

        def checked(*args: Any, **kwargs: Any) -> str:
            if is_map:
                brace_format(fmt, (), args[0] if args else {})
            else:
                brace_format(fmt, args, kwargs)
            return sandboxed(*args, **kwargs)

        return checked

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        tick()
        if BUDGET.get() is not None:
            if operator == "*":
                for seq, times in ((left, right), (right, left)):
                    if isinstance(seq, (str, list, tuple)) and isinstance(times, int):
                        repeat(seq, times)
            elif operator == "**" and isinstance(left, int) and isinstance(right, int):
                if right > 4096 and abs(left) > 1:
                    raise TemplateLimitError("chat template computes an oversized power")
            elif operator == "+" and isinstance(left, (str, list, tuple)) and isinstance(right, type(left)):
                guard(left, right)
            elif operator == "%" and isinstance(left, str):
                percent_format(left, right)
        return super().call_binop(context, operator, left, right)


def _raise_exception(message: str) -> None:
    raise jinja2.exceptions.TemplateError(message)


def _tojson(x: Any, ensure_ascii: bool = False, indent: int | None = None,
            separators: tuple[str, str] | None = None, sort_keys: bool = False) -> str:
    # jinja's own tojson escapes HTML characters; transformers replaces it with plain json.dumps
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def _strftime_now(fmt: str) -> str:
    return (_CLOCK.get() or datetime.now()).strftime(fmt)


class _TemplateDict:
    """transformers' ``dict`` global: a call-only stand-in so templates cannot reach the dict type."""

    def __call__(self, *args: Any, **kwargs: Any) -> dict[Any, Any]:
        return dict(*args, **kwargs)

    def fromkeys(self, *args: Any, **kwargs: Any) -> dict[Any, Any]:
        return dict.fromkeys(*args, **kwargs)


class _Namespace(jinja2.utils.Namespace):
    """transformers' namespace (no underscore attributes), also the one place a loop can grow a string."""

    def __init__(*args: Any, **kwargs: Any) -> None:  # noqa: N805 - same signature trick as jinja's Namespace
        self, rest = args[0], args[1:]
        attrs = dict(*rest, **kwargs)
        for name, value in attrs.items():
            _Namespace._check(name, value)
        jinja2.utils.Namespace.__init__(self, attrs)

    def __setitem__(self, name: str, value: Any) -> None:
        _Namespace._check(name, value)
        jinja2.utils.Namespace.__setitem__(self, name, value)

    @staticmethod
    def _check(name: Any, value: Any) -> None:
        if isinstance(name, str) and name.startswith("_"):
            raise jinja2.exceptions.SecurityError(
                f"Chat templates cannot store underscore-prefixed attributes on a namespace, but got {name!r}.")
        tick()
        if isinstance(value, (str, list, tuple)):
            guard(value)


def _build_env(sandboxed: bool = True) -> jinja2.Environment:
    cls = _Env if sandboxed else PlainEnvironment
    env = cls(trim_blocks=True, lstrip_blocks=True, extensions=[_GenerationTag, jinja2.ext.loopcontrols],
              finalize=finalize)
    env.filters["tojson"] = _tojson
    for name in FILTER_CHECKS:
        env.filters[name] = checked_filter(name, env.filters[name])
    env.globals["raise_exception"] = _raise_exception
    env.globals["strftime_now"] = _strftime_now
    env.globals["dict"] = _TemplateDict()
    env.globals["namespace"] = _Namespace
    env.globals["range"] = _Range
    return env


_ENV = _build_env()
#: for vetted templates only (`ChatTemplate.trusted`: known official templates, pinned by hash, whose
#: renders the tests compare with the sandbox's): the same filters, globals and limits on output, time,
#: ranges and namespaces, without the sandbox's checks on every attribute access, call and operator,
#: which triple a render's cost (and with shortcuts of jinja's own attribute lookups and calls)
_PLAIN_ENV = _build_env(sandboxed=False)
#: vetted templates' renders, replayed by shape (thinklint.jinja_replay)
_REPLAYS = Replays(_PLAIN_ENV)
_CACHE_MAX = 256
_CACHE: OrderedDict[tuple[str, bool], jinja2.Template] = OrderedDict()
_LOCK = threading.Lock()
#: how often each template text ran out of time (see MAX_TIMEOUTS)
_TIMEOUTS: dict[str, int] = {}


def compile_template(text: str, trusted: bool = False) -> jinja2.Template:
    """Compile once per template text (bounded LRU cache); syntax errors become `TemplateError`."""
    key = (text, trusted)
    with _LOCK:
        hit = _CACHE.get(key)
        if hit is not None:
            _CACHE.move_to_end(key)
            return hit
    # jinja folds constant expressions at compile time ('x'|center(10**9) included): under a budget,
    # an oversized one raises, which jinja takes as "not constant" and leaves to the render's budget
    token = BUDGET.set(Budget(time.monotonic() + DEFAULT_TIMEOUT, DEFAULT_MAX_CHARS))
    try:
        compiled = (_PLAIN_ENV if trusted else _ENV).from_string(text)
    except jinja2.TemplateError as exc:
        raise TemplateError(f"cannot compile chat template: {type(exc).__name__}: {exc}") from None
    except (RecursionError, MemoryError, SyntaxError, ValueError) as exc:
        # jinja's parser recurses per nesting level, and Python's compiler refuses what it generates
        # from a deeply nested expression ("too many nested parentheses")
        raise TemplateError(f"cannot compile chat template: {type(exc).__name__}: {exc}") from None
    finally:
        BUDGET.reset(token)
    with _LOCK:
        _CACHE[key] = compiled
        while len(_CACHE) > _CACHE_MAX:
            _CACHE.popitem(last=False)
    return compiled


def template_variables(text: str) -> frozenset[str]:
    """Names the template reads from its context (messages, add_generation_prompt, enable_thinking, ...)."""
    try:
        ast = _ENV.parse(text)
    except jinja2.TemplateError as exc:
        raise TemplateError(f"cannot parse chat template: {exc}") from None
    except (RecursionError, MemoryError) as exc:
        raise TemplateError(f"cannot parse chat template: {type(exc).__name__}") from None
    return frozenset(jinja2.meta.find_undeclared_variables(ast))


def _plain(value: Any) -> Any:
    # transformers rebuilds everything a template sees out of JSON types, so a template cannot call methods
    # of rich objects; doing the same keeps renders identical (tuples stay tuples there too)
    if value is None or type(value) in (str, int, float, bool):
        return value
    # exact dicts and lists first: the Mapping check below goes through typing's slow isinstance
    if type(value) is dict:
        return {_plain(k): _plain(v) for k, v in value.items()}
    if type(value) is list:
        return [_plain(v) for v in value]
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, int):
        return int.__int__(value)
    if isinstance(value, float):
        return float.__float__(value)
    if isinstance(value, Mapping):
        return {_plain(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_plain(v) for v in value)
    return f"<{type(value).__name__}>"


def _prepare_messages(messages: Sequence[Mapping[str, Any]], alias_reasoning: bool) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for message in messages:
        if type(message) is not dict and not isinstance(message, Mapping):
            raise TemplateError(f"a chat message must be a mapping, got {type(message).__name__}")
        # transformers drops None-valued keys: templates handle a missing key but print "None" for a null
        msg: dict[str, Any] = {k: v for k, v in message.items() if v is not None}
        if not all(type(k) is str and type(v) is str for k, v in msg.items()):  # texts are most messages
            msg = _plain(msg)
        if alias_reasoning:
            reasoning = next((msg[k] for k in REASONING_FIELDS if msg.get(k) is not None), None)
            if reasoning is not None:
                msg = {"thinking": reasoning, **msg, "reasoning_content": reasoning}
        out.append(msg)
    return out


def render(template: str, messages: Sequence[Mapping[str, Any]], *, add_generation_prompt: bool = False,
           tools: Sequence[Mapping[str, Any]] | None = None, documents: Sequence[Mapping[str, Any]] | None = None,
           alias_reasoning: bool = True, max_chars: int | None = None, timeout: float | None = None,
           now: datetime | None = None, trusted: bool = False, **kwargs: Any) -> str:
    """Render `messages` with the chat template text `template`, as ``tokenizer.apply_chat_template(...,
    tokenize=False)`` would. `trusted`: a vetted template, rendered outside the sandbox (see `_PLAIN_ENV`).

    Pass the tokenizer's special tokens (``bos_token``, ``eos_token``, ...) and template switches
    (``enable_thinking``...) as keyword arguments; like transformers, undefined ones stay undefined.
    `alias_reasoning` copies ``reasoning_content``/``thinking``/``reasoning`` onto each other as
    transformers 5.x does; pass False to see what the template itself reads (transformers 4.x).
    `now` pins ``strftime_now`` for reproducible renders. `max_chars` and `timeout` default to
    DEFAULT_MAX_CHARS and DEFAULT_TIMEOUT, read at the call.
    """
    max_chars = DEFAULT_MAX_CHARS if max_chars is None else max_chars
    timeout = DEFAULT_TIMEOUT if timeout is None else timeout
    with _LOCK:
        if _TIMEOUTS.get(template, 0) >= MAX_TIMEOUTS:
            raise TemplateTimeoutError(f"chat template exceeded its time limit {MAX_TIMEOUTS} times; "
                                       "not rendered again")
    compiled = compile_template(template, trusted)
    context = {
        "messages": _prepare_messages(messages, alias_reasoning),
        "tools": _plain(list(tools)) if tools is not None else None,
        "documents": _plain(list(documents)) if documents is not None else None,
        "add_generation_prompt": add_generation_prompt,
        **_plain(kwargs),
    }
    shape = None
    if trusted and now is None:
        shape, replayed = _REPLAYS.replay(template, context)
        if replayed is not None and len(replayed) <= max_chars:
            return replayed
    budget = Budget(time.monotonic() + timeout, max_chars)
    budget_token = BUDGET.set(budget)
    clock_token = _CLOCK.set(now)
    parts: list[str] = []
    size = 0
    try:
        for chunk in compiled.generate(**context):
            size += len(chunk)
            budget.size(size)
            budget.tick()
            parts.append(chunk)
    except TemplateTimeoutError:
        with _LOCK:
            _TIMEOUTS[template] = _TIMEOUTS.get(template, 0) + 1
        raise
    except TemplateError:
        raise
    except jinja2.TemplateError as exc:
        raise TemplateError(str(exc) if type(exc) is jinja2.TemplateError else f"{type(exc).__name__}: {exc}") \
            from None
    except RecursionError:
        raise TemplateLimitError("chat template recursed too deeply") from None
    except MemoryError:
        raise TemplateLimitError("chat template ran out of memory") from None
    except Exception as exc:  # templates index, split and call freely; any failure is the template's
        raise TemplateError(f"{type(exc).__name__}: {exc}") from None
    finally:
        _CLOCK.reset(clock_token)
        BUDGET.reset(budget_token)
    rendered = "".join(parts)
    if shape is not None:
        _REPLAYS.learn(template, shape, context, rendered)
    return rendered


@dataclass(frozen=True)
class ChatTemplate:
    """A chat template text with its identity; `render` binds it (and optional special tokens)."""

    text: str
    name: str = ""
    special_tokens: Mapping[str, str] | None = None
    #: a vetted template (by hash): rendered without the sandbox, identically and three times faster
    trusted: bool = False

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    @property
    def variables(self) -> frozenset[str]:
        return template_variables(self.text)

    def render(self, messages: Sequence[Mapping[str, Any]], *, add_generation_prompt: bool = False,
               **kwargs: Any) -> str:
        merged = {**(self.special_tokens or {}), **kwargs}
        return render(self.text, messages, add_generation_prompt=add_generation_prompt, trusted=self.trusted,
                      **merged)
