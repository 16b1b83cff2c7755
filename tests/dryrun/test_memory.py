"""Memory safety: batches planned from token counts, out-of-memory turned into a retry or a clear
message, samples too long for the model reported instead of crashed on."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from click.testing import CliRunner

from tests.dryrun.conftest import NON_THINKING, THINKING, TWO_TURNS, Repo
from thinklint.app import UsageError
from thinklint.cli import main
from thinklint.dryrun import engine
from thinklint.dryrun.batching import Footprint, plan_batches
from thinklint.dryrun.run import dryrun
from thinklint.dryrun.settings import DryrunSettings
from thinklint.spec import load_spec

LONG = {"messages": [{"role": "user", "content": "count: " + "one two three " * 200},
                     {"role": "assistant", "content": "<think>\nmany\n</think>\n\nmany"}]}


def run(spec_path: Any, model: Any, **settings: Any) -> Any:
    return dryrun(load_spec(spec_path), DryrunSettings(model="tiny", device="cpu", **settings), model=model)[0]


def test_plan_longest_first_within_the_budget() -> None:
    lengths = [10, 50, 30, 40, 20]
    plan = plan_batches(lengths, lambda size, length: size * length <= 100)
    assert plan == [[1, 3], [2, 4, 0]]  # 2 x 50 (a third would pad to 150), then 3 x 30
    assert plan_batches(lengths, lambda size, length: False) == [[1], [3], [2], [4], [0]]
    assert plan_batches(lengths, lambda size, length: True, fixed=2) == [[1, 3], [2, 4], [0]]
    assert plan_batches(lengths, lambda size, length: True, cap=3) == [[1, 3, 2], [4, 0]]
    assert plan_batches([], lambda size, length: True) == []


def test_footprint_grows_with_batch_and_length() -> None:
    fp = Footprint(vocab=151936, hidden=4096, intermediate=12288, heads=32, dtype_bytes=2)
    assert fp.batch_bytes(2, 1024) > fp.batch_bytes(1, 1024) > fp.batch_bytes(1, 512)
    # a 4k-token sample of an 8B Qwen3 in bf16: logits kept (1.2 GiB), their float32 loss (4.6 GiB),
    # attention scores on the CPU path (2 GiB)
    assert 6 << 30 < fp.batch_bytes(1, 4096) < 10 << 30


def test_batches_shrink_to_the_memory_budget(repo: Repo, tiny_model: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = repo([THINKING, NON_THINKING, TWO_TURNS])
    assert run(spec, tiny_model).info.batches == 1
    monkeypatch.setattr(engine, "budget_bytes", lambda placement: 1)
    result = run(spec, tiny_model)
    assert result.info.batches == 3 and result.info.batch_size == "1, sized to fit"
    assert result.findings == ()


def _oom_above(monkeypatch: pytest.MonkeyPatch, size: int) -> None:
    real = engine._forward

    def forward(model: Any, placement: Any, members: list[Any], *args: Any) -> Any:
        if len(members) > size:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real(model, placement, members, *args)

    monkeypatch.setattr(engine, "_forward", forward)


def test_automatic_batch_is_split_after_out_of_memory(repo: Repo, tiny_model: Any,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    _oom_above(monkeypatch, 1)
    result = run(repo([THINKING, NON_THINKING, TWO_TURNS]), tiny_model)
    assert len(result.samples) == 3 and result.findings == () and result.info.batches == 3
    assert any("out of memory with an automatic batch of 3 samples" in n and "--batch-size 1" in n
               for n in result.info.notes)


def test_given_batch_size_out_of_memory_suggests_a_smaller_one(repo: Repo, tiny_model: Any,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    _oom_above(monkeypatch, 1)
    spec = repo([THINKING, NON_THINKING, TWO_TURNS, THINKING])
    with pytest.raises(UsageError, match=r"out of memory on cpu \(fp32\) with a batch of 4 samples .*"
                                         r"try --batch-size 2"):
        run(spec, tiny_model, batch_size=4)


def test_out_of_memory_message_on_the_command_line(repo: Repo, tiny_model_dir: Any,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    _oom_above(monkeypatch, 1)
    repo([THINKING, NON_THINKING])
    result = CliRunner().invoke(main, ["dryrun", "--model", str(tiny_model_dir), "--batch-size", "2"])
    assert result.exit_code == 2
    assert "thinklint: error: out of memory" in result.output and "try --batch-size 1" in result.output
    assert "Traceback" not in result.output


def test_a_sample_that_does_not_fit_alone_is_skipped(repo: Repo, tiny_model: Any,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    _oom_above(monkeypatch, 0)
    result = run(repo([THINKING]), tiny_model)
    assert result.samples == () and "do not fit in memory on cpu (fp32), even alone" in result.skipped[0].reason


def test_other_errors_are_not_taken_for_out_of_memory(repo: Repo, tiny_model: Any,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    def forward(*args: Any) -> Any:
        raise RuntimeError("shape mismatch")

    monkeypatch.setattr(engine, "_forward", forward)
    with pytest.raises(RuntimeError, match="shape mismatch"):
        run(repo([THINKING]), tiny_model)
    assert engine.is_oom(RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 10 GB"))


def test_samples_longer_than_the_model_are_reported(repo: Repo, tiny_model: Any) -> None:
    spec = repo([THINKING, LONG, NON_THINKING], spec={"training": {"cutoff_len": 4096}})
    result = run(spec, tiny_model)
    assert [s.location.line for s in result.samples] == [1, 3]
    (skipped,) = result.skipped
    assert skipped.location.line == 2
    assert "more than the model's max_position_embeddings 512: not run" in skipped.reason
