"""`thinklint show` and the HTML report's sample views: find samples, check them, build their views.

This is the app layer: it reads files, builds the token layer and runs the engine; the views
it builds are plain data that the renderers (showtext, reporters.html) only draw.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, TextIO

from thinklint.app import UsageError, load_profile, prepare, token_factory
from thinklint.checks.tokens_common import turn_name
from thinklint.context import Context
from thinklint.engine import check_sample
from thinklint.model import Finding, Sample
from thinklint.planning import WorkItem, plan
from thinklint.profiles import Profile
from thinklint.readers.files import DEFAULT_MAX_LINE_BYTES, FileError, read_records
from thinklint.readers.formats import normalise
from thinklint.render import item_for, parse_target
from thinklint.selection import Selection
from thinklint.settings import Settings
from thinklint.spec import Spec
from thinklint.views import (
    SampleView,
    TokenNames,
    Views,
    message_views,
    segment_views,
    trainer_name,
)

NO_TOKENIZER = "token view needs model.tokenizer in the spec; showing the sample's turns"
#: tokens kept at each end of a long segment in the HTML report (the terminal shows more)
REPORT_KEEP = 48
SHOW_KEEP = 160


class Viewer:
    """Builds `SampleView`s for one spec; the token layer is built on first use, when configured."""

    def __init__(self, spec: Spec, settings: Settings, profile: Profile) -> None:
        self.spec = spec
        self.profile = profile
        self._factory = token_factory(spec, profile, settings)
        self._names: TokenNames | None = None

    @property
    def factory(self) -> Any:
        return self._factory

    def view(self, sample: Sample, findings: Iterable[Finding], keep: int | None) -> SampleView:
        found = tuple(sorted(findings, key=Finding.sort_key))
        base = SampleView(sample.location, sample.dataset, found)
        if not sample.ok:
            return replace(base, note="the record could not be read as a sample (the findings say why)")
        structural = replace(base, messages=message_views(sample, self.profile))
        if self._factory is None:
            return replace(structural, note=NO_TOKENIZER)
        tokens = self._factory()
        dataset = next(d for d in self.spec.datasets if d.name == sample.dataset)
        encoded = tokens.encode(sample, dataset)
        if not hasattr(encoded, "segments"):
            return replace(structural, note=f"no token view: {encoded.reason}")
        if self._names is None:
            self._names = TokenNames(tokens.tokenizer, self.profile)
        segments = segment_views(encoded, self._names, lambda t: turn_name(sample, t), keep)
        return replace(base, trainer=trainer_name(sample, self.profile, self.spec), segments=segments,
                       tokens=len(encoded), trained=len(encoded.supervised), full_length=encoded.full_length,
                       truncated=encoded.truncated)


def _samples(item: WorkItem, profile: Profile, max_line: int) -> Iterator[tuple[int | None, Sample]]:
    assert item.path is not None
    try:
        for record in read_records(item.path, max_line):
            if record.index is not None:
                yield record.line, normalise(record, item.dataset, item.display, profile)
    except FileError as exc:
        raise UsageError(f"{item.display}: {exc}") from None


# -- thinklint show ------------------------------------------------------------------------------

@dataclass(frozen=True)
class ShowOptions:
    ids: bool = False
    full: bool = False
    plain: bool | None = None  # None: plain unless stdout is a terminal


def find_sample(item: WorkItem, profile: Profile, max_line: int, index: int | None,
                line: int | None) -> Sample:
    for at, sample in _samples(item, profile, max_line):
        if (line is not None and at == line) or (line is None and sample.location.index == index):
            return sample
    where = f"line {line}" if line is not None else f"sample {index}"
    raise UsageError(f"{item.display} has no {where}")


def show_view(spec: Spec, settings: Settings, target: str, index: int | None, keep: int | None) -> SampleView:
    """Check one sample with the selected rules and build its view."""
    file, line = parse_target(target)
    head, _, tail = target.rpartition(":")
    if not Path(file).exists():
        missing = head if line is None and tail.isdigit() and head else file
        raise UsageError(f"{missing}: no such file")
    if line is None and index is None:
        raise UsageError(f"say which sample: {file}:LINE (JSONL) or {file} --sample N")
    if line is not None and index is not None:
        raise UsageError("give FILE:LINE or --sample N, not both")
    item = item_for(spec, file)
    _, selection = prepare(spec, settings)
    profile = load_profile(spec)
    viewer = Viewer(spec, settings, profile)
    sample = find_sample(item, profile, settings.max_line_bytes or DEFAULT_MAX_LINE_BYTES, index, line)
    ctx = Context(spec, item.dataset, profile, viewer.factory)
    checked = check_sample(sample, ctx, selection)
    if checked.errors:
        raise UsageError("a rule failed on this sample: " + checked.errors[0].splitlines()[0])
    return viewer.view(sample, checked.findings, keep)


def skipped_note(selection: Selection) -> str:
    if not selection.skipped_token_rules:
        return ""
    return (f"{len(selection.skipped_token_rules)} token-level rules (MSK, TPL, TRN) not run: "
            "set model.tokenizer to run them")


def run_show(spec: Spec, settings: Settings, target: str, index: int | None, options: ShowOptions,
             out: TextIO | None = None) -> int:
    out = out or sys.stdout
    view = show_view(spec, settings, target, index, None if options.full else SHOW_KEEP)
    _, selection = prepare(spec, settings)
    footer = skipped_note(selection)
    plain = options.plain if options.plain is not None else not out.isatty()
    if not plain and not _has_rich():
        plain = True  # rich is the `ui` extra: without it, a terminal gets the plain view
    if plain:
        from thinklint.showtext import render_plain

        out.write(render_plain(view, ids=options.ids, footer=footer))
    else:
        from thinklint.showrich import print_rich

        print_rich(view, out, ids=options.ids, footer=footer)
    return 0


def _has_rich() -> bool:
    import importlib.util

    return importlib.util.find_spec("rich") is not None


# -- the HTML report's sample views ------------------------------------------------------------

def gather_views(spec: Spec, settings: Settings, profile: Profile, findings: Iterable[Finding],
                 cap: int, keep: int | None = REPORT_KEEP) -> Views:
    """The views of the samples with findings, the first `cap` in file order (files are re-read:
    the run itself keeps no samples, so memory stays flat however large the dataset)."""
    by_sample: dict[tuple[str, int], list[Finding]] = {}
    for f in sorted(findings, key=Finding.sort_key):
        if f.sample is not None:
            by_sample.setdefault((f.path, f.sample), []).append(f)
    wanted = list(by_sample)[:cap]
    files: dict[str, set[int]] = {}
    for path, index in wanted:
        files.setdefault(path, set()).add(index)
    items = {i.display: i for i in plan(spec, settings.paths) if i.path is not None}
    viewer = Viewer(spec, settings, profile)
    max_line = settings.max_line_bytes or DEFAULT_MAX_LINE_BYTES
    built: dict[tuple[str, int], SampleView] = {}
    for path, indices in files.items():
        item = items.get(path)
        if item is None:
            continue
        for _, sample in _samples(item, profile, max_line):
            at = sample.location.index
            if at is not None and at in indices:
                built[(path, at)] = viewer.view(sample, by_sample[(path, at)], keep)
                indices.discard(at)
                if not indices:
                    break  # the rest of the file holds no wanted sample
    return Views(tuple(built[k] for k in wanted if k in built), len(by_sample), cap)


def dataset_of_paths(spec: Spec, settings: Settings) -> Mapping[str, str]:
    """Displayed path -> dataset name, for the report's dataset filter (findings carry only paths)."""
    out: dict[str, str] = {}
    for item in plan(spec, settings.paths):
        out.setdefault(item.display, item.dataset.name)
    return out


__all__ = ["ShowOptions", "Viewer", "Views", "gather_views", "item_for", "run_show", "show_view"]
