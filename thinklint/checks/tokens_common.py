"""What the token-level checks share: the encoding of a sample, and turn names for messages."""

from __future__ import annotations

from thinklint.context import Context
from thinklint.model import Sample
from thinklint.tokens.encoding import Encoding  # no transformers: the encoding is plain data


def encoded(sample: Sample, ctx: Context, *, untruncated: bool = False) -> Encoding | None:
    """The sample as its trainer trains it; None when it has no encoding (other rules say why)."""
    result = ctx.tokens.encode(sample, ctx.dataset, untruncated=untruncated)
    return result if isinstance(result, Encoding) else None


def turn_name(sample: Sample, turn: int) -> str:
    """Segments index messages from 0 (tokenized samples: assistant turns); findings count from 1."""
    if sample.format == "tokenized":
        return f"assistant turn #{turn + 1}"
    return f"assistant turn {turn + 1}"


def first_supervised(enc: Encoding, turn: int) -> int | None:
    for seg in enc.of_turn(turn):
        for i in range(seg.start, seg.end):
            if enc.labels[i] != -100:
                return i
    return None
