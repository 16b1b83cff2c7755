"""`thinklint render`: the (input_ids, labels, segments) the spec's trainer trains, one JSON line per sample."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, TextIO

from thinklint.app import UsageError, load_profile, token_factory
from thinklint.context import Context
from thinklint.model import Sample
from thinklint.planning import WorkItem, display_path, plan
from thinklint.readers.files import DEFAULT_MAX_LINE_BYTES, FileError, read_records
from thinklint.readers.formats import normalise
from thinklint.settings import Settings
from thinklint.spec import Spec


@dataclass(frozen=True)
class Rendered:
    sample: Sample
    context: Context
    encoded: Any  # Encoding | Unencodable


def item_for(spec: Spec, file: str) -> WorkItem:
    items = [i for i in plan(spec, [file]) if i.path is not None]
    if not items:
        raise UsageError(f"{file} belongs to no dataset of {spec.display}")
    return items[0]


def iter_rendered(spec: Spec, settings: Settings, file: str, sample: int | None = None,
                  line: int | None = None) -> Iterator[Rendered]:
    """Encode the samples of one data file (or one of them, by index or JSONL line)."""
    item = item_for(spec, file)
    profile = load_profile(spec)
    factory = token_factory(spec, profile, settings)
    if factory is None:
        raise UsageError("rendering tokens needs model.tokenizer in the spec")
    tokens = factory()
    ctx = Context(spec, item.dataset, profile, factory)
    assert item.path is not None
    try:
        for record in read_records(item.path, settings.max_line_bytes or DEFAULT_MAX_LINE_BYTES):
            if record.index is None or (sample is not None and record.index != sample):
                continue
            if line is not None and record.line != line:
                continue
            s = normalise(record, item.dataset, display_path(item.path), profile)
            yield Rendered(s, ctx, tokens.encode(s, item.dataset) if s.ok else None)
    except FileError as exc:
        raise UsageError(f"{file}: {exc}") from None


def as_json(r: Rendered) -> dict[str, Any]:
    loc = r.sample.location
    out: dict[str, Any] = {"path": loc.path, "line": loc.line, "sample": loc.index}
    enc = r.encoded
    if enc is None:
        out["error"] = "; ".join(p.message for p in r.sample.problems) or "sample could not be read"
    elif not hasattr(enc, "input_ids"):
        out["error"] = enc.reason
    else:
        out.update(input_ids=list(enc.input_ids), labels=list(enc.labels),
                   segments=[{"kind": s.kind, "turn": s.turn, "start": s.start, "end": s.end} for s in enc.segments])
        if enc.truncated:
            out["full_length"] = enc.full_length
    return out


def run_render(spec: Spec, settings: Settings, file: str, sample: int | None, out: TextIO) -> int:
    found = False
    for r in iter_rendered(spec, settings, file, sample):
        found = True
        out.write(json.dumps(as_json(r), ensure_ascii=False) + "\n")
    if sample is not None and not found:
        raise UsageError(f"{file} has no sample {sample}")
    return 0


def parse_target(target: str) -> tuple[str, int | None]:
    """`FILE:LINE` -> (FILE, LINE) when LINE is a number and FILE exists; else (target, None)."""
    head, sep, tail = target.rpartition(":")
    if sep and tail.isdigit() and Path(head).exists():
        return head, int(tail)
    return target, None
