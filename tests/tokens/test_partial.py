"""The partial tokenizer (`tokens.partial`) answers exactly as the whole one, and loads it when it must.

Built for random texts from the real Qwen3 tokenizer and from small byte-level BPE tokenizers trained
here (a normaliser, `ignore_merges`, added tokens that strip whitespace), its ids, offsets and decodes
equal the whole tokenizer's; the whole tokenizer is not touched while it does (`whole` raises).
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any, Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from thinklint.tokens import snapshot
from thinklint.tokens.partial import Index, PartialBackend, build_index, refusal

pytestmark = pytest.mark.tokens

PIECES = ["<|im_start|>", "<|im_end|>", "<think>", "</think>", "<|endoftext|>", "<tool_call>", "\n", "\n\n",
          " ", "   ", "\t", "\r\n", "<think", "|im_end|>", "<<think>>", "é", "e\u0301", "Å", "A\u030a", "数学题",
          "思考一下这个问题的答案是什么", "🙂", "👩‍👩‍👧", "x²", "'s", "don't", "12345", "Hello world",
          "```py\ndef f(x):\n    return x  # ok\n```", "\u00a0", "\u200b", "ﬁ", "Ｆｕｌｌ", "ＡＢＣ",
          "Привет, мир", "مرحبا", "नमस्ते", "こんにちは世界", "ǅ", "\ufeff", "    indented", "a" * 40,
          "-" * 30, "https://example.com/a_b?c=d", "\x00", "\U0001f9d1\u200d\U0001f4bb"]
texts = st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=8)), max_size=14).map("".join)


def _refuse() -> Any:
    raise AssertionError("the partial tokenizer asked for the whole one")


def _index(whole: Any) -> Index:
    blob = build_index(whole, whole.to_str(), "test")
    assert blob is not None
    return Index(blob, "test")


def _same_encodings(partial: PartialBackend, whole: Any, batch: list[str], special: bool) -> None:
    got = partial.encode_batch(batch, add_special_tokens=special)
    want = whole.encode_batch(batch, add_special_tokens=special)
    assert [e.ids for e in got] == [e.ids for e in want]
    assert [e.offsets for e in got] == [e.offsets for e in want]
    for e in want:
        for skip in (False, True):
            assert partial.decode(e.ids, skip_special_tokens=skip) == whole.decode(e.ids, skip_special_tokens=skip)


@pytest.fixture(scope="module")
def qwen3(qwen3_tokenizer: Any) -> tuple[Any, Index]:
    whole = qwen3_tokenizer.backend_tokenizer
    return whole, _index(whole)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=st.lists(texts, min_size=1, max_size=4), special=st.booleans())
def test_qwen3_partial_encodes_as_the_whole_tokenizer(qwen3: tuple[Any, Index], batch: list[str],
                                                      special: bool) -> None:
    whole, index = qwen3
    partial = PartialBackend(index, _refuse)
    _same_encodings(partial, whole, batch, special)
    assert partial.is_partial
    # a second batch grows the vocabulary built for the first
    _same_encodings(partial, whole, [t[::-1] + " tail" for t in batch], special)
    assert [partial.encode(t).ids for t in batch] == [whole.encode(t).ids for t in batch]


def test_qwen3_partial_answers_what_the_token_layer_asks(qwen3: tuple[Any, Index]) -> None:
    whole, index = qwen3
    partial = PartialBackend(index, _refuse)
    assert partial.get_vocab_size() == whole.get_vocab_size() == 151669
    assert partial.get_vocab_size(with_added_tokens=False) == whole.get_vocab_size(with_added_tokens=False)
    assert {i: str(t) for i, t in partial.get_added_tokens_decoder().items()} == {
        i: str(t) for i, t in whole.get_added_tokens_decoder().items()}
    for token in ("<|im_end|>", "<think>", "Ġthe", "hello", "ĠĠĠĠĠĠĠĠĠĠĠĠĠĠĠĠ", "no-such-token", ""):
        assert partial.token_to_id(token) == whole.token_to_id(token)
    assert (partial.truncation, partial.padding) == (None, None)
    assert partial.model.dropout is None and partial.model.ignore_merges is False
    assert partial.pre_tokenizer.__getstate__() == whole.pre_tokenizer.__getstate__()
    assert partial.is_partial


def test_what_the_partial_tokenizer_lacks_comes_from_the_whole_one(qwen3: tuple[Any, Index]) -> None:
    whole, index = qwen3
    loads: list[int] = []

    def load() -> Any:
        loads.append(1)
        return whole

    partial = PartialBackend(index, load)
    partial.encode("Hello world", add_special_tokens=False)
    assert partial.is_partial and not loads
    far = [151000, 100000, 5, 151667]  # tokens no text asked for: decoded by the whole tokenizer
    assert partial.decode(far) == whole.decode(far)
    assert not partial.is_partial and loads == [1]
    assert partial.encode("Hello there", add_special_tokens=False).ids == whole.encode("Hello there").ids
    assert partial.get_vocab() == whole.get_vocab()  # anything not written out: the whole tokenizer's
    assert partial.model.token_to_id("Ġthe") == whole.model.token_to_id("Ġthe")
    assert loads == [1]


def test_a_large_input_loads_the_whole_tokenizer_and_stays_exact(qwen3: tuple[Any, Index]) -> None:
    whole, index = qwen3
    rng = random.Random(7)
    words = [w for w in (json.dumps(PIECES) + " ".join(map(str, range(3000)))).split()]
    batch = [" ".join(rng.choice(words) + chr(rng.randrange(0x4E00, 0x9FFF)) for _ in range(4000)) for _ in range(8)]
    partial = PartialBackend(index, lambda: whole)
    assert [e.ids for e in partial.encode_batch(batch)] == [e.ids for e in whole.encode_batch(batch)]
    assert not partial.is_partial  # more than a few samples' worth of words: it gave up, and said so


def _trained(normalizer: Any, ignore_merges: bool, strip: bool) -> Any:
    """A small byte-level BPE tokenizer trained here, with added tokens, as a `tokenizers.Tokenizer`."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE(ignore_merges=ignore_merges))
    tok.normalizer = normalizer
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    rng = random.Random(3)
    corpus = ["".join(rng.choice(PIECES[5:]) for _ in range(20)) for _ in range(300)]
    tok.train_from_iterator(corpus, trainers.BpeTrainer(vocab_size=700, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                                        show_progress=False))
    tok.add_special_tokens(["<|im_start|>", "<|im_end|>", AddedToken("<mask>", lstrip=strip, rstrip=strip)])
    tok.add_tokens([AddedToken("<think>", normalized=False), AddedToken("[x]", single_word=strip, normalized=False)])
    return Tokenizer.from_str(tok.to_str())  # as a snapshot loads it


SMALL = [("nfc", False, False), ("nfkc+lowercase", True, False), ("none", False, True)]


@pytest.fixture(scope="module", params=SMALL, ids=[s[0] for s in SMALL])
def small(request: pytest.FixtureRequest) -> tuple[Any, Index]:
    from tokenizers import normalizers

    name, ignore_merges, strip = request.param
    norm = {"nfc": normalizers.NFC(), "nfkc+lowercase": normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()]),
            "none": None}[name]
    whole = _trained(norm, ignore_merges, strip)
    return whole, _index(whole)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=st.lists(st.lists(st.one_of(st.sampled_from([*PIECES, "<mask>", " <mask> ", "[x]", "a[x]b"]),
                                         st.text(max_size=8)), max_size=14).map("".join), min_size=1, max_size=4),
       special=st.booleans())
def test_small_trained_tokenizers_encode_partially_as_whole(small: tuple[Any, Index], batch: list[str],
                                                            special: bool) -> None:
    whole, index = small
    partial = PartialBackend(index, _refuse)
    _same_encodings(partial, whole, batch, special)
    assert partial.is_partial


def _state(**model: Any) -> dict[str, Any]:
    return {"model": {"type": "BPE", "vocab": {}, "merges": [], **model}, "added_tokens": [],
            "pre_tokenizer": {"type": "ByteLevel"}, "normalizer": None}


@pytest.mark.parametrize("change", [
    lambda s: s.update(model={"type": "WordPiece", "vocab": {}}),
    lambda s: s["model"].update(dropout=0.1),
    lambda s: s["model"].update(byte_fallback=True),
    lambda s: s["model"].update(continuing_subword_prefix="##"),
    lambda s: s["model"].update(end_of_word_suffix="</w>"),
    lambda s: s.update(pre_tokenizer={"type": "Metaspace"}),
    lambda s: s.update(pre_tokenizer=None),
    lambda s: s.update(normalizer={"type": "NFC"}, added_tokens=[{"content": "<x>", "id": 0, "normalized": True}]),
])
def test_tokenizers_the_reasoning_does_not_hold_for_are_refused(change: Callable[[dict[str, Any]], None]) -> None:
    assert refusal(_state()) is None
    state = _state()
    change(state)
    assert refusal(state) is not None


def test_the_snapshot_keeps_a_verified_index_and_loads_partially(tmp_path: Path, qwen3_tokenizer: Any) -> None:
    folder = tmp_path / "snap"
    assert snapshot.save(qwen3_tokenizer, folder)
    assert (folder / snapshot.INDEX).is_file()  # written with the snapshot, once verified
    whole = snapshot.load(folder)
    assert whole is not None
    part = snapshot.load_partial(folder, _refuse)
    assert part is not None and part.backend_tokenizer.is_partial
    text = "<|im_start|>user\n数学题 x²+1=0?<|im_end|>\n<|im_start|>assistant\n<think>\nhm\n</think>\n\nok"
    assert part.encode(text, add_special_tokens=False) == whole.encode(text, add_special_tokens=False)
    assert part(text, return_offsets_mapping=True) == whole(text, return_offsets_mapping=True)
    assert part.convert_tokens_to_ids("<think>") == whole.convert_tokens_to_ids("<think>") == 151667
    assert len(part) == len(whole) and part.chat_template == whole.chat_template

    blob = (folder / snapshot.INDEX).read_bytes()
    (folder / snapshot.INDEX).write_bytes(blob[:-1] + bytes([blob[-1] ^ 1]))
    assert snapshot.load_partial(folder, _refuse) is None  # a damaged index is not used
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    (folder / snapshot.INDEX).write_bytes(blob)
    (folder / "meta.json").write_text(json.dumps({**meta, "sha256": "0" * 64}), encoding="utf-8")
    assert snapshot.load_partial(folder, _refuse) is None  # nor one written for another snapshot
