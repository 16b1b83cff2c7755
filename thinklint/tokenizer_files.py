"""What a spec's tokenizer folder says without loading a tokenizer (and without importing transformers).

Structural rules need two facts from it: where the serving chat template is (model.profile: auto) and
the strings of the bos/eos tokens, which profiles write as {bos_token}/{eos_token} in their turn format.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from thinklint.resources import package_folder
from thinklint.spec import Spec

SPECIAL_KEYS = ("bos_token", "eos_token")


def local_path(spec: Spec, ref: str) -> Path:
    """`ref` as a path: a `pkg:PACKAGE/FOLDER` inside an installed package, else relative to the spec."""
    packaged = package_folder(ref)
    if packaged is not None:
        return packaged
    path = Path(ref).expanduser()
    return path if path.is_absolute() else spec.root / path


def tokenizer_folder(spec: Spec) -> Path | None:
    """The tokenizer's folder when model.tokenizer is on disk; None for a hub id or no tokenizer."""
    if not spec.model.tokenizer:
        return None
    path = local_path(spec, spec.model.tokenizer)
    return path if path.is_dir() else None


def _token(value: Any) -> str | None:
    if isinstance(value, dict):  # {"content": "<s>", "lstrip": false, ...}
        value = value.get("content")
    return value if isinstance(value, str) and value else None


def special_tokens(spec: Spec) -> dict[str, str]:
    """bos_token/eos_token as tokenizer_config.json (or special_tokens_map.json) writes them; empty when
    the tokenizer is not on disk or the files do not say."""
    folder = tokenizer_folder(spec)
    out: dict[str, str] = {}
    if folder is None:
        return out
    for name in ("tokenizer_config.json", "special_tokens_map.json"):
        try:
            data = json.loads((folder / name).read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError):  # json's decoder recurses once per level
            continue
        if not isinstance(data, dict):
            continue
        for key in SPECIAL_KEYS:
            token = _token(data.get(key))
            if token and key not in out:
                out[key] = token
    return out
