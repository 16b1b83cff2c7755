"""What the token-level checks share: the encoding of a sample, and turn names for messages."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from thinklint.context import Context
from thinklint.model import Sample
from thinklint.tokens.encoding import Encoding  # no transformers: the encoding is plain data


def encoded(sample: Sample, ctx: Context, *, untruncated: bool = False) -> Encoding | None:
    """The sample as its trainer trains it; None when it has no encoding (other rules say why)."""
    result = ctx.tokens.encode(sample, ctx.dataset, untruncated=untruncated)
    return result if isinstance(result, Encoding) else None


def prepare_encodings(samples: Sequence[Sample], ctx: Context, opts: Mapping[str, Any]) -> None:
    """The `prepare` of every check that reads encodings: the batch encoded with one tokenizer call."""
    ctx.tokens.prefetch(samples, ctx.dataset)


def render_failure(sample: Sample, ctx: Context) -> str | None:
    """Why the trainer's rendering of the sample failed, when a chat template is what failed.

    Under `training.framework: chat_template` the training sequence is the chat template's own
    rendering: a template that fails (a syntax error, its own raise_exception, a sandbox refusal,
    the time or size limit) or renders no assistant turn where the profile expects one leaves
    nothing to compare, and must be reported rather than pass silently.
    """
    result = ctx.tokens.encode(sample, ctx.dataset)
    kind = getattr(result, "kind", None)
    if kind == "template" or (kind == "spans" and sample.format != "text"):
        return str(getattr(result, "reason", ""))
    return None


def turn_name(sample: Sample, turn: int) -> str:
    """Segments index messages from 0 (tokenized samples: assistant turns); findings count from 1."""
    if sample.format == "tokenized":
        return f"assistant turn #{turn + 1}"
    return f"assistant turn {turn + 1}"


def first_supervised(enc: Encoding, turn: int) -> int | None:
    for seg in enc.of_turn(turn):
        at = enc.first_supervised_in(seg)
        if at is not None:
            return at
    return None
