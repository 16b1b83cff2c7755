"""The dry run through its API, on the tiny Qwen3 (CPU, fp32): confirmations on correct labels, and
every planted defect caught as a mask finding."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from tests.dryrun.conftest import GOOD_LABELS, IDS, NON_THINKING, THINKING, TWO_TURNS, Repo, tokenized
from tests.dryrun.planted import planted
from thinklint.dryrun.result import DryrunResult, Tolerance
from thinklint.dryrun.run import dryrun
from thinklint.dryrun.settings import DryrunSettings
from thinklint.spec import load_spec

TOL = Tolerance()


def run(spec_path: Any, model: Any, **settings: Any) -> DryrunResult:
    result, _ = dryrun(load_spec(spec_path), DryrunSettings(model="tiny-qwen3", device="cpu", **settings),
                       model=model)
    return result


def rules_of(result: DryrunResult) -> list[str]:
    return sorted({f.rule for f in result.findings})


def test_correct_labels_are_confirmed(repo: Repo, tiny_model: Any) -> None:
    spec = repo([THINKING, NON_THINKING, TWO_TURNS])
    result = run(spec, tiny_model)
    assert result.findings == ()
    assert len(result.samples) == 3 and not result.skipped
    for s in result.samples:
        assert s.loss_tokens > 0
        assert s.model_mean is not None and s.recomputed_mean is not None
        assert TOL.close(s.model_mean, s.recomputed_mean)
        assert s.model_sum is not None and TOL.close(s.model_sum, s.recomputed_sum)
        assert s.leak_delta == 0.0 and s.leak_positions > 0
        # the per-segment split adds up to the sample's loss
        assert sum(r.loss_sum for r in s.totals()) == pytest.approx(s.recomputed_sum, rel=1e-12)
        assert sum(r.supervised for r in s.totals()) == s.loss_tokens
        assert sum(r.tokens for r in s.totals()) == s.tokens
        prompt = next(r for r in s.totals() if r.kind == "prompt")
        assert prompt.supervised == 0
    batch = result.samples[0].batch
    assert batch.forward_mean is not None and batch.recomputed_mean is not None
    assert TOL.close(batch.forward_mean, batch.recomputed_mean)


def test_each_samples_loss_is_what_it_gets_alone(repo: Repo, tiny_model: Any) -> None:
    """Right padding leaves a sample's logits alone: its loss in a padded batch is the forward loss of
    the sample by itself, computed here by the model in a separate, unpadded forward pass."""
    spec = repo([THINKING, NON_THINKING, TWO_TURNS])
    result = run(spec, tiny_model, batch_size=3)
    assert result.samples[0].batch.size == 3
    for s in result.samples:
        ids = torch.tensor([s.encoding.input_ids])
        labels = torch.tensor([s.encoding.labels])
        with torch.inference_mode():
            alone = float(tiny_model(input_ids=ids, labels=labels).loss)
        assert s.recomputed_mean is not None and TOL.close(alone, s.recomputed_mean)


def test_segments_of_a_thinking_sample(repo: Repo, tiny_model: Any) -> None:
    result = run(repo([THINKING]), tiny_model)
    kinds = {r.kind: r for r in result.samples[0].totals()}
    assert set(kinds) == {"prompt", "reasoning", "answer", "eot"}
    assert kinds["eot"].supervised == 2  # <|im_end|> and the newline LLaMA-Factory appends
    assert kinds["reasoning"].supervised == kinds["reasoning"].tokens


def test_supervised_prompt_is_caught(repo: Repo, tiny_model: Any) -> None:
    spec = repo([tokenized(IDS)], dataset={"format": "tokenized"})
    result = run(spec, tiny_model)
    prompt = [f for f in result.findings if f.rule == "MSK001"]
    assert len(prompt) == 1 and prompt[0].category == "mask" and prompt[0].severity == "error"
    # the first token's label is never used by the shift: 8 of the 9 prompt tokens take loss
    assert prompt[0].message.startswith("8 prompt tokens before assistant turn #1 take loss in the forward pass")
    assert prompt[0].line == 1 and prompt[0].sample == 0


def test_declared_train_on_prompt_is_not_a_finding(repo: Repo, tiny_model: Any) -> None:
    spec = repo([THINKING], spec={"training": {"train_on_prompt": True}})
    result = run(spec, tiny_model)
    assert "MSK001" not in rules_of(result)
    prompt = next(r for r in result.samples[0].totals() if r.kind == "prompt")
    assert prompt.supervised == prompt.tokens - 1


def test_all_masked_sample_is_caught(repo: Repo, tiny_model: Any) -> None:
    spec = repo([tokenized([-100] * len(IDS)), tokenized(GOOD_LABELS)], dataset={"format": "tokenized"})
    result = run(spec, tiny_model)
    assert rules_of(result) == ["MSK002"]
    (finding,) = result.findings
    assert finding.sample == 0 and "no token takes loss in the forward pass (every label is -100)" in finding.message
    empty = result.samples[0]
    assert empty.loss_tokens == 0 and empty.model_mean is None and empty.leak_delta is None


def test_a_label_only_on_the_first_token_takes_no_loss(repo: Repo, tiny_model: Any) -> None:
    """Only a forward pass shows it: the static view sees one supervised label, the shift drops it."""
    spec = repo([tokenized([IDS[0]] + [-100] * (len(IDS) - 1))], dataset={"format": "tokenized"})
    result = run(spec, tiny_model)
    msk002 = [f for f in result.findings if f.rule == "MSK002"]
    assert msk002 and "its only label is on the first token, which the shift drops" in msk002[0].message


def test_empty_block_supervised_against_policy_is_caught(repo: Repo, tiny_model: Any) -> None:
    # LLaMA-Factory's default enable_thinking: true trains the empty block of a non-thinking sample
    spec = repo([NON_THINKING, THINKING], spec={"training": {"enable_thinking": True}})
    result = run(spec, tiny_model)
    assert rules_of(result) == ["MSK005"]
    (finding,) = result.findings
    assert finding.sample == 0 and "the empty think block of assistant turn 2 takes loss in the forward pass: " \
        "4 tokens" in finding.message
    empty = next(r for r in result.samples[0].totals() if r.kind == "empty_think")
    assert (empty.tokens, empty.supervised) == (4, 4) and empty.loss_sum > 0


def test_empty_block_masked_against_supervised_policy(repo: Repo, tiny_model: Any) -> None:
    spec = repo([NON_THINKING], spec={"policy": {"empty_think": "supervised"}})
    result = run(spec, tiny_model)
    assert any(f.rule == "MSK005" and "only 0 of the 4 tokens" in f.message for f in result.findings)


def test_unshifted_model_loss_is_caught(repo: Repo, tiny_model: Any) -> None:
    spec = repo([THINKING, NON_THINKING])
    with planted(tiny_model, "unshifted") as m:
        result = run(spec, m)
    mismatches = [f for f in result.findings if f.rule == "MSK007"]
    assert {f.sample for f in mismatches} == {0, 1}
    assert all("differs from the recomputed" in f.message for f in mismatches)
    # restored: the same model passes again
    assert run(spec, tiny_model).findings == ()


def test_leaking_model_loss_is_caught(repo: Repo, tiny_model: Any) -> None:
    spec = repo([THINKING])
    with planted(tiny_model, "z_loss_everywhere") as m:
        result = run(spec, m)
    assert rules_of(result) == ["MSK007", "MSK008"]
    leak = next(f for f in result.findings if f.rule == "MSK008")
    assert "masked positions were replaced by noise" in leak.message


def test_a_label_that_is_no_token_id_is_reported_not_crashed_on(repo: Repo, tiny_model: Any) -> None:
    bad = tokenized([-1] * 13 + IDS[13:])
    spec = repo([bad, tokenized(GOOD_LABELS)], dataset={"format": "tokenized"})
    result = run(spec, tiny_model, batch_size=2)
    mismatch = [f for f in result.findings if f.rule == "MSK007"]
    assert [f.sample for f in mismatch] == [0]
    assert "label -1 at token 1 is not a token id of the model" in mismatch[0].message
    good = result.samples[1]
    assert good.error is None and good.model_mean is not None and good.recomputed_mean is not None
    assert TOL.close(good.model_mean, good.recomputed_mean)


def test_forward_adding_a_term_is_caught_on_the_batch(repo: Repo, tiny_model: Any,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A forward pass that adds an auxiliary loss (as MoE models do with router logits on) while its
    loss function is right: only the comparison of the batch's forward loss can see it."""
    original = type(tiny_model).forward

    def forward(self: Any, *args: Any, **kwargs: Any) -> Any:
        out = original(self, *args, **kwargs)
        if out.loss is not None:
            out.loss = out.loss + 0.5
        return out

    monkeypatch.setattr(type(tiny_model), "forward", forward)
    result = run(repo([THINKING, NON_THINKING]), tiny_model, batch_size=2)
    batch = [f for f in result.findings if f.rule == "MSK007"]
    assert len(batch) == 1 and "for its batch of 2 samples" in batch[0].message


def test_ignored_rules_stay_quiet(repo: Repo, tiny_model: Any) -> None:
    spec = repo([NON_THINKING], spec={"training": {"enable_thinking": True}, "rules": {"ignore": ["MSK005"]}})
    assert run(spec, tiny_model).findings == ()


def test_samples_limit_and_skipped_records(repo: Repo, tiny_model: Any, tmp_path: Any) -> None:
    spec = repo([THINKING, NON_THINKING, TWO_TURNS, THINKING])
    with open(tmp_path / "data.jsonl", "a", encoding="utf-8") as fh:
        fh.write("{not json\n")
    assert len(run(spec, tiny_model, samples=2).samples) == 2
    result = run(spec, tiny_model, samples=10)
    assert len(result.samples) == 4
    assert [s.location.line for s in result.skipped] == [5] and "not a valid sample" in result.skipped[0].reason


def test_results_keep_the_data_order(repo: Repo, tiny_model: Any) -> None:
    """Batches run longest first; results and findings come back in the order of the data."""
    spec = repo([NON_THINKING, TWO_TURNS, THINKING])
    result = run(spec, tiny_model, batch_size=1)
    assert [s.location.index for s in result.samples] == [0, 1, 2]
    assert result.samples[0].batch.index == 2  # the shortest sample ran last


def test_a_loss_function_that_fails_is_a_finding(repo: Repo, tiny_model: Any) -> None:
    def broken(logits: Any, labels: Any, vocab_size: int, **kwargs: Any) -> Any:
        raise ValueError("Expected input batch_size to match target batch_size")

    tiny_model.loss_function = broken
    try:
        result = run(repo([THINKING, NON_THINKING]), tiny_model, batch_size=2)
    finally:
        del tiny_model._loss_function
    messages = [(f.sample, f.message) for f in result.findings if f.rule == "MSK007"]
    assert {s for s, _ in messages} == {0, 1}
    assert any("the model's loss function failed: ValueError" in m for _, m in messages)
    assert any("the forward pass with labels failed for its batch of 2 samples" in m for _, m in messages)
    # measured all the same, from the logits of a forward pass without labels
    assert all(s.recomputed_mean is not None and s.loss_tokens for s in result.samples)
