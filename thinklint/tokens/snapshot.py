"""A tokenizer without transformers: a verified snapshot of the one transformers built, reloaded in ~1/5 the time.

Importing transformers costs seconds (it imports torch); a pre-commit hook pays that on every commit
and every worker process pays it again. The tokens themselves come from the Rust backend, so after
the first load through transformers thinklint saves that backend (after transformers configured it:
added tokens, post-processor, flags) with the few Python-side facts the token layer reads (special
tokens, their ids, the chat template), under .thinklint_cache/tokenizers/, keyed by the tokenizer's
files and the versions of transformers, tokenizers and thinklint. A snapshot is written only when it
answers probe texts exactly as the transformers tokenizer does (ids, offsets, decodes, token ids),
and is read back only when its checksum holds; anything else loads through transformers.

Beside it, for a byte-level BPE tokenizer, the index that `tokens.partial` builds a tokenizer from for
the few texts of a re-run after an edit, without parsing the whole vocabulary; written only when such a
tokenizer answers the same probes exactly as the snapshot does.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Callable

FORMAT = 1
_ID_ATTRS = ("bos_token_id", "eos_token_id", "pad_token_id", "unk_token_id", "sep_token_id", "cls_token_id",
             "mask_token_id")
_PROBES = (
    "", "Hello, world!", "<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n4<|im_end|>\n",
    "  spaces  and\ttabs\n\n\nnewlines ", "数学：x²+1=0。", "e\u0301 Ünïcödé 🙂", "don't 's 'll ", "<think>x</think>y",
    "a . b , c ! d ? ' e", "<|endoftext|><s></s>[INST]",
)


class SnapshotTokenizer:
    """The part of a transformers fast tokenizer the token layer uses, answered by the Rust backend."""

    is_fast = True

    def __init__(self, backend: Any, meta: dict[str, Any]) -> None:
        self.backend_tokenizer = backend
        backend.encode_special_tokens = bool(meta["encode_special_tokens"])
        self.special_tokens_map: dict[str, Any] = meta["special_tokens_map"]
        self.chat_template: Any = meta["chat_template"]
        self.split_special_tokens = bool(meta["encode_special_tokens"])
        for name in _ID_ATTRS:
            setattr(self, name, meta["ids"].get(name))

    @property
    def added_tokens_decoder(self) -> dict[int, Any]:
        return dict(self.backend_tokenizer.get_added_tokens_decoder())

    def encode(self, text: str, add_special_tokens: bool = True) -> list[int]:
        ids: list[int] = self.backend_tokenizer.encode(text, add_special_tokens=add_special_tokens).ids
        return ids

    def __call__(self, text: str, add_special_tokens: bool = True, return_offsets_mapping: bool = False) -> Any:
        enc = self.backend_tokenizer.encode(text, add_special_tokens=add_special_tokens)
        out: dict[str, Any] = {"input_ids": enc.ids, "attention_mask": enc.attention_mask}
        if return_offsets_mapping:
            out["offset_mapping"] = enc.offsets
        return out

    def __len__(self) -> int:
        size: int = self.backend_tokenizer.get_vocab_size(with_added_tokens=True)
        return size

    def decode(self, ids: Any, skip_special_tokens: bool = False) -> str:
        ids = [ids] if isinstance(ids, int) else list(ids)
        text: str = self.backend_tokenizer.decode(ids, skip_special_tokens=skip_special_tokens)
        return text

    def convert_tokens_to_ids(self, token: str) -> int | None:
        found = self.backend_tokenizer.token_to_id(token)
        return found if found is not None else self.unk_token_id  # type: ignore[attr-defined,no-any-return]


def _versions() -> dict[str, str | None]:
    from thinklint import __version__
    from thinklint.distinfo import versions

    return {"thinklint": __version__, **versions(("transformers", "tokenizers"))}


def snapshot_dir(root: Path, fingerprint: Any, trust_remote_code: bool) -> Path:
    key = json.dumps([FORMAT, fingerprint, trust_remote_code, _versions()], sort_keys=True, default=str)
    return root / "tokenizers" / hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def load(folder: Path) -> SnapshotTokenizer | None:
    """The snapshot in `folder`, or None (none there, damaged, or written by other versions)."""
    try:
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        data = (folder / "tokenizer.json").read_bytes()
        if meta.get("format") != FORMAT or meta.get("sha256") != hashlib.sha256(data).hexdigest():
            return None
        from tokenizers import Tokenizer

        return SnapshotTokenizer(Tokenizer.from_file(str(folder / "tokenizer.json")), meta)
    except Exception:
        return None


INDEX = "partial.bin"


def load_partial(folder: Path, whole: Callable[[], Any]) -> SnapshotTokenizer | None:
    """The snapshot in `folder` as a partial tokenizer (`tokens.partial`), or None (no index, damaged, or
    another snapshot's); `whole` loads the whole tokenizer's backend when the partial one cannot answer."""
    try:
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        if meta.get("format") != FORMAT:
            return None
        from thinklint.tokens.partial import Index, PartialBackend

        index = Index((folder / INDEX).read_bytes(), meta["sha256"])
        return SnapshotTokenizer(PartialBackend(index, whole), meta)
    except Exception:
        return None


def save_index(reference: Any, folder: Path, backend: Any = None) -> bool:
    """Write the partial index of the snapshot in `folder` when a partial tokenizer built from it answers
    the probes exactly as `reference` (the tokenizer the snapshot was verified against, or the snapshot).
    `backend` is the snapshot's backend when it is already loaded."""
    from thinklint.fsutil import atomic_write
    from thinklint.tokens.partial import build_index

    try:
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        data = (folder / "tokenizer.json").read_bytes()
        if meta.get("format") != FORMAT or meta.get("sha256") != hashlib.sha256(data).hexdigest():
            return False
        text = data.decode("utf-8")
        if backend is None:
            from tokenizers import Tokenizer

            backend = Tokenizer.from_str(text)
        blob = build_index(backend, text, meta["sha256"])
        if blob is None:
            return False

        def refuse() -> Any:  # the probes must be answered by the partial tokenizer alone
            raise LookupError("the partial tokenizer fell back to the whole one")

        from thinklint.tokens.partial import Index, PartialBackend

        partial = SnapshotTokenizer(PartialBackend(Index(blob, meta["sha256"]), refuse), meta)
        if not _same(reference, partial):
            return False
        atomic_write(folder / INDEX, blob)
        return True
    except Exception:
        return False


def _same(real: Any, shim: SnapshotTokenizer) -> bool:
    """Does the snapshot answer everything the token layer asks exactly as the real tokenizer?"""
    added = [t.content for t in real.backend_tokenizer.get_added_tokens_decoder().values()][:64]
    specials = [v for v in real.special_tokens_map.values() if isinstance(v, str)]
    for text in (*_PROBES, *added, "".join(added[:8]) + " tail"):
        for special in (False, True):
            ids = real.encode(text, add_special_tokens=special)
            if shim.encode(text, add_special_tokens=special) != list(ids):
                return False
            for skip in (False, True):
                if shim.decode(ids, skip_special_tokens=skip) != real.decode(ids, skip_special_tokens=skip):
                    return False
        want = real(text, add_special_tokens=False, return_offsets_mapping=True)
        got = shim(text, add_special_tokens=False, return_offsets_mapping=True)
        if list(want["input_ids"]) != list(got["input_ids"]) or \
                [tuple(o) for o in want["offset_mapping"]] != [tuple(o) for o in got["offset_mapping"]]:
            return False
    for token in (*specials, *added, "hello", "\u0120the", "no-such-token-\u2603"):
        if shim.convert_tokens_to_ids(token) != real.convert_tokens_to_ids(token):
            return False
    if len(shim) != len(real):
        return False
    if sorted(shim.added_tokens_decoder) != sorted(getattr(real, "added_tokens_decoder", {})):
        return False
    return all(getattr(shim, name) == getattr(real, name, None) for name in _ID_ATTRS)


def save(real: Any, folder: Path) -> bool:
    """Write a snapshot of `real` when it answers exactly as `real` does; True when written."""
    from thinklint.fsutil import atomic_write

    backend = getattr(real, "backend_tokenizer", None)
    if backend is None or not getattr(real, "is_fast", False) or backend.truncation or backend.padding:
        return False
    try:
        template = real.chat_template
        meta: dict[str, Any] = {
            "format": FORMAT, "class": type(real).__name__,
            "encode_special_tokens": bool(getattr(real, "split_special_tokens", False)),
            "special_tokens_map": {k: v for k, v in real.special_tokens_map.items()
                                   if isinstance(v, (str, list))},
            "chat_template": template if isinstance(template, (str, dict)) else None,
            "ids": {name: getattr(real, name, None) for name in _ID_ATTRS},
        }
        data = backend.to_str().encode("utf-8")
        from tokenizers import Tokenizer

        shim = SnapshotTokenizer(Tokenizer.from_str(data.decode("utf-8")), json.loads(json.dumps(meta)))
        if not _same(real, shim):
            return False
        meta["sha256"] = hashlib.sha256(data).hexdigest()
        atomic_write(folder / "tokenizer.json", data)
        atomic_write(folder / "meta.json", json.dumps(meta, ensure_ascii=False).encode("utf-8"))
        save_index(real, folder, shim.backend_tokenizer)
        return True
    except Exception:
        return False
