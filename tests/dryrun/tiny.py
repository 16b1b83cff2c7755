"""A tiny Qwen3 with random weights, built from a config: the model every dry-run test runs through.

Never a download. The vocabulary is the real Qwen3 embedding size (151936 rows, more than the
tokenizer's 151669 tokens, as in the released checkpoints), so the real tokenizer's ids fit.
`initializer_range` is large on purpose: a model initialised like a real one predicts an almost
uniform distribution (every token costs about ln 151936 = 11.93 nats), and a defect such as an
unshifted loss would then move the loss by less than the tolerance; peaked random predictions
make every planted defect visible, as a trained model's would.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

QWEN3_VOCAB = 151936
MAX_POSITIONS = 512  # short, so that a test can build a sample longer than the model's context


def tiny_config() -> Any:
    from transformers import Qwen3Config

    return Qwen3Config(
        vocab_size=QWEN3_VOCAB, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, head_dim=16, max_position_embeddings=MAX_POSITIONS,
        initializer_range=0.5, tie_word_embeddings=True, pad_token_id=151643, eos_token_id=151645,
        bos_token_id=151643,
    )


def build_tiny_qwen3(folder: Path, seed: int = 0) -> Path:
    """Save a seeded random tiny Qwen3 to `folder` (config.json + model.safetensors, about 40 MB)."""
    import torch
    from transformers import Qwen3ForCausalLM
    from transformers.utils import logging as hf_logging

    torch.manual_seed(seed)
    model = Qwen3ForCausalLM(tiny_config())
    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    try:
        model.save_pretrained(folder)
    finally:
        hf_logging.enable_progress_bar()  # type: ignore[no-untyped-call]
    return folder


if __name__ == "__main__":  # python -m tests.dryrun.tiny OUT: the model of the README's dry run
    import sys

    print(build_tiny_qwen3(Path(sys.argv[1] if len(sys.argv) > 1 else "tiny-qwen3")))
