"""The CUDA path: the same code with another device and dtype. Skipped, not faked, without a GPU."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from tests.dryrun.conftest import NON_THINKING, THINKING, TWO_TURNS, Repo
from thinklint.dryrun.model import place
from thinklint.dryrun.run import dryrun
from thinklint.dryrun.settings import DryrunSettings
from thinklint.spec import load_spec

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device: the GPU path needs one")]


def test_auto_picks_cuda_and_bf16() -> None:
    placement = place("auto", "auto")
    assert placement.device.type == "cuda"
    assert placement.dtype_name == ("bf16" if torch.cuda.is_bf16_supported() else "fp32")


@pytest.mark.parametrize("dtype", ["bf16", "fp32"])
def test_confirmations_hold_on_cuda(repo: Repo, tiny_model_dir: Any, dtype: str) -> None:
    if dtype == "bf16" and not torch.cuda.is_bf16_supported():
        pytest.skip("this GPU has no bf16")
    spec = repo([THINKING, NON_THINKING, TWO_TURNS])
    settings = DryrunSettings(model=str(tiny_model_dir), device="cuda", dtype=dtype)
    result, _ = dryrun(load_spec(spec), settings)
    assert result.info.device == "cuda" and result.info.dtype == dtype
    assert result.findings == () and len(result.samples) == 3
    for s in result.samples:
        assert s.leak_delta == 0.0 and s.model_mean is not None


def test_empty_block_against_policy_on_cuda(repo: Repo, tiny_model_dir: Any) -> None:
    spec = repo([NON_THINKING], spec={"training": {"enable_thinking": True}})
    result, _ = dryrun(load_spec(spec), DryrunSettings(model=str(tiny_model_dir), device="cuda"))
    assert [f.rule for f in result.findings] == ["MSK005"]
