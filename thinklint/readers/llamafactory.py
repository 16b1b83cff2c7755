"""Import the entries of a LLaMA-Factory dataset_info.json as thinklint datasets.

Mirrors `llamafactory.data.parser.get_dataset_list`: `file_name` is relative to the file's
folder (a folder means every file in it), `formatting` defaults to alpaca, and a `columns`
table replaces the defaults wholesale (a column it does not name is unmapped, as in LLaMA-Factory).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping

from thinklint.fsutil import real
from thinklint.yamlsrc import SourceError, a_type_name

if TYPE_CHECKING:
    from thinklint.spec import DatasetSpec

_COLUMNS = {
    "alpaca": ("system", "tools", "prompt", "query", "response", "history"),
    "sharegpt": ("system", "tools", "messages"),
    "openai": ("system", "tools", "messages"),
}
_TAGS = ("role_tag", "content_tag", "user_tag", "assistant_tag", "observation_tag", "function_tag", "system_tag")


def import_dataset_info(entry: Mapping[str, Any], root: Path, spec_display: str,
                        line: int | None, key: str = "", names_line: int | None = None) -> Iterator[DatasetSpec]:
    """The entry's datasets; `key` is the entry's place in the spec (``datasets[2]``) for messages."""
    from thinklint.spec import _display

    prefix = f"{key}." if key else ""
    info_path = real(root / entry["llamafactory"])
    written = entry["llamafactory"]  # as the spec says it, for messages about the spec's value
    display = _display(info_path)  # as the user would open it from here, for findings and its own errors
    try:
        info = json.loads(info_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SourceError(spec_display, line, f"{prefix}llamafactory", f"{written}: file not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SourceError(spec_display, line, f"{prefix}llamafactory", f"{written}: cannot read: {exc}") from None
    except RecursionError:  # the stdlib decoder recurses once per level of nesting
        raise SourceError(spec_display, line, f"{prefix}llamafactory",
                          f"{written}: cannot read: nested too deeply") from None
    if not isinstance(info, dict):
        raise SourceError(display, None, "", "dataset_info.json must be an object of dataset entries")
    wanted = entry.get("names")
    if wanted:
        missing = [n for n in wanted if n not in info]
        if missing:
            raise SourceError(spec_display, names_line or line, f"{prefix}names",
                              f"not in {written}: {', '.join(missing)}")
    for name, attrs in info.items():
        if wanted and name not in wanted:
            continue
        yield _entry(name, attrs, info_path, display, entry.get("mode"))


def _entry(name: str, attrs: Any, info_path: Path, display: str, mode: str | None) -> DatasetSpec:
    from thinklint.spec import DatasetSpec

    folder = info_path.parent

    def bad(key: str, message: str) -> SourceError:
        return SourceError(display, entry_line(info_path, name), f"{name}.{key}" if key else name, message)

    if not isinstance(attrs, dict):
        raise bad("", "entry must be an object")
    formatting = attrs.get("formatting", "alpaca")
    if not isinstance(formatting, str) or formatting not in _COLUMNS:
        shown = repr(formatting) if isinstance(formatting, str) else a_type_name(formatting)
        raise bad("formatting", f"{shown} is not one of alpaca, sharegpt, openai")
    skipped = None
    if any(k in attrs for k in ("hf_hub_url", "ms_hub_url", "om_hub_url", "script_url", "cloud_file_name")):
        skipped = "loaded from a hub or a script, not a local file; not checked"
    elif attrs.get("ranking"):
        skipped = "a preference (ranking) dataset; thinklint checks supervised data"
    elif "file_name" not in attrs:
        raise bad("", "entry has no file_name")
    file_name = attrs.get("file_name", "")
    if not isinstance(file_name, str):
        if skipped is None:
            raise bad("file_name", f"must be a string, not {a_type_name(file_name)}")
        file_name = ""  # a hub or ranking entry is reported as not checked: its file_name is never read
    columns: dict[str, str] = {}
    if "columns" in attrs:
        # LLaMA-Factory sets every column it knows from the table, None when absent
        columns = {c: v or "" for c, v in _names(attrs["columns"], _COLUMNS[formatting], bad, "columns").items()}
    tags: dict[str, str] = {}
    if formatting in ("sharegpt", "openai") and "tags" in attrs:
        tags = {t: v for t, v in _names(attrs["tags"], _TAGS, bad, "tags").items() if v is not None}
    target = folder / file_name
    paths = (f"{file_name}/*",) if file_name and target.is_dir() else (file_name,)
    return DatasetSpec(
        # LLaMA-Factory's openai converter reads messages through the sharegpt columns and tags
        # (default `conversations`, from/value), so both formattings normalise the same way
        name=name, paths=paths, base=folder, format="alpaca" if formatting == "alpaca" else "sharegpt",
        columns=columns, tags=tags, mode=mode, origin=display, line=None, skipped=skipped, formatting=formatting,
    )


def _names(table: Any, known: tuple[str, ...], bad: Callable[[str, str], SourceError],
           key: str) -> dict[str, str | None]:
    """The `known` keys of a columns or tags table, None for an absent or null one. Their values are
    key names in every sample: anything but a string would fail in LLaMA-Factory, and here too (a
    list cannot be looked up), once per sample instead of once."""
    if not isinstance(table, dict):
        raise bad(key, f"must be an object, not {a_type_name(table)}")
    out: dict[str, str | None] = {}
    for k in known:
        value = table.get(k)
        if value is not None and not isinstance(value, str):
            raise bad(f"{key}.{k}", f"must be a string, not {a_type_name(value)}")
        out[k] = value
    return out


def entry_line(path: Path, key: str) -> int | None:
    """JSON has no line numbers in the stdlib: find the entry's key by text, good enough for a message."""
    try:
        for i, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if f'"{key}"' in text:
                return i
    except OSError:
        pass
    return None
