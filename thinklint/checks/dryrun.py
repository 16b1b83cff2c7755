"""mask (MSK), confirmed by a forward pass: what `thinklint dryrun` measured, against the policy.

MSK001, MSK002 and MSK005 say here what their static checks say, from the loss the model actually
took; MSK007 and MSK008 say what only a forward pass can show. Pure: they read a `SampleLoss`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterator, Mapping

from thinklint.checks.tokens_common import turn_name
from thinklint.context import Context
from thinklint.model import Violation

if TYPE_CHECKING:  # every run imports the checks; only a dry run needs its results' module
    from thinklint.dryrun.result import SampleLoss


def _share(part: float, whole: float) -> str:
    return f" ({100 * part / whole:.0f}% of it)" if whole > 0 else ""


def supervised_prompt(r: SampleLoss, ctx: Context, opts: Mapping[str, Any]) -> Iterator[Violation]:
    if ctx.spec.training.train_on_prompt and r.sample.format != "tokenized":
        return  # declared: the prompt is meant to be trained
    segs = [s for s in r.segments if s.kind == "prompt" and s.supervised]
    if not segs:
        return
    n, loss = sum(s.supervised for s in segs), sum(s.loss_sum for s in segs)
    yield Violation(f"{n} prompt tokens before {turn_name(r.sample, segs[0].turn)} take loss in the forward pass: "
                    f"{loss:.2f} of the sample's {r.recomputed_sum:.2f} nats{_share(loss, r.recomputed_sum)}",
                    segs[0].turn + 1)


def no_supervised(r: SampleLoss, ctx: Context, opts: Mapping[str, Any]) -> Iterator[Violation]:
    if r.loss_tokens or r.error:
        return
    labelled = sum(1 for label in r.encoding.labels if label != -100)
    if labelled == 1 and r.first_label_dropped:
        why = "its only label is on the first token, which the shift drops"
    else:
        why = "every label is -100"
    yield Violation(f"no token takes loss in the forward pass ({why}): the sample's loss is 0/0, "
                    f"its {r.tokens} tokens cost compute and teach nothing")


def empty_think_policy(r: SampleLoss, ctx: Context, opts: Mapping[str, Any]) -> Iterator[Violation]:
    policy = ctx.spec.policy.empty_think
    if policy is None:
        return
    for s in r.segments:
        if s.kind != "empty_think":
            continue
        name = turn_name(r.sample, s.turn)
        if policy == "masked" and s.supervised:
            yield Violation(f"the empty think block of {name} takes loss in the forward pass: {s.supervised} tokens, "
                            f"{s.loss_sum:.2f} nats (policy.empty_think: masked)", s.turn + 1)
        elif policy == "supervised" and s.supervised < s.tokens:
            yield Violation(f"only {s.supervised} of the {s.tokens} tokens of the empty think block of {name} take "
                            "loss in the forward pass (policy.empty_think: supervised)", s.turn + 1)


def loss_mismatch(r: SampleLoss, ctx: Context, opts: Mapping[str, Any]) -> Iterator[Violation]:
    yield from _sample_mismatch(r)
    yield from _batch_mismatch(r)


def _sample_mismatch(r: SampleLoss) -> Iterator[Violation]:
    tol = r.tolerance
    mean = r.recomputed_mean
    if r.error:
        yield Violation(f"the model's loss cannot be confirmed: {r.error}")
    elif mean is not None and r.model_mean is not None and not tol.close(r.model_mean, mean):
        yield Violation(f"the model's loss {r.model_mean:.6f} differs from the recomputed {mean:.6f} "
                        f"(shifted cross-entropy, mean over the {r.loss_tokens} supervised tokens; "
                        f"allowed: {tol.describe()})")
    elif r.loss_tokens and r.model_sum is not None and not tol.close(r.model_sum, r.recomputed_sum):
        yield Violation(f"the model's summed loss {r.model_sum:.4f} (num_items_in_batch, as the Trainer reduces) "
                        f"differs from the recomputed sum {r.recomputed_sum:.4f}")


def _batch_mismatch(r: SampleLoss) -> Iterator[Violation]:
    """Said once per batch, on its first sample: the forward pass's own loss for the whole batch."""
    b = r.batch
    if not r.first_in_batch:
        return
    if b.forward_error:
        yield Violation(f"the forward pass with labels failed for its batch of {b.size} samples: {b.forward_error}")
    elif b.forward_mean is not None and b.recomputed_mean is not None \
            and not r.tolerance.close(b.forward_mean, b.recomputed_mean):
        yield Violation(f"the forward pass's loss {b.forward_mean:.6f} for its batch of {b.size} samples differs "
                        f"from the recomputed batch mean {b.recomputed_mean:.6f}: the forward adds or drops a term "
                        "(an auxiliary loss, another reduction)")


def masked_label_leak(r: SampleLoss, ctx: Context, opts: Mapping[str, Any]) -> Iterator[Violation]:
    if r.leak_delta is None or r.model_mean is None:
        return
    if r.leak_delta > r.tolerance.atol + r.tolerance.rtol * abs(r.model_mean):
        yield Violation(f"the model's loss moved by {r.leak_delta:.4g} (from {r.model_mean:.4f}) when its predictions "
                        f"at {r.leak_positions} masked positions were replaced by noise: positions labelled -100 "
                        "leak into the loss")
