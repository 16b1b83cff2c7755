"""Which model family a chat template belongs to, found by rendering probe conversations.

File names and model ids are not evidence: fine-tunes keep a family's name with another template,
llama.cpp copies change defaults, and a renamed file is still the same template. Instead every
builtin profile predicts what each probe renders to (see probes.py) and the template is rendered
once per probe. A profile fits when every probe it can predict agrees; a template no profile fits
is reported as an unknown family with its closest profile, never filed under it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

from thinklint.jinja import TemplateError, compile_template
from thinklint.probes import Evidence, Probe, check, probes_for, render_all
from thinklint.profiles import Profile, builtin_profiles
from thinklint.spec import Spec
from thinklint.tokenizer_files import local_path
from thinklint.yamlsrc import SourceError, type_name

__all__ = [
    "MIN_PROBES",
    "Candidate",
    "Detection",
    "detect_for_spec",
    "detect_path",
    "detect_template",
    "read_chat_template",
    "serving_template_source",
]

#: a profile that can predict fewer probes than this never fits: too little evidence either way
MIN_PROBES = 8


@dataclass(frozen=True)
class Candidate:
    profile: Profile
    evidence: tuple[Evidence, ...]

    @property
    def matched(self) -> int:
        return sum(e.ok for e in self.evidence)

    @property
    def total(self) -> int:
        return len(self.evidence)

    @property
    def score(self) -> float:
        return self.matched / self.total if self.total else 0.0

    @property
    def fits(self) -> bool:
        return self.total >= MIN_PROBES and self.matched == self.total

    @property
    def mismatches(self) -> tuple[Evidence, ...]:
        return tuple(e for e in self.evidence if not e.ok)


@dataclass(frozen=True)
class Detection:
    """`profile` is the family's profile, None for an unknown family; `closest` is the best candidate
    either way (None only when the template does not compile)."""

    profile: Profile | None
    closest: Candidate | None
    candidates: tuple[Candidate, ...]
    sha256: str
    error: str | None = None

    @property
    def family(self) -> str:
        return self.profile.name if self.profile else "unknown"

    @property
    def score(self) -> float:
        return self.closest.score if self.closest else 0.0

    @property
    def evidence(self) -> tuple[Evidence, ...]:
        return self.closest.evidence if self.closest else ()

    def describe(self, verbose: bool = False) -> str:
        if self.error:
            return f"unknown family: {self.error}"
        assert self.closest is not None
        best = self.closest
        head = (f"{self.family} ({best.matched}/{best.total} probes agree)" if self.profile else
                f"unknown family; closest {best.profile.name} ({best.matched}/{best.total} probes agree)")
        shown = best.evidence if verbose else best.mismatches
        return "\n".join([head, *("  " + e.describe() for e in shown)])


def _rank(c: Candidate) -> tuple[bool, float, int]:
    # among profiles that fit, the one that predicted the most probes is the most specific
    return (c.fits, c.score, c.total)


def detect_template(text: str, profiles: Iterable[Profile] | None = None) -> Detection:
    """Render the probes with the template `text` and compare them with every profile."""
    sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
    pool = list(profiles if profiles is not None else builtin_profiles().values())
    try:
        compile_template(text)
    except TemplateError as exc:
        return Detection(None, None, (), sha, str(exc))
    probes: Sequence[Probe] = probes_for(pool)
    renders = render_all(text, probes)
    candidates = sorted((Candidate(p, tuple(check(p, renders, probes))) for p in pool), key=_rank, reverse=True)
    if not candidates:
        return Detection(None, None, (), sha, "no profiles to compare with")
    best = candidates[0]
    return Detection(best.profile if best.fits else None, best, tuple(candidates), sha)


def read_chat_template(path: Path) -> str:
    """The chat template of a .jinja file, or of a tokenizer directory (chat_template.jinja, else
    tokenizer_config.json's chat_template; of a list of named templates, the 'default' one).

    Raises OSError or ValueError (with the file's path) for a file that does not hold one."""
    if path.is_dir():
        jinja_file = path / "chat_template.jinja"
        if jinja_file.is_file():
            return _text(jinja_file)
        config = path / "tokenizer_config.json"
        if not config.is_file():
            raise FileNotFoundError(f"{path}: no chat_template.jinja or tokenizer_config.json")
        value = _json_object(config).get("chat_template")
        if isinstance(value, list):
            value = _default_template(value)
        if not isinstance(value, str):
            raise ValueError(f"{config}: no chat_template")
        return value
    if path.suffix == ".json":
        value = _json_object(path).get("chat_template")
        if not isinstance(value, str):
            raise ValueError(f"{path}: no chat_template string")
        return value
    return _text(path)


def _default_template(named: list[Any]) -> Any:
    """Of a list of named templates, the 'default' one, else the first. Names are compared, never
    used as keys: a file may name one with a list."""
    templates = [t for t in named if isinstance(t, dict)]
    default = next((t.get("template") for t in templates if t.get("name") == "default"), None)
    return default or (templates[0].get("template") if templates else None)


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:  # its message names no file
        raise ValueError(f"{path}: not UTF-8 text (byte {exc.start}: {exc.reason})") from None


def _json_object(path: Path) -> dict[str, Any]:
    """A JSON file's top-level object; ValueError naming the file for anything else (a file that is
    not JSON, an array, nesting too deep for the stdlib's recursive decoder)."""
    try:
        data = json.loads(_text(path))
    except json.JSONDecodeError as exc:  # its message names no file
        raise ValueError(f"{path}: not JSON: {exc}") from None
    except RecursionError:
        raise ValueError(f"{path}: nested too deeply") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object, got {type_name(data)}")
    return data


def detect_path(path: str | Path, profiles: Iterable[Profile] | None = None) -> Detection:
    """Detect the family of a .jinja file, a tokenizer_config.json or a tokenizer directory."""
    return detect_template(read_chat_template(Path(path)), profiles)


def serving_template_source(spec: Spec) -> tuple[Path, str] | None:
    """Where the spec's serving template is, and the spec key that says so: model.chat_template when
    set, else model.tokenizer (a local folder, or `pkg:PACKAGE/FOLDER` found without importing the
    package); None when neither is set. The path may not exist (a hub id is no local folder)."""
    for key in ("chat_template", "tokenizer"):
        ref = getattr(spec.model, key)
        if ref:
            return local_path(spec, ref), key
    return None


def detect_for_spec(spec: Spec) -> Profile:
    """`model.profile: auto`: the family of the serving template, found by rendering probes
    (transformers is not imported). Nothing local to detect from, or a template no profile fits, is a
    spec error at model.profile that names the closest profile: thinklint never guesses a family."""
    line = spec.located.line_of(("model", "profile")) if spec.located else None

    def fail(message: str) -> SourceError:
        return SourceError(spec.display, line, "model.profile", f"auto: {message}")

    source = serving_template_source(spec)
    if source is None:
        raise fail("set model.chat_template or model.tokenizer to detect the family from, or name the "
                   "profile (`thinklint profiles` lists them)")
    path, key = source
    ref = getattr(spec.model, key)
    if not path.exists():
        hub = " (a hub id cannot be inspected offline)" if key == "tokenizer" else ""
        raise fail(f"{ref} is not a local file or folder{hub}; name the profile")
    try:
        text = read_chat_template(path)
    except (OSError, ValueError) as exc:
        raise fail(f"{ref}: cannot read the serving template from model.{key}: {exc}") from None
    detection = detect_template(text)
    if detection.profile is not None:
        return detection.profile
    if detection.closest is None:
        raise fail(f"{ref}: unknown family, not a usable chat template: {detection.error}")
    best = detection.closest
    wrong = ", ".join(e.probe for e in best.mismatches[:4]) + (", ..." if len(best.mismatches) > 4 else "")
    raise fail(f"{ref}: unknown family; closest {best.profile.name} ({best.matched}/{best.total} probes "
               f"agree; differs in {wrong}): set model.profile to {best.profile.name!r} if its differences do not "
               "matter to you, or write a profile YAML for this template (`thinklint profiles --detect "
               f"{ref}` shows them)")
