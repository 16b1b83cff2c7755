"""Tokenizing as `tokenizer.encode(text, add_special_tokens=False)` does, in batches and section by section.

A Hugging Face fast tokenizer first cuts its input at added tokens (`<|im_start|>`, `<think>`...),
then normalises, pre-tokenises and encodes each piece between them on its own, and concatenates.
`SectionEncoder` makes the same cut itself (leftmost-longest, as the tokenizer's matcher), encodes
each distinct piece ("section") once, in one `encode_batch` call per batch of samples, and keeps
the results: chat-formatted text repeats its sections (`user\\n`, `\\n`, `assistant\\n`, system
prompts), and a prefix of a text shares every section but the last with the text itself. That is
what makes LLaMA-Factory's slot-by-slot encoding and TPL001's serving prompts cost little more
than tokenizing each sample once.

It is exact by construction only for tokenizers whose pieces really are independent; anything
else (added tokens that strip whitespace or match only whole words, Metaspace's "prepend to the
first piece only", BPE dropout, tokenizers without a Rust backend) is encoded whole, text by text,
still batched. A probe at start-up compares both ways and turns sectioning off on any difference.

Text that NFC leaves as it is (`nfc_as_is`: ASCII, or NFC already and every character assigned) is
encoded with the tokenizer's normaliser switched off when that normaliser is NFC alone (Qwen's):
skipping it saves about a tenth of the tokenizing.
"""

from __future__ import annotations

import json
import re
import unicodedata
from functools import partial
from typing import Any, Iterable, Sequence

from thinklint.tokens.encoding import common_prefix
from thinklint.tokens.offmain import off_main

#: sections this long or shorter are kept across batches (turn headers, newlines, system prompts)
_SHORT = 96
_KEEP_SHORT = 50_000
#: long sections outside a prefetched batch (encode() called alone) are kept up to this many
_KEEP_BATCH = 4_096
_PROBES = (
    "<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\nHello!<|im_end|>\n",
    "a<think>b</think>c \n\n d<|im_end|><|im_end|>x", "  leading\n\n\nspaces\t\t<|im_start|>",
    "数学题：x²+1=0。<think>\n推理\n</think>\n\n答案", "Ünïcödé e\u0301 (combining)<|endoftext|> trailing ",
)


def _state(component: Any) -> Any:
    if component is None:
        return None
    try:
        return json.loads(component.__getstate__())
    except Exception:  # an unknown component: not sectionable
        return {"type": "?"}


def _walk(node: Any) -> Iterable[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def sectionable(tokenizer: Any) -> str | None:
    """None when `tokenizer` encodes its added-token-separated pieces independently; else why not."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None or not getattr(tokenizer, "is_fast", False):
        return "not a fast tokenizer"
    if getattr(backend, "encode_special_tokens", False):
        return "special tokens are encoded as text"
    if getattr(backend.model, "dropout", None):
        return "BPE dropout"
    for node in _walk(_state(backend.pre_tokenizer)):
        if node.get("type") == "?" or (node.get("type") == "Metaspace" and node.get("prepend_scheme") == "first"):
            return "a pre-tokenizer that treats the first piece differently"
    if any(n.get("type") == "?" for n in _walk(_state(backend.normalizer))):
        return "an unknown normalizer"
    for token in backend.get_added_tokens_decoder().values():
        if token.lstrip or token.rstrip or token.single_word:
            return f"added token {token.content!r} strips whitespace or matches whole words only"
        if token.normalized and backend.normalizer is not None:
            return f"added token {token.content!r} is matched after normalisation"
    return None


#: assigned characters that are not printable (spaces, line breaks, invisible format characters): taken out
#: before the printable check, which is the check that every character is assigned
_UNPRINTABLE = re.compile("[\t\n\r\x0b\x0c\x85\xa0\xad\u1680\u2000-\u200f\u2028-\u202f\u205f-\u2064\u3000\ufeff]")


def nfc_as_is(text: str) -> bool:
    """Whether NFC, as the tokenizer's Rust side computes it, certainly leaves `text` as it is.

    ASCII text: no ASCII character decomposes, combines or composes, in any Unicode version. Other text:
    when it is NFC by Python's Unicode database and every character is assigned there (printable, but for
    the assigned ones of `_UNPRINTABLE`), it is NFC by the tokenizer's database too, whichever version. A later
    version normalises it the same (Unicode's normalisation stability policy covers strings of characters
    assigned in the earlier version); an earlier one sees the characters it lacks as starters that neither
    decompose nor compose, which can only block compositions that Python's database found none of.
    """
    return text.isascii() or (unicodedata.is_normalized("NFC", text)
                              and _UNPRINTABLE.sub("", text).isprintable())


def _nfc_skippable(backend: Any) -> bool:
    """Whether `nfc_as_is` text may skip `backend`'s normaliser: it is NFC alone, and can be switched off and back.

    Normalising is about a tenth of tokenizing Qwen3: its Rust side tracks every character's alignment even
    when nothing changes, and almost all the text of a dataset is NFC already.
    """
    if _state(backend.normalizer) != {"type": "NFC"}:
        return False
    normalizer = backend.normalizer
    try:
        backend.normalizer = None
    except (AttributeError, TypeError, ValueError):  # a release whose setter refuses None; a partial backend
        return False
    backend.normalizer = normalizer
    return bool(_state(backend.normalizer) == {"type": "NFC"})


class SectionEncoder:
    """`encode(text)` equal to the tokenizer's `encode(text, add_special_tokens=False)`, memoised by section.

    `prefetch(texts)` encodes every section it has not seen in one batch call and keeps them until
    the next `prefetch`; short sections are kept longer. Memory is bounded by the batch.
    """

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer
        backend = getattr(tokenizer, "backend_tokenizer", None)
        if backend is not None:
            tokenizer.encode("", add_special_tokens=False)  # transformers syncs the backend's flags on a call
            if backend.truncation is not None or backend.padding is not None:
                backend = None
        self._backend = backend
        self.backend = backend  # for batched calls with offsets; None when the tokenizer has no Rust side
        #: encode_batch_fast: no offsets, same ids, less work
        raw = None if backend is None else getattr(backend, "encode_batch_fast", None) or backend.encode_batch
        self._call: Any = None if raw is None else partial(off_main, raw)
        self.skips_nfc = backend is not None and _nfc_skippable(backend)
        # ids as the backend hands them (lists, never changed once kept): copying 3 M ids into tuples costs
        # ~45 ms per 2,000 samples
        self._batch: dict[str, list[int]] = {}
        self._short: dict[str, list[int]] = {}
        self._added: dict[str, int] = {}
        self._split: re.Pattern[str] | None = None
        self._by_first: list[str] | None = None
        self._cuts: dict[str, list[str]] = {}
        self.why_whole = sectionable(tokenizer) if backend is not None else "no Rust backend"
        if self.why_whole is None:
            assert backend is not None
            self._added = {t.content: i for i, t in backend.get_added_tokens_decoder().items()}
            if self._added:
                alternatives = sorted(self._added, key=len, reverse=True)  # leftmost-longest, as the matcher
                self._split = re.compile("|".join(re.escape(a) for a in alternatives))
                firsts = sorted({a[0] for a in alternatives})
                self._by_first = firsts if len(firsts) <= 4 else None
            if any(self.encode(p) != self._encode_whole([p])[0] for p in _PROBES):
                self.why_whole, self._split, self._added, self._by_first = "probe mismatch", None, {}, None
            self._batch.clear()
            self._short.clear()

    # -- the backend ----------------------------------------------------------------------------
    def _encode_whole(self, texts: Sequence[str]) -> list[list[int]]:
        if not texts:
            return []
        if self._call is None:
            return [list(self.tokenizer.encode(t, add_special_tokens=False)) for t in texts]
        if self.skips_nfc:
            plain = [i for i, t in enumerate(texts) if nfc_as_is(t)]
            if plain:
                return self._encode_apart(texts, plain)
        return [e.ids for e in self._call(list(texts), add_special_tokens=False)]

    def _encode_apart(self, texts: Sequence[str], plain: list[int]) -> list[list[int]]:
        """The texts at `plain` with the normaliser off, NFC leaving them as they are; the rest with it."""
        assert self._backend is not None and self._call is not None
        out: list[list[int]] = [[]] * len(texts)
        normalizer = self._backend.normalizer
        self._backend.normalizer = None
        try:
            for i, enc in zip(plain, self._call([texts[i] for i in plain], add_special_tokens=False)):
                out[i] = enc.ids
        finally:
            self._backend.normalizer = normalizer
        if len(plain) < len(texts):
            rest = sorted(set(range(len(texts))).difference(plain))
            for i, enc in zip(rest, self._call([texts[i] for i in rest], add_special_tokens=False)):
                out[i] = enc.ids
        return out

    # -- sections -------------------------------------------------------------------------------
    def sections(self, text: str) -> list[str]:
        """`text` cut at added tokens; the tokens themselves are sections of their own."""
        if self._split is None:
            return [text] if text else []
        hit = self._cuts.get(text)  # a batch cuts each text up to three times (prefetch, encode, prefixes)
        if hit is None:
            hit = self._cut(text)
            if len(self._cuts) >= _KEEP_BATCH:
                self._cuts.clear()
            self._cuts[text] = hit
        return hit

    def _cut(self, text: str) -> list[str]:
        if self._by_first is not None:
            return self._sections_by_find(text)
        assert self._split is not None
        out: list[str] = []
        pos = 0
        for m in self._split.finditer(text):
            if m.start() > pos:
                out.append(text[pos:m.start()])
            out.append(m.group())
            pos = m.end()
        if pos < len(text):
            out.append(text[pos:])
        return out

    def _sections_by_find(self, text: str) -> list[str]:
        """The same cut, the regex tried only where an added token can start: its first characters
        (Qwen's all start with '<') are found by str.find in C, instead of the regex engine trying
        every alternative at every character of a long reasoning text."""
        assert self._by_first is not None and self._split is not None
        out: list[str] = []
        pos = start = 0
        firsts = self._by_first
        match = self._split.match
        while True:
            if len(firsts) == 1:
                at = text.find(firsts[0], pos)
            else:
                at = min((i for i in (text.find(c, pos) for c in firsts) if i >= 0), default=-1)
            if at < 0:
                break
            m = match(text, at)
            if m is None:
                pos = at + 1
                continue
            if at > start:
                out.append(text[start:at])
            out.append(m.group())
            pos = start = m.end()
        if start < len(text):
            out.append(text[start:])
        return out

    def _lookup(self, section: str) -> list[int] | None:
        hit = self._batch.get(section)
        if hit is None:
            hit = self._short.get(section)
        if hit is None and section in self._added:
            hit = [self._added[section]]
        return hit

    def _remember(self, section: str, ids: list[int]) -> None:
        if len(section) <= _SHORT:
            if len(self._short) >= _KEEP_SHORT:
                self._short.clear()
            self._short[section] = ids
        else:
            if len(self._batch) >= _KEEP_BATCH:  # encode() without prefetch() (render, show) stays bounded
                self._batch.clear()
            self._batch[section] = ids

    def prefetch(self, texts: Iterable[str]) -> None:
        """Encode, in one batch, every section of `texts` not already known; forget the previous batch's."""
        self._batch = {}
        self._cuts = {}
        self.fill(texts)

    def fill(self, texts: Iterable[str]) -> None:
        """Encode, in one batch, every section of `texts` not already known (kept with the batch's)."""
        missing: dict[str, None] = {}
        for text in texts:
            for s in self.sections(text):
                if s not in missing and self._lookup(s) is None:
                    missing[s] = None
        todo = list(missing)
        for section, ids in zip(todo, self._encode_whole(todo)):
            self._remember(section, ids)

    def encode(self, text: str, add_special_tokens: bool = False) -> list[int]:
        if add_special_tokens:  # never asked for by the trainer models; kept exact all the same
            return list(self.tokenizer.encode(text, add_special_tokens=True))
        out: list[int] = []
        for s in self.sections(text):
            ids = self._lookup(s)
            if ids is None:
                ids = self._encode_whole([s])[0]
                self._remember(s, ids)
            out.extend(ids)
        return out

    def _ids(self, section: str) -> list[int]:
        ids = self._lookup(section)
        if ids is None:
            ids = self._encode_whole([section])[0]
            self._remember(section, ids)
        return ids

    def prefix_tokens(self, text: str, ids: Sequence[int], boundary: int) -> int:
        """`common_prefix(ids, encode(text[:boundary]))` where `ids` is `encode(text)`, section by section.

        The prefix shares every section before the one `boundary` cuts: only the sections after
        those are encoded (usually a few characters after a `</think>`) and compared.
        """
        whole, part = self.sections(text), self.sections(text[:boundary])
        offset = same = 0
        for a, b in zip(whole, part):
            if a != b:
                break
            offset += len(self._ids(a))
            same += 1
        tail = [t for s in part[same:] for t in self._ids(s)]
        return offset + common_prefix(ids[offset:offset + len(tail)], tail)

    def encode_many(self, texts: Sequence[str]) -> list[list[int]]:
        """Like `[encode(t) for t in texts]`, with one backend call for the sections not yet known."""
        self.fill(texts)
        return [self.encode(t) for t in texts]


#: the one `__call__` the trainer models make (chat_template, text): ids with character offsets
_OFFSETS_CALL = {"add_special_tokens": False, "return_offsets_mapping": True}


class BatchTokenizer:
    """The tokenizer the trainer models see: `encode` through a `SectionEncoder`, everything else as is.

    The trainer models call `encode(text, add_special_tokens=False)`, `convert_tokens_to_ids`,
    special-token attributes and, for offsets, `tokenizer(text, add_special_tokens=False,
    return_offsets_mapping=True)`; that call is answered from `prefetch_offsets` when it can be.
    """

    def __init__(self, tokenizer: Any, sections: SectionEncoder) -> None:
        self._tokenizer = tokenizer
        self._sections = sections
        self._offsets: dict[str, dict[str, Any]] = {}

    def encode(self, text: str, add_special_tokens: bool = False) -> list[int]:
        return self._sections.encode(text, add_special_tokens)

    def prefix_tokens(self, text: str, ids: Sequence[int], boundary: int) -> int:
        """How many tokens of `ids` (= `encode(text)`) lie wholly before character `boundary`."""
        return self._sections.prefix_tokens(text, ids, boundary)

    def prefetch_offsets(self, texts: Sequence[str]) -> None:
        """Tokenize `texts` with offsets in one batch call, for the `__call__`s that follow."""
        self._offsets = {}
        backend = self._sections.backend
        if backend is None or not texts:
            return
        unique = list(dict.fromkeys(texts))
        for text, enc in zip(unique, off_main(backend.encode_batch, unique, add_special_tokens=False)):
            self._offsets[text] = {"input_ids": enc.ids, "offset_mapping": enc.offsets}

    def __call__(self, text: Any, **kwargs: Any) -> Any:
        if isinstance(text, str) and kwargs == _OFFSETS_CALL:
            hit = self._offsets.get(text)
            if hit is not None:
                return hit
        return self._tokenizer(text, **kwargs)

    def __len__(self) -> int:
        return len(self._tokenizer)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._tokenizer, name)


class Recorder:
    """A stand-in tokenizer that answers nothing and writes down what it was asked to tokenize.

    `TokenContext.prefetch` runs each sample's trainer model with it to learn, without tokenizing,
    which texts the real run will ask for (encode: `texts`; offsets calls: `called`).
    """

    def __init__(self, tokenizer: Any) -> None:
        self._tokenizer = tokenizer
        self.texts: list[str] = []
        self.called: list[str] = []

    def encode(self, text: str, add_special_tokens: bool = False) -> list[int]:
        self.texts.append(text)
        return []

    def prefix_tokens(self, text: str, ids: Sequence[int], boundary: int) -> int:
        self.texts.append(text[:boundary])
        return 0

    def __call__(self, text: Any, **kwargs: Any) -> Any:
        if isinstance(text, str) and kwargs == _OFFSETS_CALL:
            self.called.append(text)
        return {"input_ids": [], "offset_mapping": []}

    def __len__(self) -> int:
        return len(self._tokenizer)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._tokenizer, name)
