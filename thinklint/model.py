"""The internal conversation model every reader produces and every rule consumes.

Readers turn bytes into `Sample`s; rules turn a `Sample` and a context into `Violation`s;
the engine stamps each violation with its rule, severity and location into a `Finding`.
All of these are immutable so that rules stay pure and results can cross process boundaries.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Mapping

Severity = Literal["error", "warning", "info"]
SEVERITIES: tuple[Severity, ...] = ("error", "warning", "info")

#: category name by rule-code prefix (design note, section 3)
CATEGORIES: Mapping[str, str] = {
    "FMT": "format",
    "THK": "think-placement",
    "MOD": "mode",
    "MSK": "mask",
    "TPL": "template",
    "TRN": "truncation",
}
#: categories whose rules need a tokenizer
TOKEN_CATEGORIES = frozenset({"mask", "template", "truncation"})

ROLES = ("system", "user", "assistant", "tool")


@dataclass(frozen=True)
class Location:
    """Where a sample lives: `path` as displayed, 1-based JSONL `line` (None elsewhere), 0-based `index`."""

    path: str
    line: int | None
    index: int | None


@dataclass(frozen=True)
class Message:
    """One normalised turn.

    `content` is the text exactly as in the data (inline think blocks included); `extra` keeps every
    other key of the source message (``reasoning_content``, ``thinking``, ``tool_calls``, ...), so
    that rules can tell which field the reasoning sits under and fixes can write it back.
    `source` is the JSON path of this message in the record, for messages and fixes.
    `span` is set for turns read out of a pre-rendered `text` sample: the (start, end) offsets of
    `content` in the string at `source`, so that a fix can splice its repair back into the text.
    """

    role: str
    content: str
    extra: Mapping[str, Any] = field(default_factory=dict)
    source: tuple[str | int, ...] = ()
    span: tuple[int, int] | None = None

    def field_text(self, key: str) -> str | None:
        """The value of a string field, None when absent or not a string."""
        if key == "content":
            return self.content
        value = self.extra.get(key)
        return value if isinstance(value, str) else None


@dataclass(frozen=True)
class Problem:
    """A structural defect found while normalising a record; each `kind` maps to one format rule."""

    kind: str
    message: str
    turn: int | None = None


@dataclass(frozen=True)
class Sample:
    """A record of a dataset file, normalised.

    `messages` is empty for records that could not be normalised (their `problems` say why).
    `text` is set for ``format: text``; `input_ids`/`labels` for ``format: tokenized``.
    `raw` is the decoded record, `digest` a hash of its bytes (for baselines and caches).
    """

    location: Location
    dataset: str
    format: str
    messages: tuple[Message, ...] = ()
    tools: str | None = None
    text: str | None = None
    input_ids: tuple[int, ...] | None = None
    labels: tuple[int, ...] | None = None
    problems: tuple[Problem, ...] = ()
    raw: Any = None
    digest: str = ""
    #: what `thinklint.think` derives from the sample (turn parses, reasoning, switches), computed on
    #: first use and read by every rule after it: ~40 rules asked the same questions of each sample.
    #: Not an init field, so that `dataclasses.replace` starts a fresh one.
    memo: dict[Any, Any] = field(default_factory=dict, init=False, compare=False, repr=False)

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "memo": {}}  # derived state is rebuilt where the sample lands

    def tool_list(self) -> list[Any] | None:
        """The tools column as a list of tool schemas (None when absent or not JSON)."""
        import json

        if not self.tools:
            return None
        try:
            tools = json.loads(self.tools)
        except ValueError:
            return None
        return tools if isinstance(tools, list) else [tools]

    @property
    def ok(self) -> bool:
        """True when the record normalised into something the content rules can read."""
        return not any(p.kind in FATAL_PROBLEMS for p in self.problems)


#: problem kinds after which content rules must not run (there is nothing sound to look at)
FATAL_PROBLEMS = frozenset({"invalid_json", "not_object", "missing_field", "wrong_type", "line_too_long",
                            "text_format", "unreadable", "no_files", "empty_file", "bom"})


@dataclass(frozen=True)
class Edit:
    """Replace the value at JSON path `path` of the record (`old` is checked before writing).

    `old` and `new` are JSON values, so that findings and their fixes can be cached as JSON; a
    fix that adds or removes a key replaces the object that holds it.
    """

    path: tuple[str | int, ...]
    old: Any
    new: Any


@dataclass(frozen=True)
class Fix:
    """A repair: edits applied together or not at all; `safe` fixes keep the sample's meaning
    (applied by --fix), unsafe ones may not (--unsafe-fixes)."""

    description: str
    edits: tuple[Edit, ...]
    safe: bool = True


@dataclass(frozen=True)
class Violation:
    """What a rule returns: the engine adds rule code, severity and location."""

    message: str
    turn: int | None = None
    fix: Fix | None = None


@dataclass(frozen=True)
class Finding:
    rule: str
    category: str
    severity: Severity
    path: str
    line: int | None
    sample: int | None
    message: str
    turn: int | None = None
    fix: Fix | None = field(default=None, compare=False)
    digest: str = field(default="", compare=False)

    def sort_key(self) -> tuple[str, int, int, str, str]:
        return (self.path, self.sample if self.sample is not None else -1,
                self.line if self.line is not None else -1, self.rule, self.message)


def category_of(code: str) -> str:
    return CATEGORIES.get(code[:3], "format")
