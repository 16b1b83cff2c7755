"""Text that NFC leaves as it is skips a normaliser that is NFC alone (Qwen3's): the ids are the
tokenizer's own, the tokenizer's normaliser is back in place after every call (a failing one
included), and what `nfc_as_is` accepts the tokenizer's own NFC leaves unchanged."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from thinklint.tokens.fast import _UNPRINTABLE, SectionEncoder, nfc_as_is

pytestmark = pytest.mark.tokens

MIXED = ["plain ascii", "e\u0301 combining (NFC composes it)", "\u212b angstrom sign", "数学 x²", "",
         "<|im_start|>user\nhi<|im_end|>\n", "tab\tand\r\nnewlines  ", "\u00e9 precomposed", "A\u030a"]


class _Bare:
    """Just what `SectionEncoder` reads of a fast tokenizer, around a backend of our making."""

    is_fast = True

    def __init__(self, backend: Any) -> None:
        self.backend_tokenizer = backend

    def encode(self, text: str, add_special_tokens: bool = False) -> list[int]:
        ids: list[int] = self.backend_tokenizer.encode(text, add_special_tokens=add_special_tokens).ids
        return ids


def _copy(qwen3_tokenizer: Any, normalizer: Any = "keep") -> _Bare:
    from tokenizers import Tokenizer

    backend = Tokenizer.from_str(qwen3_tokenizer.backend_tokenizer.to_str())
    if normalizer != "keep":
        backend.normalizer = normalizer
    return _Bare(backend)


def _want(tokenizer: Any, texts: list[str]) -> list[list[int]]:
    return [tokenizer.backend_tokenizer.encode(t, add_special_tokens=False).ids for t in texts]


def test_qwen3_skips_nfc_and_gives_its_ids(qwen3_tokenizer: Any) -> None:
    enc = SectionEncoder(qwen3_tokenizer)
    assert enc.skips_nfc
    before = qwen3_tokenizer.backend_tokenizer.to_str()
    assert enc._encode_whole(MIXED) == _want(qwen3_tokenizer, MIXED)
    assert [enc._encode_whole([t])[0] for t in MIXED] == _want(qwen3_tokenizer, MIXED)
    assert qwen3_tokenizer.backend_tokenizer.to_str() == before  # the normaliser is back


def test_the_normaliser_is_restored_when_the_call_fails(qwen3_tokenizer: Any) -> None:
    enc = SectionEncoder(qwen3_tokenizer)
    seen = []

    def failing(texts: list[str], add_special_tokens: bool) -> Any:
        seen.append(qwen3_tokenizer.backend_tokenizer.normalizer)
        raise RuntimeError("boom")

    enc._call = failing
    with pytest.raises(RuntimeError):
        enc._encode_whole(["ascii only"])
    assert seen == [None]  # off during the call ...
    assert qwen3_tokenizer.backend_tokenizer.normalizer.__getstate__() == b'{"type":"NFC"}'  # ... and back


def test_other_normalisers_are_never_skipped(qwen3_tokenizer: Any) -> None:
    from tokenizers import normalizers

    for normalizer in (normalizers.NFKC(), normalizers.Lowercase(),
                       normalizers.Sequence([normalizers.NFC(), normalizers.Lowercase()])):
        tokenizer = _copy(qwen3_tokenizer, normalizer)
        enc = SectionEncoder(tokenizer)
        assert not enc.skips_nfc
        texts = ["UPPER ascii", "\ufb01 ligature", *MIXED]
        assert enc._encode_whole(texts) == _want(tokenizer, texts)
    assert not SectionEncoder(_copy(qwen3_tokenizer, None)).skips_nfc


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=st.lists(st.one_of(st.text(alphabet=st.characters(max_codepoint=127), max_size=40),
                                st.text(max_size=12)), min_size=1, max_size=8))
def test_ascii_and_other_text_together(qwen3_tokenizer: Any, batch: list[str]) -> None:
    enc = SectionEncoder(qwen3_tokenizer)
    assert enc._encode_whole(batch) == _want(qwen3_tokenizer, batch)


def test_nfc_as_is() -> None:
    import unicodedata

    assert all(unicodedata.category(chr(c)) != "Cn" for c in range(0x110000) if _UNPRINTABLE.fullmatch(chr(c)))
    accepted = ["", "ascii\n\ttabs", "\u00e9t\u00e9", "数学：x²", "\uac00 precomposed hangul", "x\u00a0y\u3000z",
                "\u0434\u0430 cyrillic", "emoji \U0001f642"]
    refused = ["e\u0301", "\u2000 en quad (a singleton)", "\u212b", "\u1100\u1161 jamo", "a\u0378 unassigned",
               "\ufb01" + "e\u0301"]
    assert [t for t in accepted if not nfc_as_is(t)] == []
    assert [t for t in refused if nfc_as_is(t)] == []


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30)
       | st.lists(st.sampled_from(["a", "e", "\u0301", "\u0327", "\u1100", "\u1161", "\u11a8", "\uac00", "\u212b",
                                   "\u0378", "\u00a0", "\n", "数", "\u0b47", "\u0b3e"]), max_size=8).map("".join))
def test_what_nfc_as_is_accepts_the_tokenizers_nfc_leaves_alone(qwen3_tokenizer: Any, text: str) -> None:
    if nfc_as_is(text):
        assert qwen3_tokenizer.backend_tokenizer.normalizer.normalize_str(text) == text
