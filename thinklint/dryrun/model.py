"""Device, dtype and the model: CUDA with bf16 when there is a GPU, otherwise the CPU in fp32.

The CUDA path is the same code as the CPU path: only the device and dtype chosen here differ.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from thinklint.app import UsageError

DTYPES = {"bf16": torch.bfloat16, "fp32": torch.float32}


@dataclass(frozen=True)
class Placement:
    device: torch.device
    dtype: torch.dtype

    @property
    def dtype_name(self) -> str:
        return next(k for k, v in DTYPES.items() if v == self.dtype)

    @property
    def dtype_bytes(self) -> int:
        return torch.empty((), dtype=self.dtype).element_size()


def place(device: str = "auto", dtype: str = "auto") -> Placement:
    """auto: CUDA when available, else CPU; bf16 on a GPU that supports it, fp32 otherwise.

    fp32 on the CPU because bf16 matmuls there are slow and, for a 1e-4 tolerance, needlessly coarse.
    """
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise UsageError("--device cuda: no CUDA device is available to torch "
                         f"(torch {torch.__version__}, built {'with' if torch.version.cuda else 'without'} CUDA)")
    if device not in ("cuda", "cpu"):
        raise UsageError(f"unknown device {device!r}: auto, cuda or cpu")
    if dtype == "auto":
        dtype = "bf16" if device == "cuda" and torch.cuda.is_bf16_supported() else "fp32"
    if dtype not in DTYPES:
        raise UsageError(f"unknown dtype {dtype!r}: auto, bf16 or fp32")
    return Placement(torch.device(device), DTYPES[dtype])


def load_model(ref: str, placement: Placement, trust_remote_code: bool = False) -> Any:
    """AutoModelForCausalLM from a local folder or a hub id (HF_HUB_OFFLINE is honoured), in eval mode."""
    from transformers import AutoModelForCausalLM
    from transformers.utils import logging as hf_logging

    where = str(Path(ref).expanduser()) if Path(ref).expanduser().exists() else ref
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]  # its bar would interleave with the report
    try:
        model = AutoModelForCausalLM.from_pretrained(where, dtype=placement.dtype,
                                                     trust_remote_code=trust_remote_code)
    except Exception as exc:  # OSError, ValueError, HTTP errors: all mean "cannot load this"
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        hint = (" (remote code is off: pass --trust-remote-code if you trust it)"
                if "trust_remote_code" in str(exc) else "")
        raise UsageError(f"cannot load model {ref!r}: {first}{hint}") from None
    finally:
        if bars:
            hf_logging.enable_progress_bar()  # type: ignore[no-untyped-call]
    return prepare(model, placement)


def prepare(model: Any, placement: Placement) -> Any:
    """Move a loaded model to the placement and switch off dropout (eval mode)."""
    model = model.to(device=placement.device, dtype=placement.dtype)
    model.eval()
    return model


def max_positions(model: Any) -> int | None:
    config = getattr(model.config, "text_config", None) or model.config
    value = getattr(config, "max_position_embeddings", None)
    return int(value) if isinstance(value, int) and value > 0 else None


def embedding_rows(model: Any) -> int | None:
    try:
        return int(model.get_input_embeddings().num_embeddings)
    except (AttributeError, NotImplementedError):
        return None


def output_rows(model: Any) -> int | None:
    """How many logits the model returns per position (its vocabulary as the loss sees it)."""
    try:
        head = model.get_output_embeddings()
    except (AttributeError, NotImplementedError):
        head = None
    rows = getattr(head, "out_features", None)
    if isinstance(rows, int):
        return rows
    config = getattr(model.config, "text_config", None) or model.config
    vocab = getattr(config, "vocab_size", None)
    return vocab if isinstance(vocab, int) else None
