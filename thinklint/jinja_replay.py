"""Renders of a vetted chat template replayed from a trace instead of run again.

A chat template reads its messages in few ways: it compares roles, looks for keys, and calls string
methods on the texts (``'</think>' in content``, ``content.split('</think>')[-1].lstrip('\\n')``). Two
conversations with the same roles and keys that answer every such question alike render alike, up
to the texts themselves. So the first render of a *shape* (template, switches, the roles and keys of
each message) is traced: each text goes in as a `Traced` string, a str whose every method and
operator writes down what it computed, as one step of a straight-line program. A step whose outcome
steers the render (a bool, a length, a split's number of parts) is a *guard*; a step that makes a
string may be printed, and the output is kept as its literal pieces and the steps printed between
them. A later render of the shape runs the program on its own texts: if every guard comes out as
traced, the output is the literal pieces joined with its steps' strings; if one does not, the next
variant is tried or the template is rendered (and traced) as usual.

It is exact only if nothing reads a text behind the program's back. Every way a template can read a
str without calling one of its methods aborts the trace, and the shape is then always rendered:
``repr``, ``format``, ``%``, hashing it, iterating over it, passing it (or a container holding it) to
a filter, a test or a call other than its own methods and macros (``'abc'.startswith(text)``,
``text|tojson``, ``text|join``), ``text in 'some str'`` (compiled to a call here), and any step that
raises. Printing keeps a text traced: ``str(text)`` is the text itself, and what a macro or a block
prints is joined as a step. The clock (``strftime_now``) is a step too, read again by each replay.
The first trace of a shape is checked against a plain render. Only vetted templates
(`ChatTemplate.trusted`) are replayed, and the tests replay each of them against the sandbox's
render on generated conversations.
"""

from __future__ import annotations

import contextvars
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from functools import wraps
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame, optimizeconst
from jinja2.runtime import Macro

from thinklint.jinja_plain import PlainContext, PlainEnvironment
from thinklint.jinja_trace import (
    SCALARS,
    Abort,
    Program,
    Traced,
    Tracer,
    abort,
    concat,
    contains,
    holds_text,
)

# -- the environment a trace renders in ------------------------------------------------------------
#: filters and tests that read a text only through its methods (or not at all: its type); the
#: selecting ones read what they select by through the tests and filters of this environment
_SAFE_FILTERS = frozenset({"length", "count", "string", "lower", "upper", "first", "last", "default", "d",
                           "list", "reverse", "select", "reject", "selectattr", "rejectattr", "map"})
#: filters that may be given a text to filter but must not be given one as an argument (trim's chars
#: would be read raw by the text's own strip)
_SAFE_SUBJECT_FILTERS = frozenset({"trim"})
_SAFE_TESTS = frozenset({"defined", "undefined", "none", "string", "mapping", "iterable", "sequence", "number",
                         "integer", "float", "boolean", "true", "false", "callable"})


class _TraceCodeGenerator(CodeGenerator):
    """jinja's code generator with ``in``/``not in`` and ``~`` compiled to calls a trace sees."""

    @optimizeconst
    def visit_Compare(self, node: nodes.Compare, frame: Frame) -> None:
        ops = [op.op for op in node.ops]
        if not {"in", "notin"} & set(ops):
            super().visit_Compare(node, frame)
        elif len(ops) > 1:
            self.write("environment.trace_abort()")
        else:
            self.write("(not " if ops[0] == "notin" else "(")
            self._call("trace_contains", node.ops[0].expr, node.expr, frame)
            self.write(")")

    @optimizeconst
    def visit_Mod(self, node: nodes.BinExpr, frame: Frame) -> None:
        self._call("trace_mod", node.left, node.right, frame)

    def _call(self, function: str, first: nodes.Expr, second: nodes.Expr, frame: Frame) -> None:
        self.write(f"environment.{function}(")
        self.visit(first, frame)
        self.write(", ")
        self.visit(second, frame)
        self.write(")")

    @optimizeconst
    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.trace_concat((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")


class _TraceContext(PlainContext):
    def call(self, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        # a macro's body is template code, traced like the rest
        if not isinstance(getattr(obj, "__self__", None), Traced) and obj is not _Namespace \
                and not isinstance(obj, Macro):
            # jinja's loop and block variables go to context-taking callables only, and are not read here
            passed = {k: v for k, v in kwargs.items() if k not in ("_block_vars", "_loop_vars")}
            if holds_text(args) or holds_text(passed):
                raise Abort
        return PlainContext.call(self, obj, *args, **kwargs)


class _Namespace(jinja2.utils.Namespace):
    """transformers' namespace, without the output budget's size checks (a vetted template's trace)."""

    def __setitem__(self, name: str, value: Any) -> None:
        if isinstance(name, str) and name.startswith("_"):
            raise Abort
        jinja2.utils.Namespace.__setitem__(self, name, value)


#: the trace under way on this thread (for the clock, which no text leads to)
_TRACER: contextvars.ContextVar[Tracer | None] = contextvars.ContextVar("thinklint_tracer", default=None)


def _clock(plain: Callable[[str], str]) -> Callable[[str], Any]:
    """``strftime_now``: the time it reads is a step of the program, read again by every replay."""
    def strftime_now(fmt: str) -> Any:
        tracer = _TRACER.get()
        if tracer is None or holds_text(fmt):
            raise Abort
        return tracer.apply(plain, (fmt,))
    return strftime_now


def _finalize(plain: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def finalize(value: Any) -> Any:
        return value if isinstance(value, Traced) else plain(value)
    return finalize


def _joined_output(chunks: Any) -> Any:
    """`environment.concat`: a macro's or a block's output, a step when it holds a text."""
    chunks = list(chunks)
    return concat(tuple(chunks)) if any(isinstance(c, Traced) for c in chunks) else "".join(chunks)


def _mod(left: Any, right: Any) -> Any:
    """``a % b``: formatting reads a text raw."""
    if isinstance(left, Traced) or holds_text(right):
        raise Abort
    return left % right


def _checked(fn: Callable[..., Any], subject: bool = False) -> Callable[..., Any]:
    """`fn`, aborting a trace when an argument holds a text (but for the first, the filtered value, with
    `subject`)."""
    @wraps(fn)  # keeps jinja's pass_context/pass_eval_context marker
    def checked(*args: Any, **kwargs: Any) -> Any:
        if holds_text(args[1:] if subject else args) or holds_text(kwargs):
            raise Abort
        return fn(*args, **kwargs)
    return checked


def trace_environment(plain: jinja2.Environment) -> jinja2.Environment:
    """An environment like `plain` (the vetted templates' one) in which a render can be traced."""

    class TraceEnvironment(PlainEnvironment):
        code_generator_class = _TraceCodeGenerator
        context_class = _TraceContext
        trace_contains = staticmethod(contains)
        trace_concat = staticmethod(concat)
        trace_abort = staticmethod(abort)
        trace_mod = staticmethod(_mod)
        concat = staticmethod(_joined_output)

    env = TraceEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[type(e) for e in plain.extensions.values()],
                           finalize=_finalize(plain.finalize or (lambda v: v)))
    filters: dict[str, Any] = dict(plain.filters)
    tests: dict[str, Any] = dict(plain.tests)
    env.filters.update({k: f if k in _SAFE_FILTERS else _checked(f, subject=k in _SAFE_SUBJECT_FILTERS)
                        for k, f in filters.items()})
    env.tests.update({k: t if k in _SAFE_TESTS else _checked(t) for k, t in tests.items()})
    env.globals.update(plain.globals)
    env.globals["namespace"] = _Namespace
    clock: Callable[[str], str] = plain.globals["strftime_now"]  # type: ignore[assignment]
    env.globals["strftime_now"] = _clock(clock)
    return env


# -- traces kept, by shape -------------------------------------------------------------------------
#: programs kept per shape: texts that answer a template's questions otherwise (a '</think>' in the
#: content, say) make another variant
VARIANTS = 4
_SHAPES = 1024
#: a trace costs two to three renders and a replay saves three quarters of one: after this many traces
#: of a template, it is traced further only while its replays number `PAYBACK` times its traces (a
#: dataset whose every conversation has a shape of its own is not traced for nothing)
TRIAL = 100
PAYBACK = 4
#: renders of a template before its first trace: compiling it for traces costs about 0.1 s, which a
#: run of a few samples (a pre-commit hook's) would never earn back
WARMUP = 64


def shape(context: Mapping[str, Any]) -> tuple[Any, ...] | None:
    """What a render of `context` is keyed by: the switches, and each message's role and keys (in order);
    None when something other than a text could steer it (a list or number in a message, tools)."""
    messages = context.get("messages")
    if type(messages) is not list:
        return None
    out: list[Any] = []
    for m in messages:
        role = m.get("role")
        if type(role) is not str:
            return None
        keys = tuple(m)
        if any(type(m[k]) is not str for k in keys):
            return None
        out.append((role, keys))
    switches = []
    for name, value in context.items():
        if name != "messages":
            if type(value) not in SCALARS:
                return None
            switches.append((name, type(value), value))
    return tuple(out), tuple(switches)


class Replays:
    """Programs traced from one environment's renders, by template text and shape; thread-safe."""

    def __init__(self, plain: jinja2.Environment) -> None:
        self._plain = plain
        self._env: jinja2.Environment | None = None
        self._lock = threading.Lock()
        #: (template, shape) -> (its programs, how many traces of it failed)
        self._programs: OrderedDict[tuple[str, Any], tuple[tuple[Program, ...], int]] = OrderedDict()
        self._templates: dict[str, jinja2.Template | None] = {}
        #: template -> [traces, replays, renders learnt from]
        self._paid: dict[str, list[int]] = {}

    def replay(self, text: str, context: Mapping[str, Any]) -> tuple[Any, str | None]:
        """(the shape's key or None, the replayed render or None)."""
        key = shape(context)
        if key is None:
            return None, None
        with self._lock:
            kept = self._programs.get((text, key))
        if not kept:
            return key, None
        messages = context["messages"]
        for program in kept[0]:
            out = program.run(messages)
            if out is not None:
                self._paid[text][1] += 1  # a count for a heuristic: a lost increment does no harm
                return key, out
        return key, None

    def learn(self, text: str, key: Any, context: Mapping[str, Any], rendered: str) -> None:
        """Trace a render of `context` (which rendered as `rendered`) and keep its program for the shape."""
        with self._lock:
            programs, failed = self._programs.get((text, key), ((), 0))
            paid = self._paid.setdefault(text, [0, 0, 0])
            paid[2] += 1
            if paid[2] <= WARMUP or len(programs) + failed >= VARIANTS or (failed and not programs) or \
                    (paid[0] >= TRIAL and paid[1] < PAYBACK * paid[0]):
                return
            paid[0] += 1
        program = self._trace(text, context)
        if program is not None and program.run(context["messages"]) != rendered:
            program = None
        with self._lock:
            programs, failed = self._programs.get((text, key), ((), 0))
            self._programs[(text, key)] = (programs, failed + 1) if program is None else ((*programs, program), failed)
            self._programs.move_to_end((text, key))
            while len(self._programs) > _SHAPES:
                self._programs.popitem(last=False)

    def _trace(self, text: str, context: Mapping[str, Any]) -> Program | None:
        template = self._compiled(text)
        if template is None:
            return None
        tracer = Tracer()
        messages = [{k: v if k == "role" else tracer.input(v, (i, k)) for k, v in m.items()}
                    for i, m in enumerate(context["messages"])]
        token = _TRACER.set(tracer)
        try:
            return tracer.program(list(template.generate(**{**context, "messages": messages})))
        except (Abort, Exception):  # noqa: BLE001 - not traceable; the plain render reports real errors
            return None
        finally:
            _TRACER.reset(token)

    def _compiled(self, text: str) -> jinja2.Template | None:
        with self._lock:
            if text in self._templates:
                return self._templates[text]
        if self._env is None:
            self._env = trace_environment(self._plain)
        try:
            template: jinja2.Template | None = self._env.from_string(text)
        except Exception:  # noqa: BLE001 - the plain environment compiled it; this one need not
            template = None
        with self._lock:
            if len(self._templates) >= 64:
                self._templates.clear()
            self._templates[text] = template
        return template
