"""Tokenizer snapshots: later runs tokenize without importing transformers, and exactly as it does."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.util import imported_by_run, run_python
from thinklint.app import run_lint
from thinklint.settings import Settings
from thinklint.spec import load_spec
from thinklint.tokens import snapshot
from thinklint.tokens.loader import load_tokenizer

from .corpus import make_project

pytestmark = pytest.mark.tokens


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory, qwen3_available: None) -> tuple[Any, Any]:
    """(the transformers tokenizer, the snapshot of it)."""
    tmp = tmp_path_factory.mktemp("snap")
    spec = load_spec(make_project(tmp, tokens=True, repeat=1), remember=False)
    real = load_tokenizer(spec, snapshots=tmp / ".thinklint_cache")
    assert type(real).__module__.startswith("transformers.")
    shim = load_tokenizer(spec, snapshots=tmp / ".thinklint_cache")
    assert isinstance(shim, snapshot.SnapshotTokenizer)
    return real, shim


PIECES = ["<|im_start|>", "<|im_end|>", "<think>", "</think>", "<|endoftext|>", "\n", "\n\n", " ", "\t", "é",
          "e\u0301", "数学", "🙂", "'s", "a . b", "123", "Hello world", "\u00a0", "<tool_call>"]
texts = st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=8)), max_size=12).map("".join)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=texts)
def test_the_snapshot_answers_as_transformers(pair: tuple[Any, Any], text: str) -> None:
    real, shim = pair
    for special in (False, True):
        ids = real.encode(text, add_special_tokens=special)
        assert shim.encode(text, add_special_tokens=special) == ids
        assert shim.decode(ids) == real.decode(ids, skip_special_tokens=False)
        assert shim.decode(ids, skip_special_tokens=True) == real.decode(ids, skip_special_tokens=True)
    want = real(text, add_special_tokens=False, return_offsets_mapping=True)
    got = shim(text, add_special_tokens=False, return_offsets_mapping=True)
    assert got["input_ids"] == want["input_ids"]
    assert [tuple(o) for o in got["offset_mapping"]] == [tuple(o) for o in want["offset_mapping"]]


def test_the_snapshot_keeps_what_the_token_layer_reads(pair: tuple[Any, Any]) -> None:
    real, shim = pair
    assert shim.chat_template == real.chat_template
    assert shim.special_tokens_map == real.special_tokens_map
    assert (shim.eos_token_id, shim.pad_token_id, shim.bos_token_id) == (real.eos_token_id, real.pad_token_id,
                                                                         real.bos_token_id)
    assert {i: str(t) for i, t in shim.added_tokens_decoder.items()} == {
        i: str(t) for i, t in real.added_tokens_decoder.items()}
    for token in ("<|im_end|>", "<think>", "</think>", "nonexistent-token"):
        assert shim.convert_tokens_to_ids(token) == real.convert_tokens_to_ids(token)


def test_a_second_run_imports_neither_transformers_nor_torch(tmp_path: Path, qwen3_available: None) -> None:
    spec = make_project(tmp_path, tokens=True, repeat=1)
    # without the helper that would load the tokenizer in a child (`thinklint.helper`): this process's
    # modules then show what loading it took
    args = ["check", "--exit-zero", "--select", "MSK,TPL,TRN", "--jobs", "1"]
    no_helper = "from thinklint.helper import Helper\nHelper.start = lambda *args: None"
    heavy, first = imported_by_run(args, ["transformers", "torch"], tmp_path, no_helper)
    assert heavy == ["transformers", "torch"], first.stderr
    (tmp_path / "big.jsonl").write_text((tmp_path / "big.jsonl").read_text() + json.dumps(
        {"messages": [{"role": "user", "content": "new"}, {"role": "assistant", "content": "<think>\nr\n</think>\n\nA"}]})
        + "\n")  # a new sample: the token layer must run
    heavy, second = imported_by_run(args, ["transformers", "torch"], tmp_path, no_helper)
    assert heavy == [], second.stderr
    assert spec.is_file()


def test_findings_with_a_snapshot_equal_findings_through_transformers(tmp_path: Path, qwen3_available: None) -> None:
    spec = make_project(tmp_path, tokens=True, repeat=2)
    fresh, _, _ = run_lint(load_spec(spec, remember=False), Settings(use_cache=False))
    run_lint(load_spec(spec), Settings(select=("FMT",)))  # writes the snapshot (and caches FMT only)
    assert not (tmp_path / ".thinklint_cache" / "tokenizers").exists()  # no token rule: no tokenizer
    run_lint(load_spec(spec), Settings(select=("MSK001",)))
    (folder,) = (tmp_path / ".thinklint_cache" / "tokenizers").iterdir()
    assert (folder / "meta.json").is_file()
    with_snapshot, _, _ = run_lint(load_spec(spec), Settings())
    assert with_snapshot == fresh


def test_a_damaged_snapshot_is_not_used(pair: tuple[Any, Any], tmp_path: Path) -> None:
    real, _ = pair
    folder = tmp_path / "snap"
    assert snapshot.save(real, folder)
    assert isinstance(snapshot.load(folder), snapshot.SnapshotTokenizer)
    data = (folder / "tokenizer.json").read_bytes()
    (folder / "tokenizer.json").write_bytes(data.replace(b'"<think>"', b'"<thonk>"', 1))
    assert snapshot.load(folder) is None
    (folder / "tokenizer.json").write_bytes(data)
    (folder / "meta.json").write_text("{not json", encoding="utf-8")
    assert snapshot.load(folder) is None


def test_a_run_that_checks_a_few_samples_builds_a_partial_tokenizer(tmp_path: Path, qwen3_available: None,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """With the cache, this process tokenizes what the cache does not know: a partial tokenizer
    (`tokens.partial`) built from the snapshot's index, which never loads the whole one for a few samples."""
    from thinklint.helper import Helper

    spec = make_project(tmp_path, tokens=True, repeat=1)
    fresh, _, _ = run_lint(load_spec(spec, remember=False), Settings(use_cache=False))
    run_lint(load_spec(spec), Settings())  # the snapshot, its index, and every sample's findings
    (folder,) = (tmp_path / ".thinklint_cache" / "tokenizers").iterdir()
    assert (folder / snapshot.INDEX).is_file()
    built: list[Any] = []
    real_load = snapshot.load_partial

    def load_partial(*args: Any) -> Any:
        built.append(real_load(*args))
        return built[-1]

    monkeypatch.setattr(snapshot, "load_partial", load_partial)
    monkeypatch.setattr(Helper, "start", classmethod(lambda cls, *args: None))  # checked here, not in a child
    big = tmp_path / "big.jsonl"
    lines = big.read_text(encoding="utf-8").splitlines()
    record = json.loads(lines[3])
    record["messages"][-1]["content"] += " Ünïcödé 数学 🙂"
    lines[3] = json.dumps(record, ensure_ascii=False)
    big.write_text("\n".join(lines) + "\n", encoding="utf-8")
    edited, _, _ = run_lint(load_spec(spec), Settings())
    assert len(built) == 1 and built[0] is not None and built[0].backend_tokenizer.is_partial
    assert edited == run_lint(load_spec(spec, remember=False), Settings(use_cache=False))[0] != fresh


@pytest.mark.parametrize("enabled_before", [True, False])
@pytest.mark.parametrize("fails", [False, True])
def test_the_collector_is_paused_while_transformers_loads_and_restored_after(
        tmp_path: Path, qwen3_available: None, monkeypatch: pytest.MonkeyPatch, enabled_before: bool,
        fails: bool) -> None:
    import gc

    from thinklint.tokens import loader
    from thinklint.yamlsrc import SourceError

    seen: list[bool] = []

    def fake(auto: Any, where: str, trust: bool) -> Any:
        seen.append(gc.isenabled())
        if fails:
            raise OSError("no such tokenizer")
        return "a tokenizer"

    monkeypatch.setattr(loader, "_from_pretrained", fake)
    spec = load_spec(make_project(tmp_path, tokens=True, repeat=1), remember=False)
    (gc.enable if enabled_before else gc.disable)()
    try:
        if fails:
            with pytest.raises(SourceError, match="no such tokenizer"):
                load_tokenizer(spec)
        else:
            assert load_tokenizer(spec) == "a tokenizer"
        assert seen == [False]
        assert gc.isenabled() is enabled_before
    finally:
        gc.enable()


_LOAD = """
import hashlib, json, sys
from pathlib import Path
{prelude}
from thinklint.spec import load_spec
from thinklint.tokens.loader import load_tokenizer
tok = load_tokenizer(load_spec(Path({spec!r}), remember=False), torchless={torchless})
probes = ["<|im_start|>user\\nHi<|im_end|>\\n<think>\\nx\\n</think>\\n\\n", "数学题：x²+1=0。 Ünïcödé e\\u0301"]
seen = [tok.backend_tokenizer.to_str(), tok.chat_template, str(tok.special_tokens_map), type(tok).__name__,
        [tok.encode(p, add_special_tokens=False) for p in probes], [tok(p)["input_ids"] for p in probes],
        tok.eos_token_id, tok.pad_token_id, len(tok)]
print("LOADED", hashlib.sha256(json.dumps(seen).encode()).hexdigest(), "torch" in sys.modules)
"""


def _load_in_a_fresh_process(spec: Path, torchless: bool, prelude: str = "") -> tuple[str, bool]:
    proc = run_python(_LOAD.format(prelude=prelude, spec=str(spec), torchless=torchless))
    assert proc.returncode == 0, proc.stderr
    assert "PyTorch was not found" not in proc.stderr  # transformers' notice is kept off the terminal
    said = [line.split() for line in proc.stdout.splitlines() if line.startswith("LOADED ")]
    return said[-1][1], said[-1][2] == "True"


@pytest.mark.tokens
def test_a_worker_loads_the_same_tokenizer_without_importing_torch(tmp_path: Path, qwen3_available: None) -> None:
    spec = make_project(tmp_path, tokens=True, repeat=1)
    with_torch, imported = _load_in_a_fresh_process(spec, torchless=False)
    assert imported  # transformers 5 imports torch to load a tokenizer: what `torchless` saves
    without, imported = _load_in_a_fresh_process(spec, torchless=True)
    assert not imported
    assert without == with_torch


@pytest.mark.tokens
def test_a_tokenizer_that_will_not_load_without_torch_loads_with_it(tmp_path: Path, qwen3_available: None) -> None:
    spec = make_project(tmp_path, tokens=True, repeat=1)
    # a tokenizer whose loading needs torch (remote code, a future transformers): the first try fails
    prelude = ("from thinklint.tokens import loader\n_real = loader._transformers_tokenizer\n"
               "def _needs_torch(*a):\n    import torch\n    return _real(*a)\n"
               "def _wrapped(*a):\n    try:\n        return _needs_torch(*a)\n    except ImportError:\n"
               "        raise loader.SourceError('spec', None, 'model.tokenizer', 'needs torch') from None\n"
               "loader._transformers_tokenizer = _wrapped\n")
    without, imported = _load_in_a_fresh_process(spec, torchless=True, prelude=prelude)
    assert imported
    assert without == _load_in_a_fresh_process(spec, torchless=False)[0]
