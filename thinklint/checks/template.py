"""template (TPL): what training shows the model against what serving will show it."""

from __future__ import annotations

from typing import Any, Iterator, Mapping, Sequence

from thinklint.checks.tokens_common import encoded, first_supervised, prepare_encodings, render_failure, turn_name
from thinklint.context import Context
from thinklint.errors import TemplateError
from thinklint.model import Sample, Violation
from thinklint.think import memoised, reasoning_of
from thinklint.tokens.encoding import common_prefix


#: how much of the first line of a turn's reasoning must appear in its rendering (TPL003)
_NEEDLE = 200


def _first_difference(a: list[int] | tuple[int, ...], b: list[int] | tuple[int, ...]) -> int:
    return common_prefix(a, b)


def _checked_turns(sample: Sample, ctx: Context) -> list[tuple[int, int, bool]]:
    """(turn, its first supervised token, serving mode) for each turn the prefix invariant is checked on.

    Found once per sample (`prepare_prompts` asks first, the rule again): the reasoning parse is not cheap."""
    return list(memoised(sample, ("checked_turns",), ctx, _list_checked_turns, sample, ctx))


def _list_checked_turns(sample: Sample, ctx: Context) -> list[tuple[int, int, bool]]:
    return list(_find_checked_turns(sample, ctx))


def _find_checked_turns(sample: Sample, ctx: Context) -> Iterator[tuple[int, int, bool]]:
    if sample.format == "tokenized" or not sample.messages:
        return
    enc = encoded(sample, ctx)
    if enc is None:
        return
    serving = ctx.tokens.serving
    for turn in enc.turns:
        c = first_supervised(enc, turn)
        if c is None or sample.messages[turn].role != "assistant":
            continue
        yield turn, c, serving.thinking_for(reasoning_of(sample.messages[turn], ctx.profile).present)


def _serving_prompt(sample: Sample, turn: int, thinking: bool, ctx: Context) -> str:
    """The rendered serving prompt of `turn`, rendered once per batch (`prepare_prompts` renders it first)."""
    key = ("prompt", sample.dataset, sample.location, sample.digest, turn, thinking)
    hit = ctx.tokens.recall(key)
    if hit is None:
        try:
            hit = ctx.tokens.serving.prompt(sample, turn, thinking)
        except TemplateError as exc:
            hit = exc
        ctx.tokens.remember(key, hit)
    if isinstance(hit, TemplateError):
        raise hit
    return str(hit)


def prepare_prompts(samples: Sequence[Sample], ctx: Context, opts: Mapping[str, Any]) -> None:
    """Render every serving prompt of the batch, then tokenize them all in one tokenizer call."""
    prepare_encodings(samples, ctx, opts)
    texts = []
    for sample in samples:
        for turn, _c, thinking in _checked_turns(sample, ctx):
            try:
                texts.append(_serving_prompt(sample, turn, thinking, ctx))
            except TemplateError:
                continue
    ctx.tokens.tokenize_ahead(texts)


def prefix_invariant(sample: Sample, ctx: Context, opts: Mapping[str, Any]) -> Iterator[Violation]:
    tokens = ctx.tokens
    if sample.format == "tokenized" or not sample.messages:
        return
    enc = encoded(sample, ctx)
    if enc is None:
        failure = render_failure(sample, ctx)
        if failure:
            yield Violation(f"the training sequence cannot be built, so train/serve consistency cannot be "
                            f"checked: {failure}")
        return
    for turn, c, thinking in _checked_turns(sample, ctx):
        try:
            prompt = tokens.tokenize(_serving_prompt(sample, turn, thinking, ctx))
        except TemplateError as exc:
            yield Violation(f"the serving template cannot render the prompt of {turn_name(sample, turn)}: {exc}",
                            turn + 1)
            return
        end = max(s.end for s in enc.of_turn(turn))
        train = enc.input_ids[:end]
        mode = "thinking" if thinking else "non-thinking"
        d = _first_difference(prompt, train)
        if d < len(prompt):
            yield Violation(
                f"{turn_name(sample, turn)}: the {mode} serving prompt is not a prefix of the training sequence; "
                f"they differ at token {d}: training has {tokens.around(train, d)}, serving has "
                f"{tokens.around(prompt, d)}", turn + 1)
        elif len(prompt) < c:
            free = tokens.decode(train[len(prompt):c])
            yield Violation(
                f"{turn_name(sample, turn)}: training masks {free!r} after the {mode} serving prompt ends; "
                "the model is given tokens in training that it must write itself when served", turn + 1)


def text_mismatch(sample: Sample, ctx: Context, opts: Mapping[str, Any]) -> Iterator[Violation]:
    if sample.format != "text" or not sample.messages or sample.text is None:
        return
    tokens = ctx.tokens
    try:
        rendered = tokens.serving.render(sample.messages, None, generation_prompt=False, thinking=None)
    except TemplateError as exc:
        yield Violation(f"the serving template cannot render this conversation: {exc}")
        return
    if rendered == sample.text:
        return
    a, b = tokens.tokenize(sample.text), tokens.tokenize(rendered)
    d = _first_difference(a, b)
    yield Violation(f"the text differs from the serving template's rendering of its turns at token {d}: "
                    f"the text has {tokens.around(a, d)}, the template renders {tokens.around(b, d)}")


def _first_line(text: str) -> str:
    """`text.splitlines()[0]` without splitting all of a long reasoning text (IndexError when empty, as that).

    The first line of a prefix one character longer than what is kept is the kept part of the first
    line: a break at the cut ('\\r' whose '\\n' is cut off) is a break either way."""
    return text[:_NEEDLE + 1].splitlines()[0]


def reasoning_dropped(sample: Sample, ctx: Context, opts: Mapping[str, Any]) -> Iterator[Violation]:
    if sample.format in ("tokenized", "text"):
        return
    serving = ctx.tokens.serving
    for i, m in enumerate(sample.messages):
        if m.role != "assistant":
            continue
        reasoning = reasoning_of(m, ctx.profile)
        if not reasoning.present:
            continue
        try:
            text = serving.render(sample.messages[:i + 1], sample.tool_list(), generation_prompt=False, thinking=True)
        except TemplateError:
            return  # the prefix invariant rule reports a template that cannot render
        needle = _first_line(reasoning.text.strip())[:_NEEDLE]
        if needle and needle not in text:
            where = f"in {reasoning.field!r}" if reasoning.field else "inline"
            yield Violation(f"the serving template drops the reasoning of {turn_name(sample, i)} (written {where}) "
                            "even as the last turn: training on it teaches what serving never shows", i + 1)
