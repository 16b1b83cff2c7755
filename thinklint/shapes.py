"""Sample shapes: what the structural rules can see of a sample, so that a clean shape is checked once.

The structural rules (FMT, THK, MOD) ask a conversation few questions: its roles and keys, where the
think markers are, whether a switch, a marker or something like one occurs, and what whitespace lies
at the edges of the text between markers (the canonical form, an empty answer, an empty block). The
rest of a text, its words, is never read. A sample's *shape* is the answer to exactly those
questions: the roles and keys of its messages and, for each text, the whitespace at the edges of its
segments, or no shape at all when a text holds anything a rule looks for beyond the family's own
markers in their place (any other '<' or '&' in an assistant text, a marker or a switch elsewhere).

Two samples of one shape get the same findings from those rules and the same thinking mode, so
the first sample of a shape is checked in full and, when it was clean, the later ones are counted
as clean with its mode: they are never normalised, which is most of a structural run's work. A
sample with no shape, or of a shape that had findings, is checked in full as always. The claim is
tested: hypothesis varies the words of generated samples (of every builtin family, under the
specs that change what rules look at) and checks that the findings stay what the first gave.

It holds only for the rules audited for it (`COVERED`) and for families whose markers all start
with '<' (so that one character finds every marker, near miss and foreign marker); anything else
(custom or plugin rules, plain-text markers, pre-rendered text and tokenized data) has no shapes.
"""

from __future__ import annotations

from typing import Any, Hashable, Mapping

from thinklint.checks.foreign import control_tokens, family_markers
from thinklint.checks.rendering import lf_thought_words
from thinklint.checks.trainer import THINKING_SWITCHES
from thinklint.context import Context
from thinklint.readers.files import MAX_DEPTH, too_deep
from thinklint.readers.formats import OPTIONAL_COLUMNS, SHAREGPT_TAGS, columns_for
from thinklint.selection import ActiveRule, Selection

#: the rules whose findings depend on a sample only through its shape (each audited for it); a new
#: structural rule is not here until it is (a test lists the structural rules missing)
COVERED = frozenset({
    "FMT001", "FMT002", "FMT003", "FMT004", "FMT005", "FMT006", "FMT007", "FMT008", "FMT009", "FMT010",
    "FMT011", "FMT012", "FMT013", "FMT014",
    "THK001", "THK002", "THK003", "THK004", "THK005", "THK006", "THK007", "THK008", "THK009", "THK010",
    "THK011", "THK012", "THK013", "THK014",
    "MOD001", "MOD002", "MOD003", "MOD004", "MOD005", "MOD006", "MOD007", "MOD008", "MOD009", "MOD010",
    "MOD011",
})
#: longer whitespace at a text's edge gives no shape (keys stay small; such samples are rare)
_EDGE = 32


def _edges(text: str, start: int = 0, end: int | None = None) -> Hashable:
    """The whitespace at the edges of `text[start:end]`, the only part of it (beyond markers) a rule
    reads: 0 empty, 1 no whitespace at either edge, ('w', text) all whitespace, (lead, trail) else.
    Measured in place: a reasoning text is not copied to learn that it starts with a newline."""
    if end is None:
        end = len(text)
    if start >= end:
        return 0
    if not (text[start].isspace() or text[end - 1].isspace()):
        return 1
    i, stop = start, min(end, start + _EDGE + 1)
    while i < stop and text[i].isspace():
        i += 1
    if i == end:
        return ("w", text[start:end])
    j, stop = end, max(i, end - _EDGE - 1)
    while j > stop and text[j - 1].isspace():
        j -= 1
    if i - start > _EDGE or end - j > _EDGE:
        return None
    return text[start:i], text[j:end]


class Shapes:
    """The shapes of one dataset's samples under one run's configuration, and what the first sample
    of each shape gave; build one per file with `Shapes.build` (None: no shapes here)."""

    def __init__(self, ctx: Context) -> None:
        p = ctx.profile
        self._memo: dict[Hashable, int | None] = {}
        self.format = ctx.dataset.format
        self.cols = columns_for(ctx.dataset)
        self.messages_col = self.cols.get("messages")
        self.system_col = self.cols.get("system")
        self.tools_col = self.cols.get("tools")
        #: alpaca's columns (LLaMA-Factory joins prompt and query with a newline into the user turn)
        self.prompt_col, self.query_col = self.cols.get("prompt"), self.cols.get("query")
        self.response_col, self.history_col = self.cols.get("response"), self.cols.get("history")
        tags = {**SHAREGPT_TAGS, **ctx.dataset.tags}
        self.role_key, self.content_key = tags["role_tag"], tags["content_tag"]
        #: sharegpt tag -> role (the function tag is an assistant turn with a `function_call` mark)
        self.tags = {tags["user_tag"]: "user", tags["assistant_tag"]: "assistant", tags["observation_tag"]: "tool",
                     tags["function_tag"]: "assistant", tags["system_tag"]: "system"}
        #: columns whose presence, unmapped, is a finding (FMT011)
        self.unmapped = tuple(c for c in OPTIONAL_COLUMNS.get(self.format, ()) if c not in self.cols)
        # outside assistant turns, rules look for the family's markers and its switches, nothing else
        switches = [v for v in p.text_switches.values() if isinstance(v, str) and v]
        for mode in (p.thinking, p.non_thinking):
            if mode is not None:
                switches += [s for s in (mode.system_text, mode.user_suffix) if s]
        markers = [mk for mk in (p.open, p.close, p.answer_open, p.answer_close) if mk]
        self.prompt_triggers = tuple(dict.fromkeys([*markers, *switches]))
        self.system_triggers = (*self.prompt_triggers, *THINKING_SWITCHES)
        # an assistant text may hold the family's own block, and no other '<' or '&' (markers with
        # one '<' each, at their start: every builtin tag family's)
        self.open, self.close = p.open or "", p.close or ""
        self.blocks = p.style == "tags" and p.inline_markers and all(
            mk.startswith("<") and mk.count("<") == 1 for mk in (self.open, self.close))
        #: the selected rules shapes stand for, and the others (token rules), which still run
        self.covered: tuple[ActiveRule, ...] = ()
        self.rest: tuple[ActiveRule, ...] = ()

    @classmethod
    def build(cls, ctx: Context, selection: Selection) -> Shapes | None:
        """Shapes for this dataset and run, or None when the claim is not known to hold here."""
        if ctx.dataset.format not in ("openai", "sharegpt", "alpaca"):
            return None
        if any(a.rule.code not in COVERED or a.rule.origin != "builtin"
               for a in selection.rules if not a.rule.needs_tokenizer):
            return None
        if not _markers_start_with_lt(ctx):
            return None
        shapes = cls(ctx)
        shapes.covered = tuple(a for a in selection.rules if not a.rule.needs_tokenizer)
        shapes.rest = tuple(a for a in selection.rules if a.rule.needs_tokenizer)
        return shapes

    # -- records ----------------------------------------------------------------------------------
    def key(self, value: Any) -> Hashable:
        """The shape of a decoded record, None when it has none (it is then checked in full)."""
        if type(value) is not dict:
            return None
        if self.format == "alpaca":
            return self._alpaca(value)
        messages = value.get(self.messages_col) if self.messages_col else None
        if type(messages) is not list:
            return None
        top = self._columns(value, (self.messages_col,))
        turns = self._openai(messages) if self.format == "openai" else self._sharegpt(messages)
        return None if top is None or turns is None else (top, turns)

    def _columns(self, value: dict[str, Any], skip: tuple[str | None, ...]) -> Hashable:
        """The shape of the columns besides the conversation's own (`skip`)."""
        top: list[Hashable] = []
        for col, v in value.items():
            if col in skip:
                continue
            if col == self.system_col:
                if not v and self.format == "alpaca":
                    top.append((col, type(v).__name__))  # alpaca reads a system column only when set
                    continue
                system = self.prompt(v, self.system_triggers) if type(v) is str else None
                if system is None:
                    return None
                top.append(("system", system))
            elif col == self.tools_col or col in self.unmapped:
                if v not in (None, "", []):
                    return None  # tools are rendered (and MOD009 reads them); an unmapped one is FMT011
                top.append((col, type(v).__name__))
            elif type(v) in (dict, list) and v and too_deep(v, MAX_DEPTH - 1):
                return None  # reported as nested too deeply (the shape walks every other container)
            else:
                top.append(col)  # no normaliser reads it: only its presence is kept, to be safe
        return tuple(top)

    def _alpaca(self, value: dict[str, Any]) -> Hashable:
        """LLaMA-Factory's alpaca: history pairs, then prompt and query joined, then the response."""
        prompt = value.get(self.prompt_col) if self.prompt_col else None
        response = value.get(self.response_col) if self.response_col else None
        query = value.get(self.query_col) if self.query_col else None
        if type(prompt) is not str or type(response) is not str or not (query is None or type(query) is str):
            return None  # a missing or mistyped column is a finding
        turns: list[Hashable] = []
        history = value.get(self.history_col) if self.history_col else None
        if history:
            if type(history) is not list:
                return None
            for pair in history:
                if type(pair) not in (list, tuple) or len(pair) != 2 or type(pair[0]) is not str \
                        or type(pair[1]) is not str:
                    return None
                turns += [self.prompt(pair[0], self.prompt_triggers), self.assistant(pair[1])]
        user = "\n".join(part for part in (prompt, query) if part)
        turns += [self.prompt(user, self.prompt_triggers), self.assistant(response)]
        top = self._columns(value, (self.prompt_col, self.query_col, self.response_col, self.history_col))
        if top is None or None in turns:
            return None
        return top, bool(history), tuple(turns)

    def _openai(self, messages: list[Any]) -> Hashable:
        out: list[Hashable] = []
        for m in messages:
            if type(m) is not dict:
                return None
            role = m.get("role")
            content = m.get("content")
            if type(content) is not str:
                return None
            if role == "assistant":
                text = self.assistant(content)
            elif role == "user" or role == "tool":
                text = self.prompt(content, self.prompt_triggers)
            elif role == "system":
                text = self.prompt(content, self.system_triggers)
            else:
                return None  # an unknown role (FMT005), or one that is not a string
            turn = self._turn(m, role, text, "role", "content")
            if turn is None:
                return None
            out.append(turn)
        return tuple(out)

    def _turn(self, m: dict[str, Any], role: str, text: Hashable, role_key: str, content_key: str) -> Hashable:
        """A turn's shape: its role, its text's, and those of its other keys (None: the turn has none)."""
        if text is None:
            return None
        if len(m) <= 2:
            return (role, text)
        extras = self.extras(m, role_key, content_key)
        return None if extras is None else (role, text, extras)

    def _sharegpt(self, messages: list[Any]) -> Hashable:
        out: list[Hashable] = []
        for m in messages:
            if type(m) is not dict:
                return None
            tag = m.get(self.role_key)
            content = m.get(self.content_key)
            if type(tag) is not str or tag not in self.tags or type(content) is not str:
                return None
            turn = self._turn(m, tag, self.text(self.tags[tag], content), self.role_key, self.content_key)
            if turn is None:
                return None
            out.append(turn)
        return tuple(out)

    def extras(self, m: Mapping[str, Any], *skip: str) -> Hashable:
        out = tuple((k, self.extra(v)) for k, v in m.items() if k not in skip)
        return None if any(e is None for _, e in out) else out

    # -- texts ------------------------------------------------------------------------------------
    def text(self, role: str, text: str) -> Hashable:
        if role == "assistant":
            return self.assistant(text)
        return self.prompt(text, self.system_triggers if role == "system" else self.prompt_triggers)

    def prompt(self, text: str, triggers: tuple[str, ...]) -> Hashable:
        for t in triggers:
            if t in text:
                return None
        return _edges(text)

    def assistant(self, text: str) -> Hashable:
        if "&" in text:
            return None
        o = text.find("<")
        if o < 0:
            edges = _edges(text)
            return None if edges is None else ("p", edges)
        # the family's opener at the first '<', its closer at the next, and no '<' after that: one
        # pass over the text (a reasoning is most of a sample's bytes)
        if not self.blocks or not text.startswith(self.open, o):
            return None
        inner = o + len(self.open)
        c = text.find("<", inner)
        if c < 0 or not text.startswith(self.close, c) or text.find("<", c + 1) >= 0:
            return None
        pre, mid, post = _edges(text, 0, o), _edges(text, inner, c), _edges(text, c + len(self.close))
        if pre is None or mid is None or post is None:
            return None
        return ("b", pre, mid, post)

    @staticmethod
    def extra(value: Any) -> Hashable:
        """A message's other field: strings by their edges (reasoning fields are read like content),
        scalars by value, empty containers by type; anything else gives no shape."""
        if isinstance(value, str):
            if "<" in value or "&" in value:
                return None
            edges = _edges(value)
            return None if edges is None else ("s", edges)
        if value is None or isinstance(value, (bool, int, float)):
            return ("v", type(value).__name__, value)
        if isinstance(value, (list, dict)) and not value:
            return ("e", type(value).__name__)
        return None

    # -- the memo ---------------------------------------------------------------------------------
    def known(self, key: Hashable) -> Any:
        """The thinking code (1, 0 or None) of a clean shape, or `MISSING` when none is known clean."""
        return self._memo.get(key, MISSING)

    def learn(self, key: Hashable, thinking: int | None) -> None:
        if len(self._memo) < MAX_SHAPES:  # memory stays flat however many shapes a file has
            self._memo[key] = thinking


MISSING = object()
#: clean shapes remembered per file (real data has tens to hundreds; later ones are checked in full)
MAX_SHAPES = 4096


def _markers_start_with_lt(ctx: Context) -> bool:
    """Every marker-like string a rule searches assistant texts for starts with '<', and none of them
    extends the family's own markers (whether it matched would depend on the words after them)."""
    p = ctx.profile
    if p.style not in ("tags", "channels", "none"):
        return False
    own = [mk for mk in (p.open, p.close) if mk]
    searched = [mk for mk, _ in family_markers()]
    searched += [mk for mk in (p.open, p.close, p.answer_open, p.answer_close) if mk]
    searched += list(control_tokens(p))
    training = ctx.spec.training
    words = lf_thought_words(training.template) if training.framework == "llamafactory" else None
    if words is not None:
        searched += [w.strip() for w in words[1:] if w.strip()]
    for mk in searched:
        if not mk.startswith("<") or any(mk != o and mk.startswith(o) for o in own):
            return False
    return all("<" in mk for mk in own)
