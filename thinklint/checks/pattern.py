"""Pattern rules: a regex or literal condition on a field of messages of some roles, no Python needed."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Mapping

from thinklint.context import Check, Context
from thinklint.model import Sample, Violation
from thinklint.think import reasoning_of
from thinklint.yamlsrc import SourceError

if TYPE_CHECKING:
    from thinklint.profiles import Profile


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


def pattern_problem(pattern: Mapping[str, Any], profiles: Iterable[Profile] | None = None) -> tuple[str, str] | None:
    """(key, message) for a pattern that would fail on the first sample it sees, else None.

    Checked when the rule is loaded, so that a bad regex or message template is a spec error
    (exit 2 with its line) and not a crash inside the run. Rules are loaded before the profile is
    known (and `auto` detects it later still), so a regex is compiled with the markers of every
    profile in `profiles` (default: the builtin ones) it could run with.
    """
    regex = pattern.get("regex")
    if regex is not None:
        problem = _regex_problem(regex, _spellings(pattern, profiles), bool(pattern.get("ignore_case")))
        if problem:
            return "regex", problem
    problem = _message_problem(pattern)
    return ("message", problem) if problem else None


def _uses_markers(pattern: Mapping[str, Any]) -> bool:
    written = str(pattern.get("regex", "")) + str(pattern.get("contains", ""))
    return "{open}" in written or "{close}" in written


def _spellings(pattern: Mapping[str, Any], profiles: Iterable[Profile] | None) -> list[tuple[str, str, str]]:
    """(open, close, a profile spelling them so) for each marker spelling the pattern can run with,
    the most common first (a message names the spelling its reader most likely uses)."""
    if not _uses_markers(pattern):
        return [("", "", "")]  # the markers are never substituted: any spelling compiles alike
    if profiles is None:
        from thinklint.profiles import builtin_profiles

        profiles = builtin_profiles().values()
    users: dict[tuple[str, str], list[str]] = {}
    for prof in profiles:
        if prof.has_markers:  # a profile without markers never runs a pattern that uses them
            users.setdefault((prof.open or "", prof.close or ""), []).append(prof.name)
    ranked = sorted(users.items(), key=lambda kv: -len(kv[1]))
    return [(o, c, names[0]) for (o, c), names in ranked]


def _regex_problem(regex: str, spellings: Iterable[tuple[str, str, str]], ignore_case: bool) -> str | None:
    expanded = None
    for open_, close, name in spellings:
        try:
            expanded = _compile(regex, (), open_, close, ignore_case).pattern
        except (re.error, RecursionError, OverflowError) as exc:
            reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
            if not name:
                return f"invalid regular expression: {reason}"
            return (f"invalid regular expression with {name}'s markers {open_!r}/{close!r} as {{open}}/{{close}}: "
                    f"{reason} (a rule must compile with the markers of every profile)")
    # the shape is the same whatever the markers, but only an expanded regex parses as it will run
    # (`[{open}-z]` is a bad range as written); with no spelling at all, the rule never runs
    if expanded is not None and nested_repeat(expanded):
        return ("a repeat of a repeat, such as (a+)+, can take exponential time on one sample; "
                "write it without the outer repeat")
    return None


#: what {match} may be: empty (a regex that matches nothing, or a negated rule) or text of a sample,
#: which a format spec cannot take: `{turn:{match}}` is a format spec made of the sample's text
_MATCHES = ("", "hello world")


def _message_problem(pattern: Mapping[str, Any]) -> str | None:
    """Why the message cannot be formatted with every role, a turn and a match it will be given."""
    matches = _MATCHES[:1] if pattern.get("negate") else _MATCHES  # a negated rule fires on no match
    for role in pattern.get("roles") or ("assistant",):
        for match in matches:
            try:
                pattern["message"].format(role=role, turn=12, match=match)
            except (KeyError, IndexError, ValueError, AttributeError, TypeError) as exc:
                reason = f"unknown placeholder {{{exc.args[0]}}}" if isinstance(exc, KeyError) else str(exc)
                if match:  # the value in the reason is ours: say where it came from
                    reason += f" (with {{match}} as {match!r}, as a sample's text could be)"
                return f"{reason}; a message may use {{role}}, {{turn}} and {{match}} (write {{{{ for a brace)"
    return None


def pattern_check(pattern: Mapping[str, Any]) -> Check:
    roles = frozenset(pattern["roles"])
    field = pattern.get("field", "content")
    which = pattern.get("turns", "all")
    uses_markers = _uses_markers(pattern)

    def run(sample: Sample, ctx: Context, opts: Mapping[str, Any]) -> Iterator[Violation]:
        profile = ctx.profile
        if uses_markers and not profile.has_markers:
            return
        rx = _compiled(pattern, ctx)
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
                yield Violation(_message(pattern, ctx, role=m.role, turn=turn, match=match), turn)

    return Check(sample=run)


def _compiled(pattern: Mapping[str, Any], ctx: Context) -> re.Pattern[str]:
    """The pattern with the run's markers. Loading checked the builtin profiles' markers only: a
    profile of the user's own may still break the regex, which is then the spec's error, not a
    crash on every sample."""
    profile = ctx.profile
    try:
        return _compile(pattern.get("regex"), tuple(pattern.get("contains", ())), profile.open or "",
                        profile.close or "", bool(pattern.get("ignore_case")))
    except (re.error, RecursionError, OverflowError) as exc:
        raise _spec_error(ctx, pattern, "regex", f"invalid regular expression with {profile.name}'s markers "
                                                 f"{profile.open!r}/{profile.close!r} as {{open}}/{{close}}: "
                                                 f"{exc}") from None


def _message(pattern: Mapping[str, Any], ctx: Context, **values: Any) -> str:
    try:
        return str(pattern["message"].format(**values))
    except (KeyError, IndexError, ValueError, AttributeError, TypeError) as exc:  # loading tried likely values only
        match = str(values.get("match"))
        shown = repr(match if len(match) <= 60 else match[:57] + "...")  # a sample's text, maybe long
        raise _spec_error(ctx, pattern, "message", f"cannot be formatted with {{match}} as {shown}: {exc}") from None


def _spec_error(ctx: Context, pattern: Mapping[str, Any], key: str, message: str) -> SourceError:
    """A SourceError at the rule's key in the spec when the rule is one of its custom ones (the engine
    stops the run on it: every sample would fail alike)."""
    spec = ctx.spec
    for i, data in enumerate(spec.rules.custom):
        if data.get("pattern") == pattern:
            where = ("rules", "custom", i, "pattern", key)
            return SourceError(spec.display, spec.located.line_of(where) if spec.located else None,
                               f"rules.custom[{i}].pattern.{key}", message)
    return SourceError(spec.display, None, f"pattern.{key}", message)
