"""LLaMA-Factory 0.9.5 supervised preprocessing, re-implemented: (input_ids, labels) token for token.

Mirrors `ReasoningTemplate.encode_multiturn`, `Template._encode` and
`SupervisedDatasetProcessor._encode_data_example` (notes/llamafactory.md has the source lines),
and labels every token with what it is (prompt, reasoning, empty block, answer, end of turn) so
rules can ask what the trainer supervises without re-deriving its quirks.

Reasoning in `reasoning_content` is ignored, as LLaMA-Factory's converters ignore it: such a turn
is encoded as if it had none (see `lf_convert.ignored_reasoning`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from thinklint.model import Message
from thinklint.spec import TrainingSpec
from thinklint.tokens.encoding import IGNORE_INDEX, Encoding, Tokenizer, common_prefix, segments_from_runs
from thinklint.tokens.lf_convert import LFExample, LlamaFactoryReject, convert
from thinklint.tokens.lf_templates import (
    Element,
    LlamaFactoryTemplate,
    SpecialElement,
    TokenElement,
    load_llamafactory,
)

#: ids, and what they are as runs of (kind, count): kinds are kept run by run, never token by token
_Tokens = tuple[list[int], list[tuple[str, int]]]


def remove_thought(template: LlamaFactoryTemplate, content: str) -> str:
    """`Template.remove_thought`: drop every exact-form block, then leading newlines."""
    open_word, close_word = template.thought_words
    pattern = re.compile(f"{re.escape(open_word)}(.*?){re.escape(close_word)}", re.DOTALL)
    return pattern.sub("", content).lstrip("\n")


def has_thought(template: LlamaFactoryTemplate, content: str) -> bool:
    """CoT detection: either marker anywhere, whatever the whitespace around it."""
    return any(marker in content for marker in template.markers)


def infer_seqlen(source_len: int, target_len: int, cutoff_len: int) -> tuple[int, int]:
    """`processor_utils.infer_seqlen`: how much of a prompt/response pair fits in the budget."""
    if target_len * 2 < cutoff_len:
        max_target_len = cutoff_len
    elif source_len * 2 < cutoff_len:
        max_target_len = cutoff_len - source_len
    else:
        max_target_len = int(cutoff_len * (target_len / (source_len + target_len)))
    new_target_len = min(max_target_len, target_len)
    new_source_len = min(max(cutoff_len - new_target_len, 0), source_len)
    return new_source_len, new_target_len


def encode_llamafactory(
    messages: Sequence[Message],
    tools: str | None,
    training: TrainingSpec,
    template: LlamaFactoryTemplate,
    tokenizer: Tokenizer,
    *,
    formatting: str = "sharegpt",
) -> Encoding:
    """The row LLaMA-Factory's SFT preprocessing makes of a sample.

    `formatting` is the dataset's LLaMA-Factory formatting (openai | sharegpt | alpaca); openai
    rewrites the system prompt and turns tool calls into function messages. Raises
    `LlamaFactoryReject` when LLaMA-Factory would skip the row or stop.
    """
    if training.mask_history and training.train_on_prompt:
        raise ValueError(
            "`mask_history` is incompatible with `train_on_prompt` (LLaMA-Factory refuses to start)"
        )
    example = convert(messages, tools, load_llamafactory().formatting(formatting))
    pairs = _encode_pairs(example, training, template, tokenizer)
    return _assemble(pairs, training, template, tokenizer)


def _encode_pairs(
    example: LFExample,
    training: TrainingSpec,
    template: LlamaFactoryTemplate,
    tokenizer: Tokenizer,
) -> list[tuple[_Tokens, _Tokens, int]]:
    contents = [m.content for m in example.messages]
    discarding = template.reasoning and training.mask_history and not training.preserve_thinking
    if template.reasoning and training.enable_thinking is False:
        for i in range(1, len(contents), 2):
            contents[i] = remove_thought(template, contents[i])
    if discarding:
        for i in range(1, len(contents) - 2, 2):  # the last turn keeps its CoT
            contents[i] = remove_thought(template, contents[i])

    encoded = [
        _encode_message(i, m.role, contents[i], example, template, tokenizer)
        for i, m in enumerate(example.messages)
    ]
    if template.reasoning:
        empty = tokenizer.encode(template.empty_thought, add_special_tokens=False)
        empty_tokens: _Tokens = (empty, [("empty_think", len(empty))])
        last = len(contents) - 2
        for i in [last] if discarding else range(0, len(contents), 2):
            if has_thought(template, contents[i + 1]):
                continue
            # `not enable_thinking` is also true for null: the block then goes to the masked prompt
            if not training.enable_thinking:
                encoded[i] = _concat(encoded[i], empty_tokens)
            else:
                encoded[i + 1] = _concat(empty_tokens, encoded[i + 1])
    return [(encoded[i], encoded[i + 1], example.messages[i + 1].source) for i in range(0, len(encoded), 2)]


def _concat(a: _Tokens, b: _Tokens) -> _Tokens:
    return a[0] + b[0], a[1] + b[1]


def _encode_message(
    index: int,
    role: str,
    content: str,
    example: LFExample,
    template: LlamaFactoryTemplate,
    tokenizer: Tokenizer,
) -> _Tokens:
    """`Template._encode` for one message: each slot element is tokenized on its own."""
    out: _Tokens = ([], [])
    if index == 0:
        out = _concat(out, _slots(template.format_prefix, {}, "prompt", template, tokenizer))
        system = example.system or template.default_system
        if system or example.tools:
            tool_text = _tool_text(template, example.tools) if example.tools else ""
            out = _concat(
                out,
                _slots(
                    template.format_system, {"content": system + tool_text}, "prompt", template, tokenizer
                ),
            )
    if role == "user":
        fill = {"content": content, "idx": str(index // 2)}
        return _concat(out, _slots(template.format_user, fill, "prompt", template, tokenizer))
    if role == "observation":
        return _concat(
            out, _slots(template.format_observation, {"content": content}, "prompt", template, tokenizer)
        )
    if role == "assistant":
        return _concat(
            out, _slots(template.format_assistant, {"content": content}, None, template, tokenizer)
        )
    if role == "function":
        text = _function_text(template, content)
        return _concat(out, _slots(template.format_function, {"content": text}, None, template, tokenizer))
    raise LlamaFactoryReject(f"unexpected role {role!r}", fatal=True)


def _slots(
    slots: tuple[Element, ...],
    fill: dict[str, str],
    kind: str | None,
    template: LlamaFactoryTemplate,
    tokenizer: Tokenizer,
) -> _Tokens:
    """Apply a formatter and tokenize it; `kind` None means a response slot, split by content."""
    ids: list[int] = []
    kinds: list[tuple[str, int]] = []
    for element in slots:
        if isinstance(element, TokenElement):
            new_ids = [tokenizer.convert_tokens_to_ids(element.token)]
        elif isinstance(element, SpecialElement):
            new_ids = _special(element.name, template, tokenizer)
        else:
            text, span = _fill(element, fill)
            if not text:
                continue
            if kind is not None:
                new_ids = tokenizer.encode(text, add_special_tokens=False)
                ids += new_ids
                kinds.append((kind, len(new_ids)))
                continue
            new_ids, new_kinds = _split_response(text, span, template, tokenizer)
            ids += new_ids
            kinds += new_kinds
            continue
        ids += new_ids
        kinds.append((kind or "eot", len(new_ids)))
    return ids, kinds


def _fill(slot: str, fill: dict[str, str]) -> tuple[str, tuple[int, int] | None]:
    """StringFormatter.apply: each placeholder once, in keyword order.

    Content goes in first, so a literal `{{idx}}` in user text is filled with the pair index too.
    """
    span = None
    for name, value in fill.items():
        placeholder = "{{" + name + "}}"
        at = slot.find(placeholder)
        if at < 0:
            continue
        if name == "content":
            span = (at, at + len(value))
        slot = slot.replace(placeholder, value, 1)
    return slot, span


def _special(name: str, template: LlamaFactoryTemplate, tokenizer: Tokenizer) -> list[int]:
    if name == "eos_token" and template.replace_eos and template.stop_words:
        return [tokenizer.convert_tokens_to_ids(template.stop_words[0])]
    value: Any = getattr(tokenizer, f"{name}_id", None)
    return [value] if isinstance(value, int) else []


def _split_response(
    text: str,
    span: tuple[int, int] | None,
    template: LlamaFactoryTemplate,
    tokenizer: Tokenizer,
) -> _Tokens:
    """Tokenize a response slot once, then label its tokens.

    Within the content: answer and think block; after it (the `<|im_end|>` and what follows): eot.
    """
    ids = tokenizer.encode(text, add_special_tokens=False)
    start, end = span if span is not None else (0, 0)
    cuts = [(start, "answer")]  # slot text before the content is part of the response proper
    for _lo, hi, kind in _content_spans(text[start:end], template):
        cuts.append((start + hi, kind))
    cuts.append((len(text), "eot"))
    kinds: list[tuple[str, int]] = []
    done = 0
    # a tokenizer that knows its sections answers without re-encoding the prefix (tokens.fast)
    prefix_tokens = getattr(tokenizer, "prefix_tokens", None)
    for boundary, kind in cuts:
        if boundary >= len(text):
            upto = len(ids)
        elif prefix_tokens is not None:
            upto = prefix_tokens(text, ids, boundary)
        else:
            upto = _common_prefix(ids, tokenizer.encode(text[:boundary], add_special_tokens=False))
        if upto > done:
            kinds.append((kind, upto - done))
            done = upto
    return ids, kinds


def _common_prefix(a: list[int], b: list[int]) -> int:
    """Tokens of `a` wholly before a character boundary; one that straddles it goes to what follows."""
    return common_prefix(a, b)


def _content_spans(content: str, template: LlamaFactoryTemplate) -> list[tuple[int, int, str]]:
    """(start, end, kind) over the content: an optional answer prefix, the think block, the answer."""
    open_word, close_word = template.markers
    if not has_thought(template, content):
        return [(0, len(content), "answer")]
    first_open, last_close = content.find(open_word), content.rfind(close_word)
    begin = first_open if first_open >= 0 and (last_close < 0 or first_open < last_close) else 0
    if last_close >= begin:
        finish = last_close + len(close_word)
        while finish < len(content) and content[finish].isspace():
            finish += 1
    else:
        finish = len(content)  # unclosed: everything after the opener is reasoning
    inner = content[begin:finish].replace(open_word, "").replace(close_word, "")
    kind = "empty_think" if not inner.strip() else "reasoning"
    spans = [(0, begin, "answer"), (begin, finish, kind), (finish, len(content), "answer")]
    return [s for s in spans if s[1] > s[0]]


def _tool_text(template: LlamaFactoryTemplate, tools: str) -> str:
    """ToolFormatter.apply with the template's tool format."""
    fmt = template.tool_format
    if fmt is None:
        raise LlamaFactoryReject(f"template {template.name} has no tool format", fatal=True)
    try:
        parsed = json.loads(tools)
    except json.JSONDecodeError:
        raise LlamaFactoryReject("invalid JSON in the tools column", fatal=True) from None
    if not parsed:
        return ""
    if not isinstance(parsed, list) or not all(isinstance(t, dict) for t in parsed):
        raise LlamaFactoryReject("the tools column is not a list of objects", fatal=True)
    text = ""
    for tool in parsed:
        wrapped = tool if tool.get("type") == "function" else {"type": "function", "function": tool}
        text += fmt.tool_prefix + json.dumps(wrapped, ensure_ascii=False)
    return fmt.tool_prompt.replace("{tool_text}", text)


def _function_text(template: LlamaFactoryTemplate, content: str) -> str:
    """FunctionFormatter.apply: a think block or free text kept in front, the calls re-rendered."""
    fmt = template.tool_format
    if fmt is None:
        raise LlamaFactoryReject(f"template {template.name} has no tool format", fatal=True)
    call_open, call_close = (re.escape(w) for w in template.tool_call_words)
    call_match = re.search(f"{call_open}(.*?){call_close}", content, re.DOTALL)
    if call_match is None:
        think_open, think_close = (re.escape(w) for w in template.thought_words)
        thought = re.search(f"{think_open}(.*?){think_close}", content, re.DOTALL)
        head = thought.group(0) if thought else ""
        calls = _parse_calls(content.replace(head, "") if thought else content)
    else:
        head = content.replace(call_match.group(0), "")
        calls = _parse_calls(call_match.group(1))
    rendered = [
        fmt.call_template.replace(
            "{call}", json.dumps({"name": name, "arguments": json.loads(args)}, ensure_ascii=False)
        )
        for name, args in calls
    ]
    return head + fmt.call_separator.join(rendered)


def _parse_calls(text: str) -> list[tuple[str, str]]:
    try:
        calls = json.loads(text)
        if not isinstance(calls, list):
            calls = [calls]
        return [(call["name"], json.dumps(call["arguments"], ensure_ascii=False)) for call in calls]
    except (json.JSONDecodeError, KeyError, TypeError):
        raise LlamaFactoryReject(
            "a function call that is not JSON with name and arguments", fatal=True
        ) from None


def _take(runs: list[tuple[str, int]], n: int) -> list[tuple[str, int]]:
    """The runs of the first `n` tokens (`kinds[:n]` of a token-by-token list)."""
    out: list[tuple[str, int]] = []
    for kind, count in runs:
        if n <= 0:
            break
        out.append((kind, min(count, n)))
        n -= count
    return out


def _assemble(
    pairs: list[tuple[_Tokens, _Tokens, int]],
    training: TrainingSpec,
    template: LlamaFactoryTemplate,
    tokenizer: Tokenizer,
) -> Encoding:
    """`_encode_data_example`: truncation per pair, masks, and the reversed order under mask_history."""
    full_length = sum(len(src[0]) + len(tgt[0]) for src, tgt, _ in pairs)
    eos = _special("eos_token", template, tokenizer)
    total = 1 if template.efficient_eos else 0
    chunks: list[tuple[list[int], list[int], list[tuple[str, int]], int]] = []
    order = pairs[::-1] if training.mask_history else pairs
    for turn_idx, ((src_ids, src_kinds), (tgt_ids, tgt_kinds), turn) in enumerate(order):
        if total >= training.cutoff_len:
            break
        source_len, target_len = infer_seqlen(len(src_ids), len(tgt_ids), training.cutoff_len - total)
        total += source_len + target_len
        src, tgt = src_ids[:source_len], tgt_ids[:target_len]
        if training.train_on_prompt:
            src_labels = list(src)
        elif template.efficient_eos and turn_idx != 0 and source_len:
            src_labels = eos + [IGNORE_INDEX] * (source_len - 1)
        else:
            src_labels = [IGNORE_INDEX] * source_len
        tgt_labels = [IGNORE_INDEX] * target_len if training.mask_history and turn_idx != 0 else list(tgt)
        kinds = _take(src_kinds, source_len) + _take(tgt_kinds, target_len)
        chunk = (src + tgt, src_labels + tgt_labels, kinds, turn)
        if training.mask_history:
            chunks.insert(0, chunk)
        else:
            chunks.append(chunk)

    input_ids: list[int] = []
    labels: list[int] = []
    runs: list[tuple[str, int, int]] = []  # (kind, turn, count)
    for ids, labs, knds, turn in chunks:
        input_ids += ids
        labels += labs
        runs += [(kind, turn, n) for kind, n in knds]
    if template.efficient_eos and eos:
        input_ids += eos
        labels += eos
        runs.append(("eot", pairs[-1][2], 1))
    return Encoding(
        input_ids=tuple(input_ids),
        labels=tuple(labels),
        segments=segments_from_runs(runs),
        full_length=full_length + (1 if template.efficient_eos else 0),
        truncated=len(input_ids) < full_length + (1 if template.efficient_eos else 0),
    )
