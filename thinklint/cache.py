"""The incremental cache: per-sample results, so that a run after a small edit re-checks only what changed.

Layout (beside the spec, git-ignored by a `.gitignore` of its own, as ruff's):

    .thinklint_cache/
      .gitignore  CACHEDIR.TAG
      v4/<config key>/<file key>.entry

The config key hashes everything a sample's findings depend on besides its bytes (`config_key`);
a file key hashes the dataset, the path as displayed and the resolved path. An entry
(`thinklint.entries`) holds the facts (`thinklint.facts`) of every sample of one file, by a hash of
its bytes (`readers.scan`): a sample whose bytes are unchanged is neither parsed nor checked again,
wherever it moved. Entries are written whole and atomically; one that fails its checksum or shape is
ignored (and rewritten), never trusted. Folders of other entry formats are removed.

A file is not even read when its entry records its stat (size, modification and change times to the
nanosecond, inode, device) and the file's is the same: git's index trusts the same fields, ruff and
mypy fewer (modification time and size). No editor, git or copy changes a file and keeps all of them
(restoring the modification time, as `touch -d` or `cp -p` do, sets the change time to now), and
an entry records them only for a file that had settled before it was read (`settled`), so that a
later write cannot fall in the same tick of the file system's clock.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Mapping

from thinklint import __version__
from thinklint.distinfo import versions
from thinklint.engine import FileResult, check_file
from thinklint.entries import FORMAT, Entry, Stat, empty_entry, load_entry, store_entry
from thinklint.filefacts import FileFacts
from thinklint.fsutil import atomic_write, listing, real, stat_digest
from thinklint.planning import WorkItem
from thinklint.profiles import Profile
from thinklint.resources import package_folder
from thinklint.selection import Selection
from thinklint.settings import Settings
from thinklint.spec import Spec
from thinklint.tokenizer_files import special_tokens

if TYPE_CHECKING:
    from thinklint.helper import Helper

CACHE_DIR = ".thinklint_cache"
#: config folders kept; older ones (an earlier spec, version or tokenizer) are pruned
KEEP_CONFIGS = 4
#: files of a tokenizer folder that decide its tokens and template (weights beside them are not read)
_TOKENIZER_FILES = ("tokenizer", "vocab", "merges", "special_tokens_map", "added_tokens", "chat_template",
                    "config.json", "generation_config.json", "tokenization_", "spiece", "sentencepiece")
_PACKAGE = Path(__file__).resolve().parent


def cache_root(spec: Spec) -> Path:
    return spec.root / CACHE_DIR


def results_root(root: Path) -> Path:
    """Where the entries of this cache format live under the cache folder `root`: a folder per configuration."""
    return root / f"v{FORMAT}"


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


#: in the cache folder: the SHA-256 of files hashed into the configuration key, by their stat
_DIGESTS = "digests.json"


def _files_digest(paths: Iterable[Path], root: Path | None = None) -> str:
    """A hash of these files' names and contents. With `root` (the cache folder), each file's SHA-256 is
    remembered by its stat, as an entry remembers its data file's (`file_stat`, `settled`): Qwen3's
    tokenizer.json alone is 11 MB, hashed into every run's configuration key."""
    memo: dict[str, Any] = {}
    if root is not None:
        try:
            memo = json.loads((root / _DIGESTS).read_bytes())
        except (OSError, ValueError):
            pass
    changed = False
    h = hashlib.sha256()
    for p in sorted(paths):
        since = time.time_ns()
        stat, key = file_stat(p), os.path.abspath(p)
        hit = memo.get(key) if isinstance(memo, dict) else None
        if stat is not None and isinstance(hit, list) and hit[:-1] == list(stat) and isinstance(hit[-1], str):
            digest = hit[-1]
        else:
            try:
                digest = _sha(p.read_bytes())
            except OSError:
                digest = "unreadable"
            if root is not None and stat is not None and settled(stat, since) and file_stat(p) == stat:
                memo, changed = ({} if len(memo) > 256 or not isinstance(memo, dict) else memo), True
                memo[key] = [*stat, digest]
        h.update(f"{p.name}\0{stat[0] if stat else -1}\0{digest}\n".encode())
    if changed and root is not None and root.is_dir():
        try:
            atomic_write(root / _DIGESTS, json.dumps(memo).encode("utf-8"), durable=False)
        except OSError:
            pass
    return h.hexdigest()


_CODE_SUFFIXES = (".py", ".yaml", ".json", ".jinja")


def code_fingerprint() -> str:
    """thinklint's own code and data: a source checkout changes without a new version number."""
    roots = [_PACKAGE]
    for name in ("rules", "schemas"):
        for candidate in (_PACKAGE / "_data" / name, _PACKAGE.parent / name):
            if candidate.is_dir():
                roots.append(candidate)
                break
    h = hashlib.sha256()
    for r in roots:
        stat_digest(h, listing(r, _CODE_SUFFIXES))
    return h.hexdigest()


def tokenizer_fingerprint(spec: Spec) -> Any:
    """The tokenizer's files (not its weights), or a hub id with the revision the local hub cache holds."""
    ref = spec.model.tokenizer or ""
    folder = package_folder(ref) if ref.startswith("pkg:") else (
        Path(ref).expanduser() if Path(ref).expanduser().is_absolute() else spec.root / ref)
    if folder is not None and folder.is_dir():
        files = [p for p in folder.iterdir() if p.is_file() and p.name.startswith(_TOKENIZER_FILES)]
        return ["files", _files_digest(files, cache_root(spec))]
    hub = Path(os.environ.get("HF_HUB_CACHE") or Path(os.environ.get("HF_HOME", "~/.cache/huggingface")) / "hub")
    refs = hub.expanduser() / f"models--{ref.replace('/', '--')}" / "refs" / "main"
    try:
        return ["hub", ref, refs.read_text(encoding="utf-8").strip()]
    except OSError:
        return ["hub", ref, None]


def config_key(spec: Spec, settings: Settings, selection: Selection, profile: Profile, max_line_bytes: int) -> str:
    """A hash of everything besides a sample's bytes that its findings depend on."""
    tokens = selection.needs_tokenizer
    template = None
    if tokens and spec.model.chat_template:
        packaged = package_folder(spec.model.chat_template)
        path = packaged or (Path(spec.model.chat_template) if Path(spec.model.chat_template).is_absolute()
                            else spec.root / spec.model.chat_template)
        template = _files_digest([path], cache_root(spec))
    parts = {
        "format": FORMAT, "thinklint": __version__, "code": code_fingerprint(),
        "python": list(sys.version_info[:2]),
        "model": asdict(spec.model), "training": asdict(spec.training), "inference": asdict(spec.inference),
        "policy": asdict(spec.policy),
        "datasets": [[d.name, d.format, d.columns, d.tags, d.mode, d.formatting, d.skipped] for d in spec.datasets],
        "rules": [[a.rule.code, a.severity, a.options, a.rule.category, a.rule.pattern, a.rule.origin,
                   a.rule.source if a.rule.origin != "builtin" else ""] for a in selection.rules],
        "per_file_ignores": selection.per_file_ignores,
        "profile": asdict(profile),
        "max_line_bytes": max_line_bytes, "trust_remote_code": settings.trust_remote_code,
        "special_tokens": special_tokens(spec),  # read from the tokenizer's files by structural rules too
        "tokenizer": tokenizer_fingerprint(spec) if tokens else None,
        "chat_template": template,
        "libraries": versions(("tokenizers", "transformers", "jinja2", "pyarrow") if tokens else ("pyarrow",)),
        "plugins": sorted([r.source, r.fingerprint] for r in (a.rule for a in selection.rules)
                          if r.origin == "plugin"),
    }
    return _sha(json.dumps(parts, sort_keys=True, default=str).encode("utf-8"))[:24]


def open_cache(root: Path, key: str) -> Path:
    """The folder of this configuration's entries, created with the cache's .gitignore and tag."""
    folder = results_root(root) / key
    folder.mkdir(parents=True, exist_ok=True)
    ensure_root(root)
    _prune(folder.parent, keep=folder)
    for other in root.glob("v[0-9]*"):  # entries of an earlier format: never read again
        if other != folder.parent and other.is_dir():
            shutil.rmtree(other, ignore_errors=True)
    return folder


def ensure_root(root: Path) -> None:
    """The cache folder, with a .gitignore that ignores everything in it (as ruff's) and a CACHEDIR.TAG."""
    root.mkdir(parents=True, exist_ok=True)
    if not (root / ".gitignore").exists():
        atomic_write(root / ".gitignore", b"# Automatically created by thinklint.\n*\n")
    if not (root / "CACHEDIR.TAG").exists():
        atomic_write(root / "CACHEDIR.TAG", b"Signature: 8a477f597d28d172789f06886806bc55\n"
                                            b"# This file is a cache directory tag created by thinklint.\n")


def _prune(versions: Path, keep: Path) -> None:
    try:
        folders = sorted((p for p in versions.iterdir() if p.is_dir() and p != keep),
                         key=lambda p: p.stat().st_mtime, reverse=True)
    except OSError:
        return
    for old in folders[KEEP_CONFIGS - 1:]:
        shutil.rmtree(old, ignore_errors=True)


def clean(root: Path) -> bool:
    """`thinklint cache clean`: remove the cache folder; False when there was none.

    A symlink in its place (a cache moved to a bigger disk) is removed itself, never the folder it
    points to: that may be anywhere, and hold anything."""
    if root.is_symlink():
        root.unlink()
        return True
    if not root.is_dir():
        return False
    shutil.rmtree(root)
    return True


def entry_path(folder: Path, item: WorkItem) -> Path:
    where = f"{item.dataset.name}\0{item.display}\0{real(item.path) if item.path else ''}"
    return folder / f"{_sha(where.encode('utf-8', 'surrogateescape'))[:32]}.entry"  # a name's bytes that are not UTF-8


def file_stat(path: Path) -> Stat | None:
    """What an entry records of its file, to know it unchanged without reading it."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev


#: a file whose stat an entry records must have been left alone this long before it was read: a write
#: in the same tick of the file system's clock as the one before keeps its times (Linux file systems
#: tick in at most 10 ms; a file system whose times are whole seconds, such as FAT's, in up to 2 s)
SETTLED_NS = 100_000_000
SETTLED_WHOLE_SECONDS_NS = 2_000_000_000


def settled(stat: Stat | None, since_ns: int) -> bool:
    """Whether `stat`, taken before a run that started at `since_ns` (time.time_ns()) read its file, can
    be recorded: the file had not changed for longer than its file system's clock could miss."""
    if stat is None:
        return False
    _size, mtime, ctime, _ino, _dev = stat
    whole = mtime % 1_000_000_000 == 0 and ctime % 1_000_000_000 == 0
    return max(mtime, ctime) <= since_ns - (SETTLED_WHOLE_SECONDS_NS if whole else SETTLED_NS)


def check_cached(item: WorkItem, ctx: Any, selection: Selection, max_line_bytes: int, folder: Path | None,
                 progress: Callable[[int, int], None] | None = None, helper: Helper | None = None) -> FileResult:
    """`check_file`, reusing what the cache knows of this file's samples and collecting facts for it.

    A file whose entry records its stat as it is now is not read at all (`from_entry`). With a
    `helper`, the samples the cache does not know are checked in it; if it fails, here.
    """
    if folder is None or item.path is None:
        return check_file(item, ctx, selection, max_line_bytes, progress=progress)
    known = load_entry(entry_path(folder, item)) or empty_entry()
    if item.shard is None and len(known) and known.stat is not None and known.stat == file_stat(item.path):
        return from_entry(item, known, progress)
    if helper is not None:
        from thinklint.helper import HelperLost, absorb

        key, send = helper.sender(item)
        try:
            out = check_file(item, ctx, selection, max_line_bytes, progress=progress, known=known, collect=True,
                             delegate=send)
            absorb(out, helper.collect(key))
            return out
        except HelperLost:
            helper.close()  # and check the whole file here, as without a helper
    return check_file(item, ctx, selection, max_line_bytes, progress=progress, known=known, collect=True)


def from_entry(item: WorkItem, entry: Entry, progress: Callable[[int, int], None] | None = None) -> FileResult:
    """What checking `item`'s file gives, when `entry` describes every sample of the file as it is: each
    sample's findings placed where the entry saw it."""
    out = FileResult(item.display, item.dataset.name, file=True)
    lines, indices = entry.lines, entry.indices
    entry.reuse([(None if lines[r] < 0 else lines[r], indices[r], r, 0) for r in range(len(entry))], item.display, out)
    if progress is not None:
        progress(out.samples, entry.stat[0] if entry.stat else 0)
    return out


def write_through(results: Iterable[FileResult], items: list[WorkItem], folder: Path | None,
                  stats: Mapping[Path, Stat | None] | None = None, since_ns: int = 0) -> Iterator[FileResult]:
    """Pass results on, storing each file's facts once all its shards have come (results follow `items`).

    `stats` are the files' stats taken before the run read them (at `since_ns`): an entry records its
    file's stat when its facts cover every sample, the file has not changed since, and had settled
    before (`settled`). A file none of whose samples had to be checked keeps its entry as it is (it may
    also hold samples deleted since: harmless, and gone at the next write) unless the entry can now
    record the stat, but the entry's time is set to now: the file's bytes are all known, and a later
    run need not expect a change (see `app._helper`).
    """
    if folder is None:
        yield from results
        return
    pending: FileFacts | None = None
    current: WorkItem | None = None
    fresh = 0
    for item, result in zip(items, results):
        same_file = current is not None and item.path == current.path and item.dataset == current.dataset
        if not same_file:
            if current is not None and pending is not None:
                _remember(folder, current, pending, fresh, stats, since_ns)
            current, pending, fresh = item, FileFacts(), 0
        if item.path is None or result.facts is None:
            pending = None
        elif pending is not None:
            if not pending.refs and pending.entry is None:
                pending.entry = result.facts.entry  # the entry its rows refer to, to copy them from
            pending.extend(result.facts)
            fresh += result.fresh
        result.facts = None  # kept here until written, not in the merged result
        yield result
    if current is not None and pending is not None and current.path is not None:
        _remember(folder, current, pending, fresh, stats, since_ns)


def _remember(folder: Path, item: WorkItem, facts: FileFacts, fresh: int, stats: Mapping[Path, Stat | None] | None,
              since_ns: int) -> None:
    assert item.path is not None
    path = entry_path(folder, item)
    before = (stats or {}).get(item.path)
    stat = before if facts.complete and settled(before, since_ns) and file_stat(item.path) == before else None
    try:
        if not fresh and path.exists() and (stat is None or (facts.entry is not None and facts.entry.stat == stat)):
            os.utime(path)
            return
    except OSError:
        pass
    store_entry(path, facts, stat)
