"""A byte-level BPE tokenizer built for the texts at hand: a few samples tokenize without loading the vocabulary.

Loading Qwen3's tokenizer.json is half a second of Rust parsing 151k tokens and merges, and a re-run
after a one-sample edit tokenizes a few kilobytes. Byte-level BPE turns each pre-tokenized word into
tokens by merges alone, and a merge can apply to a word only if the token it makes is a substring of
the word. So a tokenizer whose vocabulary holds the tokens that are substrings of the words to encode
(and every byte's token, and the added tokens), whose merges are the merges making those tokens in
their original order, and which keeps the ids, normaliser, pre-tokenizer, added tokens,
post-processor and decoder, gives the whole tokenizer's ids, offsets and decodes for those words.
Built from a small JSON, it takes milliseconds.

The words come from the tokenizer itself: a text is first encoded with the vocabulary built so far.
That splits it at added tokens, normalises and pre-tokenizes it exactly as the whole tokenizer does
(none of it depends on the vocabulary), and, every byte being a token, its tokens spell out each word.
When a word holds a token the vocabulary lacks, the vocabulary grows and the text is encoded again.
Anything else (decoding an id outside the vocabulary, the vocabulary itself, a call not written out
here) goes to the whole tokenizer, loaded then; so does everything once rebuilding has cost more than
loading it would.

The index (`partial.bin` beside a tokenizer snapshot: its vocabulary and merges as UTF-8 text and
integer columns, which load in a few tens of milliseconds) is written only for a tokenizer this
reasoning holds for (a BPE model without dropout, byte fallback or affixes, whose pre-tokenizer is
byte-level, with every byte a token) and only when a tokenizer built from it answers probe texts
exactly as the whole one. It is read back only when its checksum holds and it names the snapshot
beside it (`tokens.snapshot`).
"""

from __future__ import annotations

import hashlib
import json
import sys
from array import array
from itertools import accumulate
from typing import Any, Callable, Iterable, Sequence

FORMAT = 1
#: substrings up to this long are looked up in the vocabulary; the few longer tokens are searched for
_SHORT = 16
_SEP = "\x00"


def _ints(data: bytes) -> array[int]:
    col = array("I")
    col.frombytes(data)
    if sys.byteorder != "little":
        col.byteswap()
    return col


def _bytes(values: Iterable[int]) -> bytes:
    col = array("I", values)
    if sys.byteorder != "little":
        col.byteswap()
    return col.tobytes()


def refusal(state: Any) -> str | None:
    """None when the tokenizer serialised as `state` (tokenizer.json) can be built partially; else why not."""
    if not isinstance(state, dict):
        return "not a tokenizer"
    model = state.get("model")
    if not isinstance(model, dict) or model.get("type") != "BPE":
        return "not a BPE model"
    if model.get("dropout") or model.get("byte_fallback") or model.get("continuing_subword_prefix") \
            or model.get("end_of_word_suffix"):
        return "BPE dropout, byte fallback or affixes"
    if not isinstance(model.get("vocab"), dict) or not isinstance(model.get("merges"), list):
        return "no vocabulary or merges"
    pre = state.get("pre_tokenizer") or {}
    steps = pre.get("pretokenizers", []) if pre.get("type") == "Sequence" else [pre]
    if not any(isinstance(s, dict) and s.get("type") == "ByteLevel" for s in steps):
        return "not byte-level"
    if state.get("normalizer") and any(t.get("normalized") for t in state.get("added_tokens") or []):
        # matched inside normalised text: the pieces between them are not normalised one by one
        return "added tokens matched after normalisation"
    return None


def build_index(whole: Any, data: str, snapshot_sha: str) -> bytes | None:
    """The index of `whole` (a `tokenizers.Tokenizer`) serialised as `data`, or None where partial building
    does not apply."""
    from tokenizers.pre_tokenizers import ByteLevel

    state = json.loads(data)
    if refusal(state) is not None:
        return None
    model = state["model"]
    vocab: dict[str, int] = model["vocab"]
    if any(_SEP in t for t in vocab) or not all(c in vocab for c in ByteLevel.alphabet()):
        return None
    unk = model.get("unk_token")
    if unk is not None and unk not in vocab:
        return None
    pairs = [m.split(" ") if isinstance(m, str) else m for m in model["merges"]]
    try:  # a merge of tokens the vocabulary lacks, or of something other than two tokens: not BPE as reasoned
        made = [vocab[a + b] for a, b in pairs]
        left = [vocab[a] for a, _ in pairs]
        right = [vocab[b] for _, b in pairs]
    except (KeyError, ValueError, TypeError):
        return None
    # the merges that make each token, by token id: ranks[firsts[i]:firsts[i + 1]] (a stable sort: in rank order)
    by_token = sorted(range(len(made)), key=made.__getitem__)
    top = max(vocab.values(), default=0) + 1
    counts = [0] * (top + 1)
    for i in made:
        counts[i + 1] += 1
    firsts = list(accumulate(counts))
    tokens = list(vocab)
    shell = dict(state, model=dict(model, vocab={}, merges=[]))
    sections = [json.dumps(shell, ensure_ascii=False).encode("utf-8"), _SEP.join(tokens).encode("utf-8"),
                _bytes(vocab.values()), _SEP.join(t for t in tokens if len(t) > _SHORT).encode("utf-8"),
                _bytes(firsts), _bytes(by_token), _bytes(left), _bytes(right)]
    head = json.dumps({"format": FORMAT, "snapshot": snapshot_sha, "sections": [len(x) for x in sections],
                       "sizes": [whole.get_vocab_size(with_added_tokens=False),
                                 whole.get_vocab_size(with_added_tokens=True)]}).encode("utf-8")
    body = b"\n".join([head, b"".join(sections)])
    return hashlib.sha256(body).digest() + body


class Index:
    """A loaded index: the whole vocabulary (token -> id), the merges, the tokenizer without either.

    Its file is a SHA-256 of the rest, a JSON line (format, snapshot, section sizes, vocabulary sizes),
    then the sections: the tokenizer's JSON without vocabulary and merges, the tokens joined by NULs,
    their ids, the tokens longer than `_SHORT`, and the merges by the token they make (uint32 columns,
    little-endian). Nothing in it is code, and any inconsistency is a ValueError.
    """

    def __init__(self, blob: bytes, snapshot_sha: str) -> None:
        body = memoryview(blob)[32:]
        if hashlib.sha256(body).digest() != blob[:32]:
            raise ValueError("checksum")
        nl = blob.index(b"\n", 32)
        head = json.loads(blob[32:nl])
        if head.get("format") != FORMAT or head.get("snapshot") != snapshot_sha:
            raise ValueError("another format or snapshot")
        sizes, pos, parts = head["sizes"], nl + 1, []
        for width in head["sections"]:
            parts.append(blob[pos:pos + width])
            pos += width
        if pos != len(blob) or len(parts) != 8 or not (len(sizes) == 2 and all(type(x) is int for x in sizes)):
            raise ValueError("shape")
        shell, tokens, ids, long, firsts, ranks, left, right = parts
        self.shell: dict[str, Any] = json.loads(shell)
        names = tokens.decode("utf-8").split(_SEP)
        self.vocab: dict[str, int] = dict(zip(names, _ints(ids)))
        self.long: dict[str, list[str]] = {}  # tokens longer than _SHORT, by their first character
        for token in long.decode("utf-8").split(_SEP) if long else ():
            self.long.setdefault(token[0], []).append(token)
        self._firsts, self._ranks, self._left, self._right = _ints(firsts), _ints(ranks), _ints(left), _ints(right)
        if len(names) != len(ids) // 4 or len(self.vocab) != len(names) or len(self._left) != len(self._right) \
                or len(self._ranks) != len(self._left) or not self._firsts or self._firsts[-1] != len(self._ranks) \
                or (self._ranks and max(self._ranks) >= len(self._left)):
            raise ValueError("shape")
        self.added: dict[str, int] = {t["content"]: t["id"] for t in self.shell.get("added_tokens", [])}
        self.sizes: tuple[int, int] = (sizes[0], sizes[1])  # without, with added tokens

    def merges(self, token_ids: Iterable[int]) -> list[int]:
        """The ranks of the merges that make these tokens, in rank order."""
        firsts, ranks = self._firsts, self._ranks
        top = len(firsts) - 1
        return sorted(r for i in token_ids if i < top for r in ranks[firsts[i]:firsts[i + 1]])

    def pair(self, rank: int) -> tuple[int, int]:
        return self._left[rank], self._right[rank]


def _substrings(word: str) -> set[str]:
    n = len(word)
    if n <= _SHORT:
        return {word[i:j] for i in range(n) for j in range(i + 1, n + 1)}
    return {word[i:i + k] for k in range(1, _SHORT + 1) for i in range(n - k + 1)}


class PartialBackend:
    """In place of a `tokenizers.Tokenizer`: encodes with a vocabulary grown to the texts it is given.

    `whole` loads the whole tokenizer (its Rust backend), for what the partial one cannot answer.
    """

    #: the work of a partial tokenizer grows with the words it reads and the tokens it rebuilds with;
    #: past this share of the whole vocabulary's size in characters and tokens (about a third of the
    #: time loading the whole tokenizer takes, for Qwen3), the whole one is loaded instead
    BUDGET_SHARE = 0.25
    BUDGET_FLOOR = 20_000  # a small vocabulary loads fast, but not in no time

    def __init__(self, index: Index, whole: Callable[[], Any]) -> None:
        from tokenizers.pre_tokenizers import ByteLevel

        self._index = index
        self._load_whole = whole
        self._whole: Any = None
        self._special = False
        self._seen: set[str] = set()
        self._tokens: dict[str, int] = {c: index.vocab[c] for c in ByteLevel.alphabet()}
        self._budget = max(int(len(index.vocab) * self.BUDGET_SHARE), self.BUDGET_FLOOR)
        self._work = 0
        self._current: Any = None
        self._ids: frozenset[int] = frozenset()
        self._build()
        from tokenizers import Tokenizer

        # the same pipeline with a word-level model that knows no word: one token per word, and the
        # added tokens found where the whole tokenizer finds them (their ids differ: known by content)
        shell = index.shell
        unknown = _SEP + "unknown"
        self._splitter = Tokenizer.from_str(json.dumps(dict(
            shell, model={"type": "WordLevel", "vocab": {unknown: 0}, "unk_token": unknown},
            post_processor=None, decoder=None), ensure_ascii=False))
        self._splitter_added = frozenset(self._splitter.get_added_tokens_decoder())

    # -- building -------------------------------------------------------------------------------
    def _build(self) -> None:
        from tokenizers import Tokenizer

        index = self._index
        self._work += len(self._tokens)
        by_id = {i: t for t, i in self._tokens.items()}
        merges = []
        for rank in index.merges(by_id):
            a, b = index.pair(rank)
            merges.append([by_id[a], by_id[b]])
        vocab = dict(self._tokens)
        for content, i in index.added.items():  # so that added tokens keep their ids (they are matched
            vocab.setdefault(content, index.vocab.get(content, i))  # before the model ever sees them)
        shell = index.shell
        state = dict(shell, model=dict(shell["model"], vocab=vocab, merges=merges))
        tokenizer = Tokenizer.from_str(json.dumps(state, ensure_ascii=False))
        tokenizer.encode_special_tokens = self._special
        self._current = tokenizer
        self._ids = frozenset(vocab.values()) | frozenset(index.added.values())

    def _words(self, texts: list[str]) -> Iterable[str]:
        """The words the model is given for `texts`, as the whole tokenizer cuts them: at added tokens
        (where the splitter, which has no vocabulary but the same added tokens, finds them), then each
        piece between them normalised and pre-tokenized on its own, as the Rust pipeline does."""
        splitter, added = self._splitter, self._splitter_added
        normalizer, pre = splitter.normalizer, splitter.pre_tokenizer
        for text, enc in zip(texts, splitter.encode_batch(texts, add_special_tokens=False)):
            pieces, pos = [], 0
            for i, (start, end) in zip(enc.ids, enc.offsets):
                if i in added:
                    pieces.append(text[pos:start])
                    pos = end
            pieces.append(text[pos:])
            for piece in pieces:
                if piece:
                    yield from (w for w, _ in pre.pre_tokenize_str(normalizer.normalize_str(piece) if normalizer
                                                                     else piece))

    def _missing(self, texts: list[str]) -> set[str] | None:
        """Tokens of the whole vocabulary inside the words of `texts` that this one lacks; None once
        looking costs more than loading the whole tokenizer."""
        vocab, long, seen = self._index.vocab, self._index.long, self._seen
        found: set[str] = set()
        for word in self._words(texts):
            if word in seen:
                continue
            seen.add(word)
            self._work += len(word)
            if self._work > self._budget:
                return None
            if len(word) > 1:  # a single byte is in from the start
                found |= vocab.keys() & _substrings(word)
                if len(word) > _SHORT:
                    found.update(t for c in set(word) for t in long.get(c, ()) if t in word)
        return {t for t in found if t not in self._tokens}

    def _grow(self, texts: list[str]) -> bool:
        """Make the vocabulary hold every token the words of `texts` may need; False when that would
        cost more than loading the whole tokenizer."""
        missing = self._missing(texts)
        if missing is None:
            return False
        if missing:
            self._tokens.update((t, self._index.vocab[t]) for t in missing)
            if self._work + len(self._tokens) > self._budget:
                return False
            self._build()
        return True

    def _encode(self, texts: list[str], add_special_tokens: bool) -> list[Any]:
        if self._whole is None and not self._grow(texts):
            self.whole  # noqa: B018 - loaded: it answers from now on
        tokenizer = self._current if self._whole is None else self._whole
        return list(tokenizer.encode_batch(texts, add_special_tokens=add_special_tokens))

    @property
    def whole(self) -> Any:
        """The whole tokenizer; loaded on first use, then answering everything."""
        if self._whole is None:
            whole = self._load_whole()
            whole.encode_special_tokens = self._special
            self._whole = whole
        return self._whole

    @property
    def is_partial(self) -> bool:
        return self._whole is None

    # -- what the token layer calls -------------------------------------------------------------
    def encode(self, text: Any, *args: Any, add_special_tokens: bool = True, **kwargs: Any) -> Any:
        if args or kwargs or not isinstance(text, str):  # pairs, pre-tokenized input: not needed here
            return self.whole.encode(text, *args, add_special_tokens=add_special_tokens, **kwargs)
        return self._encode([text], add_special_tokens)[0]

    def encode_batch(self, texts: Any, *args: Any, add_special_tokens: bool = True, **kwargs: Any) -> Any:
        texts = list(texts)
        if args or kwargs or not all(isinstance(t, str) for t in texts):
            return self.whole.encode_batch(texts, *args, add_special_tokens=add_special_tokens, **kwargs)
        return self._encode(texts, add_special_tokens)

    encode_batch_fast = encode_batch  # offsets cost little on a few texts

    def decode(self, ids: Sequence[int], skip_special_tokens: bool = True) -> str:
        ids = list(ids)
        if self._whole is None and self._ids.issuperset(ids):
            return str(self._current.decode(ids, skip_special_tokens=skip_special_tokens))
        return str(self.whole.decode(ids, skip_special_tokens=skip_special_tokens))

    def token_to_id(self, token: str) -> int | None:
        added = self._index.added.get(token)  # as the Rust side looks: added tokens first
        return added if added is not None else self._index.vocab.get(token)

    def get_vocab_size(self, with_added_tokens: bool = True) -> int:
        return self._index.sizes[1 if with_added_tokens else 0]

    def get_added_tokens_decoder(self) -> Any:
        return self._current.get_added_tokens_decoder()

    @property
    def encode_special_tokens(self) -> bool:
        return self._special

    @encode_special_tokens.setter
    def encode_special_tokens(self, value: bool) -> None:
        self._special = bool(value)
        self._current.encode_special_tokens = self._special
        self._splitter.encode_special_tokens = self._special
        if self._whole is not None:
            self._whole.encode_special_tokens = self._special

    # the pipeline's settings are the whole tokenizer's, copied; its vocabulary is not
    normalizer = property(lambda self: self._current.normalizer)
    pre_tokenizer = property(lambda self: self._current.pre_tokenizer)
    post_processor = property(lambda self: self._current.post_processor)
    decoder = property(lambda self: self._current.decoder)
    truncation = property(lambda self: self._current.truncation)
    padding = property(lambda self: self._current.padding)

    @property
    def model(self) -> Any:
        return _ModelSettings(self._current.model, lambda: self.whole.model)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.whole, name)


class _ModelSettings:
    """The BPE model's settings (the same in the partial model); anything else from the whole model."""

    _SETTINGS = frozenset({"dropout", "unk_token", "continuing_subword_prefix", "end_of_word_suffix", "fuse_unk",
                           "byte_fallback", "ignore_merges"})

    def __init__(self, partial: Any, whole: Callable[[], Any]) -> None:
        self._partial = partial
        self._whole = whole

    def __getattr__(self, name: str) -> Any:
        if name in self._SETTINGS:
            return getattr(self._partial, name)
        return getattr(self._whole(), name)
