"""A render's texts under trace: `Traced` strings write each method call down as a step of a `Program`.

See `thinklint.jinja_replay`, which traces vetted templates' renders and replays them by shape.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jinja2


class Abort(BaseException):
    """A text was read in a way the trace cannot replay (a BaseException: no template code catches it)."""


SCALARS = (str, bool, int, float, type(None))
#: a step's outcome that is not checked
_FREE = object()
#: (function, arguments as (is a step's index, value), expected outcome or _FREE)
Step = tuple[Callable[..., Any], tuple[tuple[bool, Any], ...], Any]


class Tracer:
    def __init__(self) -> None:
        self.steps: list[Step] = []

    def input(self, value: str, where: tuple[int, str]) -> Traced:
        return self._new(value, (_input, ((False, where),), _FREE))

    def _new(self, value: str, step: Step) -> Traced:
        self.steps.append(step)
        out = Traced(value)
        out.tracer, out.step = self, len(self.steps) - 1
        return out

    def apply(self, fn: Callable[..., Any], args: Sequence[Any]) -> Any:
        """`fn(*args)` on the texts' values, written down as a step (a guard unless it makes a string)."""
        spec = tuple(_arg(a, self) for a in args)
        try:
            value = fn(*(str.__str__(a) if isinstance(a, Traced) else a for a in args))
        except Exception:  # noqa: BLE001 - jinja takes some errors for undefined values: not replayable
            raise Abort from None
        if type(value) is str:
            return self._new(value, (fn, spec, _FREE))
        if type(value) in (bool, int) or value is None:
            self.steps.append((fn, spec, value))
            return value
        if type(value) in (list, tuple) and all(type(v) is str for v in value):  # split, partition and kin
            self.steps.append((fn, spec, _FREE))
            whole = (True, len(self.steps) - 1)
            self.steps.append((len, (whole,), len(value)))
            return [self._new(v, (operator.getitem, (whole, (False, i)), _FREE)) for i, v in enumerate(value)]
        raise Abort

    def program(self, chunks: Sequence[Any]) -> Program:
        """The program of a render that yielded `chunks` (its texts printed as they are, see `Traced.__str__`)."""
        literals: list[str] = []
        refs: list[int] = []
        run: list[str] = []
        for chunk in chunks:
            if isinstance(chunk, Traced):
                if chunk.tracer is not self:
                    raise Abort
                literals.append("".join(run))
                refs.append(chunk.step)
                run = []
            else:
                run.append(chunk)
        literals.append("".join(run))
        return Program(tuple(self.steps), tuple(literals), tuple(refs))


def _input(where: tuple[int, str]) -> str:
    raise AssertionError("a program's inputs are read, not called")  # a tag, compiled away by Program


def _arg(value: Any, tracer: Tracer) -> tuple[bool, Any]:
    if isinstance(value, Traced):
        if value.tracer is not tracer:
            raise Abort
        return True, value.step
    if not _constant(value):  # kept in the program: a list the template changes later would change it
        raise Abort
    return False, value


def _constant(value: Any) -> bool:
    if type(value) is tuple:
        return all(_constant(v) for v in value)
    if type(value) is slice:
        return all(_constant(v) for v in (value.start, value.stop, value.step))
    return type(value) in SCALARS


def holds_text(value: Any, depth: int = 0) -> bool:
    if isinstance(value, Traced):
        return True
    if depth > 16:
        return True  # too deep to be sure: count it as holding one
    if isinstance(value, Mapping):
        return any(holds_text(k, depth + 1) or holds_text(v, depth + 1) for k, v in value.items())
    if isinstance(value, (list, tuple, set, frozenset)):
        return any(holds_text(v, depth + 1) for v in value)
    if isinstance(value, jinja2.utils.Namespace):
        return holds_text(object.__getattribute__(value, "_Namespace__attrs"), depth + 1)
    return False


class Program:
    """What a trace wrote down (steps, the output's literal pieces, and the step printed between each two),
    as `run`: the steps compiled into one Python function (a straight line of calls and checks), which
    replays in a few microseconds what jinja renders in tens. The source holds only step indices: every
    function, argument and expected outcome is a constant of the function's namespace, never text."""

    def __init__(self, steps: tuple[Step, ...], literals: tuple[str, ...], refs: tuple[int, ...]) -> None:
        consts: dict[str, Any] = {}
        lines = ["def run(messages):", "    try:"]
        for i, (fn, spec, expected) in enumerate(steps):
            if fn is _input:
                consts[f"k{i}"] = spec[0][1][1]
                lines.append(f"        v{i} = messages[{int(spec[0][1][0])}][k{i}]")
            else:
                args = []
                for j, (ref, value) in enumerate(spec):
                    if ref:
                        args.append(f"v{int(value)}")
                    else:
                        consts[f"a{i}_{j}"] = value
                        args.append(f"a{i}_{j}")
                consts[f"f{i}"] = fn
                lines.append(f"        v{i} = f{i}({', '.join(args)})")
            if expected is not _FREE:
                consts[f"e{i}"], consts[f"t{i}"] = expected, type(expected)
                lines.append(f"        if v{i} != e{i} or type(v{i}) is not t{i}: return None")
        consts["literals"] = literals
        parts = ["literals[0]"]
        for n, printed in enumerate(refs, 1):
            parts += [f"v{int(printed)}", f"literals[{n}]"]
        lines += ["    except Exception:", "        return None",
                  f"    return ''.join(({', '.join(parts)},))"]
        exec(compile("\n".join(lines), "<thinklint replay>", "exec"), consts)  # noqa: S102 - see the docstring
        self.run: Callable[[Sequence[Mapping[str, Any]]], str | None] = consts["run"]


def abort(*_: Any, **__: Any) -> Any:
    raise Abort


def _traced_op(fn: Callable[..., Any], reflected: bool = False) -> Callable[..., Any]:
    def method(self: Traced, *args: Any) -> Any:
        return self.tracer.apply(fn, (args[0], self) if reflected else (self, *args))
    return method


class Traced(str):
    """A message text under trace: its methods and operators are steps of the tracer's program."""

    tracer: Tracer
    step: int

    def __eq__(self, other: object) -> Any:
        if not isinstance(other, str):
            raise Abort
        return self.tracer.apply(operator.eq, (self, other))

    def __ne__(self, other: object) -> Any:
        if not isinstance(other, str):
            raise Abort
        return self.tracer.apply(operator.ne, (self, other))

    def __bool__(self) -> bool:
        return bool(self.tracer.apply(_nonempty, (self,)))

    def __str__(self) -> str:
        # jinja prints a value as str(value), and joins what a macro or a block prints with
        # `environment.concat`: both keep the text traced (str() may return a str subclass). What would
        # read it raw after str() ('%s' % (text,), str.format, "".join) is a call or operator that aborts
        return self

    __hash__ = __iter__ = __repr__ = __format__ = __mod__ = __rmod__ = abort
    __reduce__ = __reduce_ex__ = __getnewargs__ = encode = format_map = translate = abort


_STR_METHODS = [
    "capitalize", "casefold", "center", "count", "endswith", "expandtabs", "find", "format", "index", "isalnum",
    "isalpha", "isascii", "isdecimal", "isdigit", "isidentifier", "islower", "isnumeric", "isprintable",
    "isspace", "istitle", "isupper", "join", "ljust", "lower", "lstrip", "partition", "removeprefix",
    "removesuffix", "replace", "rfind", "rindex", "rjust", "rpartition", "rsplit", "rstrip", "split",
    "splitlines", "startswith", "strip", "swapcase", "title", "upper", "zfill", "__add__", "__mul__",
    "__rmul__", "__getitem__", "__len__", "__contains__", "__lt__", "__le__", "__gt__", "__ge__",
]
for _name in _STR_METHODS:
    setattr(Traced, _name, _traced_op(getattr(str, _name)))
Traced.__radd__ = _traced_op(operator.add, reflected=True)  # type: ignore[attr-defined]


def _nonempty(text: str) -> bool:
    return text != ""


def _joined(*parts: str) -> str:
    return "".join(parts)


def _within(item: Any, container: Any) -> bool:
    return bool(item in container)


def contains(container: Any, item: Any) -> Any:
    """``item in container`` as a template writes it: a str container reads a traced item's text raw."""
    if isinstance(item, Traced) and not isinstance(container, Traced):
        if isinstance(container, str):
            return item.tracer.apply(_within, (item, container))
        if not isinstance(container, (list, tuple)):  # lists compare item by item (traced); dicts hash
            raise Abort
    return item in container


def concat(parts: tuple[Any, ...]) -> Any:
    """``a ~ b``: jinja's str_join, with traced parts joined as a step."""
    texts = [p for p in parts if isinstance(p, Traced)]
    if not texts:
        return "".join(str(p) for p in parts)
    return texts[0].tracer.apply(_joined, tuple(p if isinstance(p, Traced) else str(p) for p in parts))
