"""The v1 spec: find it, load it, validate it against schemas/thinklint.schema.json, build `Spec`.

Every problem is a `SourceError` naming the file, the line and the key; the CLI turns it into
exit code 2. Defaults come from the schema's `default` keywords, so the schema stays the one
source of truth for what a key means and what it defaults to.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

from thinklint.confine import check_folder, check_nul, check_package, check_path, glob_base, repository_root
from thinklint.fsutil import real
from thinklint.resources import schema, validator
from thinklint.yamlsrc import Located, SourceError, load_yaml, validate

SPEC_NAMES = ("thinklint.yaml", ".thinklint.yaml", "thinklint.yml")


@dataclass(frozen=True)
class ModelSpec:
    profile: str = "qwen3"
    tokenizer: str | None = None
    chat_template: str | None = None
    trust_remote_code: bool = False


@dataclass(frozen=True)
class TrainingSpec:
    framework: str = "llamafactory"
    template: str = "qwen3"
    enable_thinking: bool | None = True
    preserve_thinking: bool = False
    mask_history: bool = False
    train_on_prompt: bool = False
    cutoff_len: int = 2048


@dataclass(frozen=True)
class InferenceSpec:
    enable_thinking: bool | str = "auto"
    preserve_thinking: bool = False


@dataclass(frozen=True)
class PolicySpec:
    empty_think: str | None = None
    history_reasoning: str | None = None
    min_thinking_ratio: float | None = None


@dataclass(frozen=True)
class RulesSpec:
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    extend_select: tuple[str, ...] = ()
    severity: Mapping[str, str] = field(default_factory=dict)
    per_file_ignores: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    custom: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True)
class DatasetSpec:
    """One dataset: globs resolved against `base`, a format, LLaMA-Factory columns and tags, a mode."""

    name: str
    paths: tuple[str, ...]
    base: Path
    format: str = "openai"
    columns: Mapping[str, str] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)
    mode: str | None = None
    origin: str = ""
    line: int | None = None
    #: set for LLaMA-Factory entries that cannot be checked locally (hub datasets, ranking data)
    skipped: str | None = None
    #: LLaMA-Factory's `formatting` for entries imported from dataset_info.json (None: declared here)
    formatting: str | None = None
    #: the repository root its files must resolve inside (None: unrestricted), and the spec key
    #: (at `origin`, `line`) that names them, for the error when one does not
    boundary: Path | None = None
    key: str = ""


@dataclass(frozen=True)
class Spec:
    path: Path | None
    root: Path
    model: ModelSpec
    training: TrainingSpec
    inference: InferenceSpec
    policy: PolicySpec
    datasets: tuple[DatasetSpec, ...]
    rules: RulesSpec
    located: Located | None = field(default=None, compare=False, repr=False)
    #: the spec's path as messages show it (relative to the working directory)
    source: str = ""
    #: the repository root the spec's paths must stay inside (None: --allow-outside-root)
    boundary: Path | None = None

    @property
    def display(self) -> str:
        return self.source or (_display(self.path) if self.path else "(spec)")


def find_spec(start: Path) -> Path | None:
    """thinklint.yaml (or pyproject.toml with [tool.thinklint]) in `start` or the nearest parent."""
    for folder in (start, *start.parents):
        for name in SPEC_NAMES:
            if (folder / name).is_file():
                return folder / name
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file() and _pyproject_table(pyproject) is not None:
            return pyproject
    return None


def _toml_loads(text: str) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on 3.10 only
        import tomli as tomllib  # type: ignore[import-not-found]
    loaded: dict[str, Any] = tomllib.loads(text)
    return loaded


_OUR_TABLE = r"^\s*\[\[?\s*tool\.thinklint\b"


def _pyproject_table(path: Path) -> dict[str, Any] | None:
    # a pyproject that cannot be read or parsed is not ours to report unless it holds our table: then
    # it is the spec, and load_spec says what is wrong rather than discovery looking past it
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        try:
            ours = re.search(_OUR_TABLE.encode(), path.read_bytes(), re.MULTILINE) is not None
        except OSError:
            return None
        return {} if ours else None
    except OSError:
        return None
    try:
        data = _toml_loads(text)
    except Exception:
        return {} if re.search(_OUR_TABLE, text, re.MULTILINE) else None
    table = _thinklint_table(data)
    return table if isinstance(table, dict) else None


def _thinklint_table(data: dict[str, Any]) -> Any:
    tool = data.get("tool")  # `tool = 5` is valid TOML
    return tool.get("thinklint") if isinstance(tool, dict) else None


def load_spec(path: Path, *, allow_outside_root: bool = False, remember: bool = True) -> Spec:
    """Load and validate a spec file; raises SourceError on the first problem in document order.

    Unless `allow_outside_root`, every file the spec names must resolve inside the repository root
    (thinklint.confine); a path that does not is a spec error, raised before the file is read.

    With `remember`, a spec that validated once is not validated again while its content and the
    schemas are unchanged (a marker under .thinklint_cache/): jsonschema alone costs a third of a
    structural run's start-up. The root check is never skipped.
    """
    display = _display(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SourceError(display, None, "", "spec file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceError(display, None, "", f"cannot read spec: {exc}") from None
    root = real(path).parent
    memo: Path | None = None
    remembered: Located | None = None
    if path.name == "pyproject.toml":
        text = text.removeprefix("\ufeff")  # TOML has no byte order mark, but editors write one
        try:
            data = _toml_loads(text)
        except Exception as exc:
            raise SourceError(display, None, "", f"invalid TOML: {exc}") from None
        table = _thinklint_table(data)
        if not isinstance(table, dict):
            raise SourceError(display, None, "tool.thinklint", "no [tool.thinklint] table")
        header = next((i + 1 for i, ln in enumerate(text.splitlines())
                       if ln.strip().startswith("[tool.thinklint")), None)
        located = Located(table, {(): header} if header else {})
    else:
        memo = _marker(text, root, "parsed-") if remember else None
        remembered = _parsed(memo) if memo is not None else None
        located = remembered or load_yaml(text, display)
    # a remembered parse is known valid: its memo was written after the spec validated against these schemas
    spec = build_spec(located, display, root, path, allow_outside_root=allow_outside_root, remember=remember,
                      valid=remembered is not None)
    if memo is not None and remembered is None:
        _remember_parse(memo, located)  # once it built: a spec with an error is parsed each time
    return spec


def _validity_marker(value: Any, root: Path) -> Path:
    import json

    return _marker(json.dumps(value, sort_keys=True, default=repr), root)


def _marker(text: str, root: Path, prefix: str = "") -> Path:
    """A file named by `text`, thinklint's version and its schemas."""
    import hashlib

    h = hashlib.sha256(text.encode("utf-8"))
    h.update(_schemas_digest())
    return root / ".thinklint_cache" / "specs" / (prefix + h.hexdigest()[:32])


@lru_cache(maxsize=None)
def _schemas_digest() -> bytes:
    import hashlib

    from thinklint import __version__
    from thinklint.resources import data_dir

    h = hashlib.sha256(__version__.encode())
    for schema_file in sorted(data_dir("schemas").glob("*.json")):
        h.update(schema_file.read_bytes())
    return h.digest()


def _parsed(memo: Path) -> Located | None:
    """What a spec text parsed to, as `_remember_parse` left it; None if missing or not sound."""
    import hashlib
    import json

    try:
        check, _, body = memo.read_bytes().partition(b"\n")
        if check.decode("ascii") != hashlib.sha256(body).hexdigest():
            return None
        value, lines = json.loads(body)
        return Located(value, {tuple(key): line for key, line in lines})
    except (OSError, ValueError, TypeError):
        return None


def _remember_parse(memo: Path, located: Located) -> None:
    """Keep a spec's parse (once it built), so that later runs of the same text need no YAML parser;
    only a parse that JSON gives back exactly (keys that are strings, no dates)."""
    import hashlib
    import json

    from thinklint.fsutil import atomic_write

    try:
        body = json.dumps([located.value, [[list(k), v] for k, v in located.lines.items()]],
                          ensure_ascii=False, allow_nan=False).encode("utf-8")
        if json.loads(body)[0] != located.value:
            return
        _folders(memo)
        atomic_write(memo, hashlib.sha256(body).hexdigest().encode("ascii") + b"\n" + body, durable=False)
    except (OSError, ValueError, TypeError):  # a read-only checkout parses every time
        pass


def build_spec(located: Located, display: str, root: Path, path: Path | None = None, *,
               allow_outside_root: bool = False, remember: bool = False, valid: bool = False) -> Spec:
    if not isinstance(located.value, dict):
        raise SourceError(display, located.line_of(()), "", "a spec must be a mapping with `version: 1`")
    marker = _validity_marker(located.value, root) if remember and not valid else None
    if not valid and (marker is None or not marker.exists()):
        errors = validate(located, validator("thinklint"), display)
        if errors:
            raise errors[0]
        if marker is not None:
            _mark_valid(marker)
    data = located.value
    props = schema("thinklint")["properties"]

    def section(name: str) -> dict[str, Any]:
        defaults = {k: v.get("default") for k, v in props[name]["properties"].items() if "default" in v}
        return {**defaults, **data.get(name, {})}

    rules = data.get("rules", {})
    boundary = None if allow_outside_root else repository_root(root)
    model = ModelSpec(**section("model"))
    _confine_model(model, root, boundary, located, display)
    spec = Spec(
        path=path, root=root,
        model=model,
        training=TrainingSpec(**section("training")),
        inference=InferenceSpec(**section("inference")),
        policy=PolicySpec(**section("policy")),
        datasets=tuple(_datasets(data["datasets"], located, display, root, boundary)),
        rules=RulesSpec(
            select=tuple(rules.get("select", ())), ignore=tuple(rules.get("ignore", ())),
            extend_select=tuple(rules.get("extend_select", ())),
            severity=dict(rules.get("severity", {})),
            per_file_ignores={k: tuple(v) for k, v in rules.get("per_file_ignores", {}).items()},
            options=dict(rules.get("options", {})), custom=tuple(rules.get("custom", ())),
        ),
        located=located, source=display, boundary=boundary,
    )
    return spec


def _mark_valid(marker: Path) -> None:
    try:
        _folders(marker)
        marker.touch()
    except OSError:  # a read-only checkout validates every time
        pass


def _folders(marker: Path) -> None:
    from thinklint.cache import ensure_root

    ensure_root(marker.parent.parent)
    marker.parent.mkdir(parents=True, exist_ok=True)


def _local(ref: str, root: Path) -> Path:
    expanded = Path(ref).expanduser()
    return expanded if expanded.is_absolute() else root / ref


def _confine_model(model: ModelSpec, root: Path, boundary: Path | None, located: Located,
                   display: str) -> None:
    """model.profile (a path), model.tokenizer (a local folder) and model.chat_template stay inside; a `pkg:`
    reference stays inside its package, and none holds a NUL byte, whatever the boundary."""

    def line(key: str) -> int | None:
        return located.line_of(("model", key))

    for key in ("profile", "tokenizer", "chat_template"):
        value = getattr(model, key) or ""
        check_nul(display, line(key), f"model.{key}", value)  # a hub id cannot hold one either
        if key != "profile" and value.startswith("pkg:"):
            check_package(value, display, line(key), f"model.{key}")
    if boundary is None:
        return

    profile = model.profile
    if "/" in profile or os.sep in profile or profile.endswith((".yaml", ".yml")):
        path = Path(profile) if Path(profile).is_absolute() else root / profile
        check_path(path, boundary, display, line("profile"), "model.profile", profile)
    tok = model.tokenizer
    if tok and not tok.startswith("pkg:"):
        local = _local(tok, root)
        if local.exists() or tok.startswith((".", "/", "~")):  # else a hub id
            check_folder(local, boundary, display, line("tokenizer"), "model.tokenizer", tok)
    template = model.chat_template
    if template and not template.startswith("pkg:"):
        # the loader reads it relative to the spec, profile detection expands `~` first: neither may leave
        as_written = Path(template) if Path(template).is_absolute() else root / template
        for path in {as_written, _local(template, root)}:
            check_path(path, boundary, display, line("chat_template"), "model.chat_template", template)


def _datasets(entries: list[dict[str, Any]], located: Located, display: str, root: Path,
              boundary: Path | None = None) -> list[DatasetSpec]:
    from thinklint.readers.llamafactory import entry_line, import_dataset_info

    out: list[DatasetSpec] = []
    seen: set[str] = set()
    for i, entry in enumerate(entries):
        line = located.line_of(("datasets", i))
        if "llamafactory" in entry:
            info = entry["llamafactory"]
            check_path(root / info, boundary, display, located.line_of(("datasets", i, "llamafactory")),
                       f"datasets[{i}].llamafactory", info)
            found = list(import_dataset_info(entry, root, display, line, key=f"datasets[{i}]",
                                             names_line=located.line_of(("datasets", i, "names"))))
            for k, ds in enumerate(found):
                at = entry_line(real(root / info), ds.name)
                for pattern in ds.paths:
                    check_path(ds.base / glob_base(pattern), boundary, ds.origin, at, f"{ds.name}.file_name",
                               pattern)
                found[k] = replace(ds, boundary=boundary, key=f"{ds.name}.file_name", line=at)
        else:
            paths = entry["path"]
            patterns = (paths,) if isinstance(paths, str) else tuple(paths)
            key = f"datasets[{i}].path"
            for pattern in patterns:
                check_path(root / glob_base(pattern), boundary, display,
                           located.line_of(("datasets", i, "path")), key, pattern)
            found = [DatasetSpec(
                name=entry["name"], paths=patterns, base=root,
                format=entry.get("format", "openai"), columns=entry.get("columns", {}),
                tags=entry.get("tags", {}), mode=entry.get("mode"), origin=display,
                line=line, boundary=boundary, key=key,
            )]
        # checked per entry, so that the error points at the entry that repeats a name even when
        # an earlier llamafactory import expanded into several datasets
        for ds in found:
            if ds.name in seen:
                where = "" if "name" in entry else f" (an entry of {entry['llamafactory']})"
                raise SourceError(display, located.line_of(("datasets", i, "name")),
                                  f"datasets[{i}]" + (".name" if "name" in entry else ""),
                                  f"duplicate dataset name {ds.name!r}{where}")
            seen.add(ds.name)
        out.extend(found)
    return out


def _display(path: Path) -> str:
    """The path as the user would type it from the working directory (as data paths are shown)."""
    try:
        return str(real(path).relative_to(real(Path.cwd())))
    except ValueError:
        pass
    try:
        return os.path.relpath(real(path), real(Path.cwd()))
    except ValueError:  # another drive on Windows
        return str(path)
