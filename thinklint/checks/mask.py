"""mask (MSK): what the trainer supervises, against the declared policy and against itself."""

from __future__ import annotations

from typing import Any, Iterator, Mapping

from thinklint.checks.tokens_common import encoded, turn_name
from thinklint.context import Context
from thinklint.model import Sample, Violation
from thinklint.think import reasoning_of
from thinklint.tokens.encoding import IGNORE_INDEX
from thinklint.tokens.tokenized import out_of_vocabulary


def supervised_prompt(sample: Sample, ctx: Context, opts: Mapping[str, Any]) -> Iterator[Violation]:
    if ctx.spec.training.train_on_prompt and sample.format != "tokenized":
        return  # declared: the prompt is meant to be trained
    enc = encoded(sample, ctx)
    if enc is None:
        return
    for seg in enc.of_kind("prompt"):
        n = enc.supervised_in(seg)
        if n:
            at = enc.first_supervised_in(seg)
            assert at is not None
            yield Violation(f"{n} prompt tokens before {turn_name(sample, seg.turn)} are supervised, from token "
                            f"{at}: {ctx.tokens.around(enc.input_ids, at)}", seg.turn + 1)
            return


def no_supervised(sample: Sample, ctx: Context, opts: Mapping[str, Any]) -> Iterator[Violation]:
    enc = encoded(sample, ctx)
    if enc is None or enc.any_supervised:
        return
    if enc.truncated:
        yield Violation(f"no token is supervised after truncation to cutoff_len {ctx.spec.training.cutoff_len} "
                        f"(the sample has {enc.full_length} tokens)")
    else:
        yield Violation("no token is supervised: the sample costs compute and teaches nothing")


def eot_unsupervised(sample: Sample, ctx: Context, opts: Mapping[str, Any]) -> Iterator[Violation]:
    enc = encoded(sample, ctx)
    if enc is None:
        return
    eot = ctx.profile.end_of_turn[0]
    last = enc.turns[-1] if enc.turns else None
    for turn in enc.turns:
        segs = enc.of_turn(turn)
        if not any(enc.supervised_in(s) for s in segs if s.kind != "prompt"):
            continue  # a turn the trainer does not train at all (mask_history): nothing to learn to stop
        eots = [s for s in segs if s.kind == "eot"]
        if not eots:
            if not (enc.truncated and turn == last):  # truncation is the truncation rule's to report
                yield Violation(f"{turn_name(sample, turn)} has no end-of-turn token {eot}", turn + 1)
        elif enc.labels[eots[0].start] == IGNORE_INDEX:
            yield Violation(f"the end-of-turn token {eot} of {turn_name(sample, turn)} is masked: "
                            "the model never learns to stop", turn + 1)


def labels_misaligned(sample: Sample, ctx: Context, opts: Mapping[str, Any]) -> Iterator[Violation]:
    ids, labels = sample.input_ids, sample.labels
    if sample.format != "tokenized" or ids is None or labels is None:
        return
    if len(ids) != len(labels):
        yield Violation(f"labels has {len(labels)} entries but input_ids has {len(ids)}")
        return
    unknown = out_of_vocabulary(ids, ctx.tokens.tokenizer)
    if unknown:  # the trainer fails on it (an embedding index out of range)
        yield Violation(unknown)
        return
    supervised = [i for i, lab in enumerate(labels) if lab != IGNORE_INDEX]
    if not supervised:
        return
    same = sum(1 for i in supervised if labels[i] == ids[i])
    shifted = sum(1 for i in supervised if i + 1 < len(ids) and labels[i] == ids[i + 1])
    if shifted > same and shifted * 2 >= len(supervised):
        yield Violation(f"labels are already shifted by one ({shifted} of {len(supervised)} supervised labels equal "
                        "the next input token): transformers shifts them again, so the model learns to predict "
                        "two tokens ahead")
        return
    wrong = next((i for i in supervised if labels[i] != ids[i]), None)
    if wrong is not None:
        yield Violation(f"label {labels[wrong]} at token {wrong} differs from its input token {ids[wrong]} "
                        f"({ctx.tokens.around(ids, wrong)})")


def empty_think_policy(sample: Sample, ctx: Context, opts: Mapping[str, Any]) -> Iterator[Violation]:
    policy = ctx.spec.policy.empty_think
    if policy is None:
        return
    enc = encoded(sample, ctx)
    if enc is None:
        return
    for seg in enc.of_kind("empty_think"):
        n = enc.supervised_in(seg)
        if policy == "masked" and n:
            yield Violation(f"the empty think block of {turn_name(sample, seg.turn)} is supervised "
                            f"(policy.empty_think: masked): the model learns to skip its reasoning", seg.turn + 1)
        elif policy == "supervised" and n < len(seg):
            yield Violation(f"the empty think block of {turn_name(sample, seg.turn)} is masked "
                            f"(policy.empty_think: supervised): the model never learns to close the block "
                            "in non-thinking mode", seg.turn + 1)


def _history_turns(sample: Sample) -> set[int]:
    """Assistant messages (0-based) before the last user message."""
    last_user = max((i for i, m in enumerate(sample.messages) if m.role == "user"), default=-1)
    return {i for i, m in enumerate(sample.messages) if m.role == "assistant" and i < last_user}


def history_reasoning_policy(sample: Sample, ctx: Context, opts: Mapping[str, Any]) -> Iterator[Violation]:
    policy = ctx.spec.policy.history_reasoning
    if policy is None or sample.format == "tokenized":
        return
    enc = encoded(sample, ctx)
    if enc is None:
        return
    for turn in sorted(_history_turns(sample)):
        reasoning = [s for s in enc.of_turn(turn) if s.kind == "reasoning"]
        trained = any(enc.supervised_in(s) for s in reasoning)
        if policy == "drop" and trained:
            yield Violation(f"the reasoning of history {turn_name(sample, turn)} is supervised "
                            "(policy.history_reasoning: drop); serving drops it from the prompt", turn + 1)
        elif policy == "keep" and reasoning_of(sample.messages[turn], ctx.profile).present and not trained:
            where = "removed" if not reasoning else "masked"
            yield Violation(f"the reasoning of history {turn_name(sample, turn)} is {where} by the trainer "
                            "(policy.history_reasoning: keep)", turn + 1)
