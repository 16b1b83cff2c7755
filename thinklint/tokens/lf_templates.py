"""LLaMA-Factory's chat templates and converter settings, loaded from rules/trainers/llamafactory.yaml.

The YAML is the data (slots, thought words, defaults, the prompts converters inject); this module
only types it. Nothing here needs a tokenizer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from thinklint.resources import load_checked, packaged, trainers_dir
from thinklint.yamlsrc import SourceError


@dataclass(frozen=True)
class TokenElement:
    """A slot element that is one token, looked up by name."""

    token: str


@dataclass(frozen=True)
class SpecialElement:
    """A slot element that is the tokenizer's bos or eos token (skipped when the tokenizer has none)."""

    name: str


Element = str | TokenElement | SpecialElement


@dataclass(frozen=True)
class ToolFormat:
    name: str
    tool_prompt: str  # with {tool_text}
    tool_prefix: str  # written before each tool's JSON
    call_template: str  # with {call}
    call_separator: str


@dataclass(frozen=True)
class Formatting:
    """What a LLaMA-Factory dataset converter (``formatting:``) does beyond copying content."""

    name: str
    thinking_off_prompt: str | None = None
    thinking_switches: tuple[str, ...] = ()
    tool_response_join: str | None = None
    reads_fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class LlamaFactoryTemplate:
    name: str
    reasoning: bool
    format_prefix: tuple[Element, ...]
    format_system: tuple[Element, ...]
    format_user: tuple[Element, ...]
    format_assistant: tuple[Element, ...]
    format_observation: tuple[Element, ...]
    format_function: tuple[Element, ...]
    tool_format: ToolFormat | None
    default_system: str
    stop_words: tuple[str, ...]
    replace_eos: bool
    efficient_eos: bool
    thought_words: tuple[str, str]
    tool_call_words: tuple[str, str]
    enable_thinking: bool | None

    @property
    def empty_thought(self) -> str:
        """The empty block LLaMA-Factory inserts (``add_thought()``)."""
        return self.thought_words[0] + self.thought_words[1]

    @property
    def markers(self) -> tuple[str, str]:
        """What CoT detection looks for anywhere in a response: the stripped thought words."""
        return (self.thought_words[0].strip(), self.thought_words[1].strip())


@dataclass(frozen=True)
class LlamaFactoryModel:
    version: str
    versions: tuple[str, ...]
    source: str
    ignore_index: int
    data_arguments: Mapping[str, Any]
    incompatible: tuple[tuple[str, ...], ...]
    formattings: Mapping[str, Formatting]
    templates: Mapping[str, LlamaFactoryTemplate]
    path: str = field(default="", compare=False)

    def template(self, name: str) -> LlamaFactoryTemplate:
        try:
            return self.templates[name]
        except KeyError:
            known = ", ".join(sorted(self.templates))
            raise KeyError(f"unknown LLaMA-Factory template {name!r} (modelled: {known})") from None

    def formatting(self, name: str) -> Formatting:
        return self.formattings.get(name, Formatting(name))


def _element(raw: Any) -> Element:
    if isinstance(raw, str):
        return raw
    if "token" in raw:
        return TokenElement(raw["token"])
    return SpecialElement(raw["special"])


def _slots(raw: list[Any]) -> tuple[Element, ...]:
    return tuple(_element(e) for e in raw)


def _build(data: Mapping[str, Any], path: str) -> LlamaFactoryModel:
    tool_formats = {
        name: ToolFormat(name, t["tool_prompt"], t["tool_prefix"], t["call_template"], t["call_separator"])
        for name, t in data.get("tool_formats", {}).items()
    }
    templates: dict[str, LlamaFactoryTemplate] = {}
    for name, t in data["templates"].items():
        tool_format = t.get("tool_format")
        call_words = t.get("tool_call_words", ["<tool_call>", "</tool_call>"])
        if tool_format is not None and tool_format not in tool_formats:
            raise SourceError(
                path, None, f"templates.{name}.tool_format", f"unknown tool format {tool_format!r}"
            )
        templates[name] = LlamaFactoryTemplate(
            name=name,
            reasoning=t["reasoning"],
            format_prefix=_slots(t["format_prefix"]),
            format_system=_slots(t["format_system"]),
            format_user=_slots(t["format_user"]),
            format_assistant=_slots(t["format_assistant"]),
            format_observation=_slots(t["format_observation"]),
            format_function=_slots(t["format_function"]),
            tool_format=tool_formats[tool_format] if tool_format else None,
            default_system=t.get("default_system", ""),
            stop_words=tuple(t["stop_words"]),
            replace_eos=t.get("replace_eos", False),
            efficient_eos=t["efficient_eos"],
            thought_words=(t["thought_words"][0], t["thought_words"][1]),
            tool_call_words=(call_words[0], call_words[1]),
            enable_thinking=t.get("enable_thinking", True),
        )
    formattings = {
        name: Formatting(
            name,
            f.get("thinking_off_prompt"),
            tuple(f.get("thinking_switches", ())),
            f.get("tool_response_join"),
            tuple(f.get("reads_fields", ())),
        )
        for name, f in data.get("formattings", {}).items()
    }
    return LlamaFactoryModel(
        version=data["version"],
        versions=tuple(data.get("versions", ())),
        source=data["source"],
        ignore_index=data["ignore_index"],
        data_arguments=dict(data["data_arguments"]),
        incompatible=tuple(tuple(pair) for pair in data.get("incompatible", ())),
        formattings=formattings,
        templates=templates,
        path=path,
    )


def load_llamafactory_file(path: Path) -> LlamaFactoryModel:
    return _build(load_checked(path, "trainer", "trainer model"), str(path))


@cache
def load_llamafactory() -> LlamaFactoryModel:
    """The builtin model, rules/trainers/llamafactory.yaml (loaded once per process).

    Packaged data: loaded by libyaml without a run-time schema check, as the builtin rules and
    profiles are (the tests validate it); a structural run loads it for MOD007.
    """
    path = trainers_dir() / "llamafactory.yaml"
    return _build(packaged(path), str(path))


def llamafactory_template(name: str) -> LlamaFactoryTemplate:
    return load_llamafactory().template(name)
