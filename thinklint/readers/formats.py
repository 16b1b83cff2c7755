"""Decoded records to `Sample`s, one normaliser per dataset format.

Column and tag defaults are LLaMA-Factory's (`DatasetAttr`), because a spec written for
LLaMA-Factory must mean what it means there. A record that does not fit its format keeps
whatever could be read, and carries `Problem`s that the format rules report.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any, Callable, Mapping

from thinklint.model import Location, Message, Problem, Sample
from thinklint.profiles import Profile
from thinklint.readers.files import Record
from thinklint.spec import DatasetSpec
from thinklint.textformat import parse_text
from thinklint.yamlsrc import type_name

DEFAULT_COLUMNS: Mapping[str, Mapping[str, str]] = {
    "openai": {"messages": "messages", "tools": "tools"},
    "sharegpt": {"messages": "conversations"},
    "alpaca": {"prompt": "instruction", "query": "input", "response": "output"},
    "text": {"text": "text"},
    "tokenized": {"input_ids": "input_ids", "labels": "labels"},
}
SHAREGPT_TAGS: Mapping[str, str] = {
    "role_tag": "from", "content_tag": "value", "user_tag": "human", "assistant_tag": "gpt",
    "observation_tag": "observation", "function_tag": "function_call", "system_tag": "system",
}
OPENAI_ROLES = {"system": "system", "user": "user", "assistant": "assistant", "tool": "tool"}
#: columns LLaMA-Factory reads only when mapped; data that has them unmapped is silently dropped
OPTIONAL_COLUMNS: Mapping[str, tuple[str, ...]] = {
    "sharegpt": ("system", "tools"),
    "alpaca": ("system", "history", "tools"),
}


class _Builder:
    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def problem(self, kind: str, message: str, turn: int | None = None) -> None:
        self.problems.append(Problem(kind, message, turn))


def columns_for(dataset: DatasetSpec) -> dict[str, str]:
    """Defaults overlaid with the dataset's mapping; an empty name means explicitly unmapped."""
    merged = {**DEFAULT_COLUMNS.get(dataset.format, {}), **dataset.columns}
    return {k: v for k, v in merged.items() if v}


def normalise(record: Record, dataset: DatasetSpec, path: str, profile: Profile | None = None,
              special_tokens: Mapping[str, str] | None = None) -> Sample:
    loc = Location(path, record.line, record.index)
    base = dict(location=loc, dataset=dataset.name, format=dataset.format, digest=record.digest)
    if record.error:
        return Sample(**base, problems=(Problem(record.error_kind or "invalid_json", record.error),))  # type: ignore[arg-type]
    value = record.value
    if not isinstance(value, dict):
        return Sample(**base, raw=value,  # type: ignore[arg-type]
                      problems=(Problem("not_object", f"a sample must be a JSON object, got {type_name(value)}"),))
    b = _Builder()
    cols = columns_for(dataset)
    fields: dict[str, Any] = _NORMALISERS[dataset.format](value, cols, dataset, b)
    if dataset.format == "text" and isinstance(fields.get("text"), str) and profile is not None:
        messages, error = parse_text(fields["text"], profile, special_tokens)
        # turns point into the text column (fixes splice repairs back into it by `span`)
        column = (cols["text"],)
        fields["messages"] = tuple(replace(m, source=column) for m in messages)
        if error:
            b.problem("text_format", error)
    for col in OPTIONAL_COLUMNS.get(dataset.format, ()):
        if col not in cols and col in value and value[col] not in (None, "", []):
            b.problem("unmapped_column",
                      f"column {col!r} is present but not mapped in `columns`, so LLaMA-Factory ignores it")
    return Sample(**base, raw=value, problems=tuple(b.problems), **fields)  # type: ignore[arg-type]


def _tools(value: Mapping[str, Any], cols: Mapping[str, str], b: _Builder) -> str | None:
    col = cols.get("tools")
    tools = value.get(col) if col else None
    if tools in (None, "", []):
        return None
    if isinstance(tools, str):
        return tools
    if isinstance(tools, list):
        return json.dumps(tools, ensure_ascii=False)
    b.problem("wrong_type", f"column {col!r} must be a string or a list, got {type_name(tools)}")
    return None


def _require(value: Mapping[str, Any], col: str | None, b: _Builder, kinds: tuple[type, ...], what: str) -> Any:
    if col is None:
        b.problem("missing_field", "the dataset's `columns` leave a required column unmapped")
        return None
    if col not in value:
        b.problem("missing_field", f"missing column {col!r}")
        return None
    got = value[col]
    if not isinstance(got, kinds) or isinstance(got, bool):
        b.problem("wrong_type", f"column {col!r} must be {what}, got {type_name(got)}")
        return None
    return got


def _message(role: str, content: Any, extra: Mapping[str, Any], source: tuple[str | int, ...],
             turn: int, b: _Builder, *, content_key: str = "content") -> Message:
    if content is None and role == "assistant" and extra.get("tool_calls"):
        content = ""  # OpenAI allows null content beside tool calls
    if not isinstance(content, str):
        b.problem("wrong_type", f"{role} turn {turn}: {content_key!r} must be a string, got {type_name(content)}",
                  turn)
        content = ""
    return Message(role, content, extra, (*source, content_key))


def _openai(value: Mapping[str, Any], cols: Mapping[str, str], dataset: DatasetSpec, b: _Builder) -> dict[str, Any]:
    col = cols.get("messages", "messages")
    raw = _require(value, cols.get("messages"), b, (list,), "a list of messages")
    messages: list[Message] = []
    system_col = cols.get("system")
    if system_col and isinstance(value.get(system_col), str) and value[system_col]:
        messages.append(Message("system", value[system_col], {}, (system_col,)))
    for i, m in enumerate(raw or ()):
        turn = len(messages) + 1
        if not isinstance(m, dict):
            b.problem("wrong_type", f"message {i} must be an object, got {type_name(m)}", turn)
            continue
        role = m.get("role")
        if not isinstance(role, str) or role not in OPENAI_ROLES:  # a list or object role is unhashable
            b.problem("unknown_role", f"message {i} has role {role!r} (expected one of "
                      f"{', '.join(OPENAI_ROLES)})", turn)
            continue
        extra = {k: v for k, v in m.items() if k not in ("role", "content")}
        if "content" not in m and not m.get("tool_calls"):
            b.problem("missing_field", f"message {i} ({role}) has no 'content'", turn)
            continue
        messages.append(_message(OPENAI_ROLES[role], m.get("content"), extra, (col, i), turn, b))
    return {"messages": tuple(messages), "tools": _tools(value, cols, b)}


def _sharegpt(value: Mapping[str, Any], cols: Mapping[str, str], dataset: DatasetSpec, b: _Builder) -> dict[str, Any]:
    tags = {**SHAREGPT_TAGS, **dataset.tags}
    col = cols.get("messages", "messages")
    raw = _require(value, cols.get("messages"), b, (list,), "a list of messages")
    role_of = {tags["user_tag"]: "user", tags["assistant_tag"]: "assistant", tags["observation_tag"]: "tool",
               tags["function_tag"]: "assistant", tags["system_tag"]: "system"}
    messages: list[Message] = []
    system_col = cols.get("system")
    if system_col and isinstance(value.get(system_col), str) and value[system_col]:
        messages.append(Message("system", value[system_col], {}, (system_col,)))
    role_key, content_key = tags["role_tag"], tags["content_tag"]
    for i, m in enumerate(raw or ()):
        turn = len(messages) + 1
        if not isinstance(m, dict):
            b.problem("wrong_type", f"message {i} must be an object, got {type_name(m)}", turn)
            continue
        tag = m.get(role_key)
        if not isinstance(tag, str) or tag not in role_of:
            b.problem("unknown_role", f"message {i} has {role_key}={tag!r} (expected one of "
                      f"{', '.join(repr(t) for t in role_of)})", turn)
            continue
        if content_key not in m:
            b.problem("missing_field", f"message {i} has no {content_key!r}", turn)
            continue
        extra = {k: v for k, v in m.items() if k not in (role_key, content_key)}
        if tag == tags["function_tag"]:
            extra = {**extra, "function_call": True}
        messages.append(_message(role_of[tag], m[content_key], extra, (col, i), turn, b, content_key=content_key))
    return {"messages": tuple(messages), "tools": _tools(value, cols, b)}


def _alpaca(value: Mapping[str, Any], cols: Mapping[str, str], dataset: DatasetSpec, b: _Builder) -> dict[str, Any]:
    messages: list[Message] = []
    system_col = cols.get("system")
    if system_col and value.get(system_col):
        system = value[system_col]
        if isinstance(system, str):
            messages.append(Message("system", system, {}, (system_col,)))
        else:
            b.problem("wrong_type", f"column {system_col!r} must be a string, got {type_name(system)}")
    history_col = cols.get("history")
    if history_col and value.get(history_col):
        history = value[history_col]
        if not isinstance(history, list):
            b.problem("wrong_type", f"column {history_col!r} must be a list of [prompt, response] pairs")
        else:
            for i, pair in enumerate(history):
                if (not isinstance(pair, (list, tuple)) or len(pair) != 2
                        or not all(isinstance(x, str) for x in pair)):
                    b.problem("wrong_type", f"{history_col}[{i}] must be a [prompt, response] pair of strings")
                    continue
                messages.append(Message("user", pair[0], {}, (history_col, i, 0)))
                messages.append(Message("assistant", pair[1], {}, (history_col, i, 1)))
    prompt = _require(value, cols.get("prompt"), b, (str,), "a string")
    query_col = cols.get("query")
    query = value.get(query_col) if query_col else None
    parts = [p for p in (prompt, query if isinstance(query, str) else None) if p]
    if query not in (None, "") and not isinstance(query, str):
        b.problem("wrong_type", f"column {query_col!r} must be a string, got {type_name(query)}")
    if prompt is not None:
        # LLaMA-Factory joins instruction and input with one newline
        messages.append(Message("user", "\n".join(parts), {}, (cols.get("prompt", "prompt"),)))
    response = _require(value, cols.get("response"), b, (str,), "a string")
    if response is not None:
        messages.append(Message("assistant", response, {}, (cols.get("response", "response"),)))
    return {"messages": tuple(messages), "tools": _tools(value, cols, b)}


def _text(value: Mapping[str, Any], cols: Mapping[str, str], dataset: DatasetSpec, b: _Builder) -> dict[str, Any]:
    return {"text": _require(value, cols.get("text"), b, (str,), "a string")}


def _int_list(value: Mapping[str, Any], col: str | None, b: _Builder, *,
              labels: bool = False) -> tuple[int, ...] | None:
    """A column of integers; token ids (not labels) must not be negative.

    A label outside the vocabulary (a collator masking with -1) is the mask rules' business, and
    the dry run's: it is what they report, so the sample stays readable."""
    got = _require(value, col, b, (list,), "a list of integers")
    if got is None:
        return None
    if not all(isinstance(x, int) and not isinstance(x, bool) for x in got):
        b.problem("wrong_type", f"column {col!r} must hold only integers")
        return None
    bad = None if labels else next((i for i, x in enumerate(got) if x < 0), None)
    if bad is not None:
        b.problem("wrong_type", f"column {col!r} must hold token ids (integers from 0), got {got[bad]} "
                                f"at position {bad}")
        return None
    return tuple(got)


def _tokenized(value: Mapping[str, Any], cols: Mapping[str, str], dataset: DatasetSpec, b: _Builder) -> dict[str, Any]:
    return {"input_ids": _int_list(value, cols.get("input_ids"), b),
            "labels": _int_list(value, cols.get("labels"), b, labels=True)}


_NORMALISERS: Mapping[str, Callable[..., dict[str, Any]]] = {
    "openai": _openai, "sharegpt": _sharegpt, "alpaca": _alpaca, "text": _text, "tokenized": _tokenized,
}
