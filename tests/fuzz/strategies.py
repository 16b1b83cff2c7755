"""Hypothesis strategies for the fuzz tests: samples in every format, specs, and byte mutations.

Samples are built from the shapes the normalisers expect, with any part swapped for an arbitrary
JSON value and text drawn from the markers the rules look for, so that generated data reaches
deep into the rules instead of stopping at the first type check.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

F = TypeVar("F", bound=Callable[..., Any])
#: the long run: THINKLINT_FUZZ_EXAMPLES=5000 python -m pytest tests/fuzz
SCALE = max(int(os.environ.get("THINKLINT_FUZZ_EXAMPLES", "0") or 0), 0)


def budget(default: int) -> Callable[[F], F]:
    """Hypothesis settings for one fuzz test: `default` examples in CI, THINKLINT_FUZZ_EXAMPLES when set."""
    chosen = settings(max_examples=SCALE or default, deadline=None, derandomize=not SCALE,
                      suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                             HealthCheck.data_too_large, HealthCheck.filter_too_much])

    def apply(test: F) -> F:
        return chosen(test)

    return apply


PIECES = ["<think>", "</think>", "<think>\n", "\n</think>\n\n", "<thinking>", "</ think>", "<Think>", "\n", "\n\n",
          " ", "/think", "/no_think", "<|im_start|>", "<|im_end|>", "<|endoftext|>", "assistant\n", "user\n",
          "system\n", "R", "answer", "思考", "\u0000", "\ud7ff", "🙂", "{{", "}}", "{%", "%}", "\\", '"']
ROLES = ["system", "user", "assistant", "tool", "function", "human", "gpt", "observation", "function_call"]

scalars = (st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
           | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8))
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=6), inner, max_size=4), max_leaves=12)
marked_text = st.lists(st.sampled_from(PIECES) | st.text(max_size=4), max_size=12).map("".join)


def noisy(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly the well-formed value, sometimes anything at all."""
    return st.one_of(strategy, strategy, strategy, json_values)


def clean(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return strategy


def _formats(maybe: Callable[[st.SearchStrategy[Any]], st.SearchStrategy[Any]]) -> dict[str, st.SearchStrategy[Any]]:
    """Samples of each format; `maybe` decides how often a part is replaced by arbitrary JSON."""
    extra = json_values if maybe is noisy else st.sampled_from([None, "", [], {"a": 1}])

    def message(role_key: str, content_key: str, roles: list[str]) -> st.SearchStrategy[Any]:
        return maybe(st.fixed_dictionaries(
            {role_key: maybe(st.sampled_from(roles)), content_key: maybe(marked_text)},
            optional={"reasoning_content": maybe(marked_text), "thinking": maybe(marked_text),
                      "reasoning": maybe(marked_text), "tool_calls": extra, "name": extra}))

    def conversation(role_key: str, content_key: str, user: str, assistant: str, others: list[str]) -> Any:
        """Turns that mostly alternate user/assistant (what trainers accept), sometimes in any order."""
        pair = st.tuples(message(role_key, content_key, [user]), message(role_key, content_key, [assistant]))
        ordered = st.lists(pair, min_size=1, max_size=3).map(lambda ps: [m for p in ps for m in p])
        anything = st.lists(message(role_key, content_key, [user, assistant, *others]), max_size=6)
        return maybe(st.one_of(ordered, ordered, anything))

    text_pieces = st.sampled_from(["<|im_start|>user\nq<|im_end|>\n", "<|im_start|>assistant\n",
                                   "<think>\nr\n</think>\n\n", "a", "<|im_end|>\n", "<|im_start|>system\ns<|im_end|>\n"])
    token_ids = st.lists(st.one_of(st.sampled_from([151644, 151645, 151667, 151668, 198, 271, 872, 77091, -100]),
                                   st.integers(min_value=-200, max_value=160_000)), max_size=40)
    return {
        "openai": st.fixed_dictionaries(
            {"messages": conversation("role", "content", "user", "assistant", ["system", "tool"])},
            optional={"tools": extra, "system": maybe(marked_text)}),
        "sharegpt": st.fixed_dictionaries(
            {"conversations": conversation("from", "value", "human", "gpt", ["system", "observation", "function_call"])},
            optional={"system": maybe(marked_text), "tools": extra}),
        "alpaca": st.fixed_dictionaries(
            {"instruction": maybe(marked_text), "output": maybe(marked_text)},
            optional={"input": maybe(marked_text), "system": maybe(marked_text),
                      "history": maybe(st.lists(maybe(st.tuples(marked_text, marked_text).map(list)), max_size=3))}),
        "text": st.fixed_dictionaries({"text": maybe(st.lists(text_pieces | marked_text, max_size=8).map("".join))}),
        "tokenized": st.fixed_dictionaries({"input_ids": maybe(token_ids), "labels": maybe(token_ids)}),
    }


FORMATS = _formats(noisy)
#: samples that mostly normalise, so that they reach the rules behind the format checks
WELL_FORMED = _formats(clean)
#: the dataset entry that reads each format's generated samples
DATASET_EXTRA = {"sharegpt": ", columns: {messages: conversations, system: system, tools: tools}",
                 "alpaca": ", columns: {system: system, history: history}"}


def samples(fmt: str, well_formed: bool = False) -> st.SearchStrategy[Any]:
    """A record for `fmt`: its shape with noise in any part (or none), sometimes any JSON value at all."""
    return noisy((WELL_FORMED if well_formed else FORMATS)[fmt])


# --- specs ---------------------------------------------------------------------------------------

SPEC_KEYS = {
    "model": ["profile", "tokenizer", "chat_template", "trust_remote_code"],
    "training": ["framework", "template", "enable_thinking", "preserve_thinking", "mask_history",
                 "train_on_prompt", "cutoff_len"],
    "inference": ["enable_thinking", "preserve_thinking"],
    "policy": ["empty_think", "history_reasoning", "min_thinking_ratio"],
    "rules": ["select", "ignore", "extend_select", "severity", "per_file_ignores", "options", "custom"],
}
PLAUSIBLE = st.sampled_from([
    "qwen3", "auto", "llamafactory", "chat_template", "qwen3_nothink", "masked", "supervised", "drop", "keep",
    "THK", "FMT001", "MSK", "E", "error", "warning", "info", "data/*.jsonl", "../x", "/etc/passwd",
    "pkg:nope/x", "Qwen/Qwen3-0.6B", 0, 1, 4096, -1, 0.75, 2.5, True, False, None, [], {}, ["THK001"],
    {"THK001": "error"}, {"data/*": ["THK"]}, {"THK007": {"x": 1}},
])
spec_values = st.one_of(PLAUSIBLE, PLAUSIBLE, json_values)


@st.composite
def specs(draw: Any) -> dict[str, Any]:
    """A spec that is mostly valid: sections of known keys with plausible or arbitrary values, plus noise."""
    spec: dict[str, Any] = {"version": draw(st.sampled_from([1, 1, 1, 2, "1", None]))}
    for section, keys in SPEC_KEYS.items():
        if draw(st.booleans()):
            chosen = draw(st.lists(st.sampled_from(keys + ["unknown_key"]), unique=True, max_size=4))
            spec[section] = {k: draw(spec_values) for k in chosen}
    dataset = {"name": draw(st.sampled_from(["d", "d", "", 1])), "path": draw(st.sampled_from(
        ["data/*.jsonl", "data/*.jsonl", ["data/*.jsonl", "data/*.json"], "nope/*.jsonl", "", 3]))}
    if draw(st.booleans()):
        dataset["format"] = draw(st.sampled_from(["openai", "sharegpt", "alpaca", "text", "tokenized", "csv"]))
    if draw(st.booleans()):
        dataset[draw(st.sampled_from(["mode", "columns", "tags", "x"]))] = draw(spec_values)
    spec["datasets"] = draw(st.sampled_from([[dataset], [dataset, dataset], [dataset, {"llamafactory": "info.json"}]]))
    if draw(st.booleans()):
        spec[draw(st.text(max_size=8))] = draw(json_values)
    return spec


# --- byte mutation -------------------------------------------------------------------------------

INTERESTING = [b"\n", b"\r\n", b"\x00", b"\xff", b"\xef\xbb\xbf", b"[", b"]", b"{", b"}", b'"', b"\\", b",", b":",
               b"NaN", b"-Infinity", b"1e999999", b"\xc3", b"\xe2\x80", b"PAR1", b"\x1f\x8b"]


@st.composite
def mutated(draw: Any, data: bytes) -> bytes:
    """`data` after a few random edits: flips, inserts of interesting bytes, deletions, truncation, copies."""
    out = bytearray(data)
    for _ in range(draw(st.integers(min_value=1, max_value=6))):
        op = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "duplicate", "splice"]))
        at = draw(st.integers(min_value=0, max_value=max(len(out) - 1, 0)))
        if op == "flip" and out:
            out[at] ^= 1 << draw(st.integers(min_value=0, max_value=7))
        elif op == "insert":
            out[at:at] = draw(st.sampled_from(INTERESTING) | st.binary(min_size=1, max_size=4))
        elif op == "delete":
            del out[at:at + draw(st.integers(min_value=1, max_value=16))]
        elif op == "truncate":
            del out[at:]
        elif op == "duplicate":
            size = draw(st.integers(min_value=1, max_value=64))
            out[at:at] = out[at:at + size]
        else:
            out[at:at + 8] = draw(st.binary(max_size=8))
    return bytes(out)
