from __future__ import annotations

import os

# No test may reach a model hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")


import pytest  # noqa: E402


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> object:
    """A tiny random Qwen3 saved to a folder, for `--model` (built from a config, never downloaded)."""
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from tests.dryrun.tiny import build_tiny_qwen3

    return build_tiny_qwen3(tmp_path_factory.mktemp("tiny-qwen3"))


@pytest.fixture(scope="session")
def tiny_model(tiny_model_dir: object) -> object:
    """That model, loaded once (float32, CPU, eval mode): tests plant defects into it and restore it."""
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(str(tiny_model_dir))
    model.eval()
    return model
