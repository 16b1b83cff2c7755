"""Pattern rules: a regex or literal condition on a field of messages of some roles, no Python needed."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Iterator, Mapping

from thinklint.context import Check, Context
from thinklint.model import Sample, Violation
from thinklint.think import reasoning_of


@lru_cache(maxsize=256)
def _compile(regex: str | None, contains: tuple[str, ...], open_: str, close: str, ignore_case: bool) -> re.Pattern[str]:
    flags = re.IGNORECASE if ignore_case else 0
    if regex is not None:
        expanded = regex.replace("{open}", re.escape(open_)).replace("{close}", re.escape(close))
        return re.compile(expanded, flags)
    literals = [c.replace("{open}", open_).replace("{close}", close) for c in contains]
    return re.compile("|".join(re.escape(lit) for lit in literals if lit), flags)


def _sre() -> tuple[Any, Any]:
    """Python's regex parser and its opcodes (re._parser from 3.11, sre_parse before)."""
    try:
        from re import _constants, _parser  # type: ignore[attr-defined]
    except ImportError:  # pragma: no cover - Python 3.10
        import sre_constants as _constants
        import sre_parse as _parser
    return _parser, _constants


def nested_repeat(regex: str) -> bool:
    """Whether an unbounded repeat holds nothing but another unbounded repeat: `(a+)+`, `(?:x*)*`.

    Python's re backtracks exponentially on those (a spec could make every run hang on one
    sample), and has no time limit to stop it. Only this textbook shape is refused: repeats with
    more in them, such as `(\\s*,\\s*)*`, are fine and common.
    """
    parser, sre = _sre()
    repeats = (sre.MAX_REPEAT, sre.MIN_REPEAT, getattr(sre, "POSSESSIVE_REPEAT", sre.MAX_REPEAT))

    def body(items: Any) -> Any:
        """Unwrap groups around a single element."""
        while len(items) == 1 and items[0][0] == sre.SUBPATTERN:
            items = items[0][1][-1]
        return items

    stack = [parser.parse(regex)]
    while stack:
        for op, av in stack.pop():
            if op in repeats:
                inner = body(av[2])
                if av[1] == sre.MAXREPEAT and len(inner) == 1 and inner[0][0] in repeats \
                        and inner[0][1][1] == sre.MAXREPEAT:
                    return True
                stack.append(av[2])
            elif op == sre.SUBPATTERN:
                stack.append(av[-1])
            elif op == sre.BRANCH:
                stack.extend(av[1])
            elif op in (sre.ASSERT, sre.ASSERT_NOT):
                stack.append(av[1])
    return False


def pattern_problem(pattern: Mapping[str, Any]) -> tuple[str, str] | None:
    """(key, message) for a pattern that would fail on the first sample it sees, else None.

    Checked when the rule is loaded, so that a bad regex or message template is a spec error
    (exit 2 with its line) and not a crash inside the run.
    """
    regex = pattern.get("regex")
    if regex is not None:
        try:
            _compile(regex, (), "<open>", "</close>", bool(pattern.get("ignore_case")))
        except re.error as exc:
            return "regex", f"invalid regular expression: {exc}"
        if nested_repeat(regex):
            return "regex", ("a repeat of a repeat, such as (a+)+, can take exponential time on one sample; "
                             "write it without the outer repeat")
    try:
        pattern["message"].format(role="assistant", turn=1, match="")
    except (KeyError, IndexError, ValueError, AttributeError) as exc:
        reason = f"unknown placeholder {{{exc.args[0]}}}" if isinstance(exc, KeyError) else str(exc)
        return "message", f"{reason}; a message may use {{role}}, {{turn}} and {{match}} (write {{{{ for a brace)"
    return None


def pattern_check(pattern: Mapping[str, Any]) -> Check:
    roles = frozenset(pattern["roles"])
    field = pattern.get("field", "content")
    which = pattern.get("turns", "all")
    uses_markers = "{open}" in str(pattern.get("regex", "")) + str(pattern.get("contains", ""))

    def run(sample: Sample, ctx: Context, opts: Mapping[str, Any]) -> Iterator[Violation]:
        profile = ctx.profile
        if uses_markers and not profile.has_markers:
            return
        rx = _compile(pattern.get("regex"), tuple(pattern.get("contains", ())), profile.open or "",
                      profile.close or "", bool(pattern.get("ignore_case")))
        candidates = [(i + 1, m) for i, m in enumerate(sample.messages) if m.role in roles]
        if which == "last":
            candidates = candidates[-1:]
        elif which == "not_last":
            candidates = candidates[:-1]
        for turn, m in candidates:
            if field == "reasoning":  # as the template finds it: the reasoning field, else the inline block
                r = reasoning_of(m, profile)
                text = r.text if r.has_block else None
            else:
                text = m.field_text(field)
            if text is None:
                continue
            hit = rx.search(text)
            if bool(hit) != bool(pattern.get("negate")):
                match = hit.group(0) if hit else ""
                yield Violation(pattern["message"].format(role=m.role, turn=turn, match=match), turn)

    return Check(sample=run)
