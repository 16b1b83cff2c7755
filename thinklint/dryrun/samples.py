"""Which samples a dry run takes, encoded by the token layer exactly as `check` and `render` see them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterator

from thinklint.app import UsageError, load_profile, token_factory
from thinklint.context import Context
from thinklint.dryrun.result import Skipped
from thinklint.dryrun.settings import DryrunSettings
from thinklint.model import Sample
from thinklint.planning import WorkItem, plan
from thinklint.readers.files import DEFAULT_MAX_LINE_BYTES, FileError, read_records
from thinklint.readers.formats import normalise
from thinklint.render import item_for, parse_target
from thinklint.settings import Settings
from thinklint.spec import Spec
from thinklint.tokens.encoding import Encoding


@dataclass(frozen=True)
class Picked:
    sample: Sample
    context: Context
    encoding: Encoding


@dataclass(frozen=True)
class Picks:
    picked: tuple[Picked, ...]
    skipped: tuple[Skipped, ...]
    files: int
    tokens: Any  # the TokenContext: its tokenizer gives the pad id


def _targets(spec: Spec, settings: DryrunSettings) -> list[tuple[WorkItem, int | None]]:
    if not settings.targets:
        return [(item, None) for item in plan(spec) if item.path is not None]
    out = []
    for target in settings.targets:
        file, line = parse_target(target)
        out.append((item_for(spec, file), line))
    return out


def _records(item: WorkItem, line: int | None) -> Iterator[Any]:
    assert item.path is not None
    try:
        for record in read_records(item.path, DEFAULT_MAX_LINE_BYTES):
            if record.index is not None and (line is None or record.line == line):
                yield record
    except FileError as exc:
        raise UsageError(f"{item.display}: {exc}") from None


def pick(spec: Spec, settings: DryrunSettings) -> Picks:
    """The first `settings.samples` encodable samples of the spec (or of the targets); FILE:LINE targets
    are always taken. Samples that cannot be encoded are reported as skipped, not counted."""
    profile = load_profile(spec)
    factory: Callable[[], Any] | None = token_factory(
        spec, profile, Settings(config=settings.config, trust_remote_code=settings.trust_remote_code))
    if factory is None:
        raise UsageError("a dry run needs model.tokenizer in the spec: it feeds the trainer's tokens to the model")
    tokens = factory()
    picked: list[Picked] = []
    skipped: list[Skipped] = []
    files: set[Any] = set()
    for item, line in _targets(spec, settings):
        if line is None and len(picked) >= settings.samples:
            break
        files.add(item.path)
        ctx = Context(spec, item.dataset, profile, factory)
        found = False
        for record in _records(item, line):
            if line is None and len(picked) >= settings.samples:
                break
            found = True
            sample = normalise(record, item.dataset, item.display, profile)
            if not sample.ok:
                why = "; ".join(p.message for p in sample.problems) or "the record could not be read"
                skipped.append(Skipped(sample.location, f"not a valid sample: {why}"))
                continue
            encoded = tokens.encode(sample, item.dataset)
            if not isinstance(encoded, Encoding):
                skipped.append(Skipped(sample.location, f"the trainer model cannot encode it: {encoded.reason}"))
                continue
            picked.append(Picked(sample, ctx, encoded))
        if line is not None and not found:
            raise UsageError(f"{item.display} has no sample on line {line}")
    return Picks(tuple(picked), tuple(skipped), len(files), tokens)
