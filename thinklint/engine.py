"""The pipeline: spec -> files -> records -> samples -> rules -> findings.

`check_file` is a pure function of its inputs, so that the local, parallel and distributed
drivers can run it anywhere and merge results in a deterministic order.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Hashable, Iterable, Iterator, Mapping, Sequence, TypeVar

from thinklint.context import Context, DatasetStats
from thinklint.entries import Entry
from thinklint.facts import sample_facts, thinking_code
from thinklint.filefacts import FileFacts
from thinklint.model import Finding, Location, Problem, Sample, Violation
from thinklint.planning import WorkItem
from thinklint.printable import one_line
from thinklint.profiles import Profile
from thinklint.readers.files import (
    DEFAULT_MAX_LINE_BYTES,
    UNREAD,
    FileError,
    Record,
    decode,
    peek,
    read_records,
    record_digest,
)
from thinklint.readers.formats import normalise
from thinklint.readers.scan import Hit, record_key, scan_records
from thinklint.readers.shards import Tally
from thinklint.selection import ActiveRule, Selection
from thinklint.shapes import MISSING, Shapes
from thinklint.spec import Spec
from thinklint.think import is_thinking
from thinklint.yamlsrc import SourceError


@dataclass
class FileResult:
    display: str
    dataset: str
    findings: list[Finding] = field(default_factory=list)
    samples: int = 0
    thinking: int = 0
    non_thinking: int = 0
    errors: list[str] = field(default_factory=list)  # internal errors (a rule crashed)
    file: bool = False  # a data file was opened (not a dataset-level notice)
    #: every sample's facts and place, when asked for (the cache keeps them); None: not kept
    facts: FileFacts | None = None
    #: samples checked in this run (not taken from the cache)
    fresh: int = 0
    #: untruncated token length -> number of samples; filled only when token rules ran (the encoding
    #: is then already cached, so counting it is free; structural runs never encode)
    lengths: dict[int, int] = field(default_factory=dict)
    #: (lines, samples) a shard held, once read to its end; None for a whole file, or a shard whose
    #: read failed (see `thinklint.parallel.rebase`)
    span: tuple[int, int] | None = None


def stamp(active: ActiveRule, loc: Location, v: Violation, digest: str) -> Finding:
    r = active.rule
    # a message may quote the sample (a custom rule's {match}, a plugin's): one printable line in every report
    return Finding(rule=r.code, category=r.category, severity=active.severity,  # type: ignore[arg-type]
                   path=loc.path, line=loc.line, sample=loc.index, message=one_line(v.message), turn=v.turn,
                   fix=v.fix, digest=digest)


def run_rules(sample: Sample, ctx: Context, selection: Selection, out: FileResult,
              rules: Sequence[ActiveRule] | None = None) -> None:
    """The selected rules (or just `rules` of them) on one sample, their findings added to `out`."""
    ok = sample.ok  # a property that scans the sample's problems: once, not once per rule
    ignores = bool(selection.per_file_ignores)
    for active in selection.rules if rules is None else rules:
        check = active.rule.check
        if check.sample is None or not (ok or check.structural):
            continue
        if ignores and selection.ignored_for(sample.location.path, active.rule.code):
            continue
        try:
            for v in check.sample(sample, ctx, active.options):
                out.findings.append(stamp(active, sample.location, v, sample.digest))
        except SourceError:
            raise  # the configuration is wrong (a tokenizer that cannot load): no rule can run
        except Exception as exc:  # a crashing rule is our bug: report it, keep checking
            where = f"{sample.location.path}:{sample.location.line or sample.location.index}"
            out.errors.append(f"rule {active.rule.code} failed on {where}: {exc!r}\n{traceback.format_exc()}")


T = TypeVar("T")

#: samples normalised, and (for token rules) tokenized, together: large enough that one tokenizer call
#: amortises its overhead, small enough that memory stays flat and progress stays smooth
BATCH = 64


def check_sample(sample: Sample, ctx: Context, selection: Selection) -> FileResult:
    """The sample rules on one sample (`thinklint show`): findings sorted, as `lint` sorts them."""
    out = FileResult(sample.location.path, sample.dataset)
    run_rules(sample, ctx, selection, out)
    out.findings.sort(key=Finding.sort_key)
    return out


def _length(sample: Sample, ctx: Context) -> int | None:
    """The sample's untruncated token length (for the HTML report), None when it has no encoding."""
    try:
        encoded = ctx.tokens.encode(sample, ctx.dataset)  # a hit: prepared with the batch, or the rules encoded it
    except SourceError:
        raise
    except Exception:  # a crash here is already reported by the rule that met it first
        return None
    full = getattr(encoded, "full_length", None)  # Unencodable has none: other rules say why
    return full if isinstance(full, int) else None


def _batches(records: Iterator[T], size: int) -> Iterator[list[T]]:
    """Records in lists of `size`; the records read before a `FileError` are still handed out first."""
    batch: list[T] = []
    try:
        for record in records:
            batch.append(record)
            if len(batch) >= size:
                yield batch
                batch = []
    except FileError:
        if batch:
            yield batch
        raise
    if batch:
        yield batch


def prepare_batch(samples: list[Sample], ctx: Context, selection: Selection) -> None:
    """Let the selected checks do a batch's expensive work up front (one tokenizer call for all of it).

    Purely an optimisation: a failure here is ignored, and the rules meet (and report) it themselves.
    """
    ready = [s for s in samples if s.ok]
    if not ready:
        return
    if _wants_lengths(ctx, selection):  # every sample's encoding is read, for its length
        try:
            ctx.tokens.prefetch(ready, ctx.dataset)
        except SourceError:
            raise
        except Exception:  # noqa: BLE001 - see the docstring
            pass
    for active in selection.rules:
        prepare = active.rule.check.prepare
        if prepare is None or selection.ignored_for(ready[0].location.path, active.rule.code):
            continue
        try:
            prepare(ready, ctx, active.options)
        except SourceError:
            raise
        except Exception:  # noqa: BLE001 - see the docstring
            pass


#: told (samples, bytes) as a file is read, for progress bars
Progress = Callable[[int, int], None]


def _cacheable(record: Record) -> bool:
    # an over-long line's digest covers only its first bytes, and notices (a BOM) have none
    return record.index is not None and record.error_kind != "line_too_long"


def _wants_lengths(ctx: Context, selection: Selection) -> bool:
    return selection.needs_tokenizer and ctx.token_factory is not None


def _count(out: FileResult, thinking: int | None, length: int | None) -> None:
    out.samples += 1
    out.thinking += thinking == 1
    out.non_thinking += thinking == 0
    if length is not None:
        out.lengths[length] = out.lengths.get(length, 0) + 1


def _normalise(record: Record, item: WorkItem, ctx: Context, out: FileResult) -> Sample | None:
    try:
        return normalise(decode(record), item.dataset, item.display, ctx.profile, ctx.special_tokens)
    except Exception as exc:  # a normaliser that crashes is our bug: report it, keep checking
        where = f"{item.display}:{record.line or record.index}"
        out.errors.append(f"reading failed on {where}: {exc!r}\n{traceback.format_exc()}")
        return None


#: takes the records a cache did not know, to check them elsewhere (`thinklint.helper`)
Delegate = Callable[[list[Record]], None]


def check_records(records: list[Record], item: WorkItem, ctx: Context, selection: Selection,
                  out: FileResult) -> None:
    """Check records of `item` (all of them: no cache), adding to `out`: what a helper is handed."""
    _check_batch(records, item, ctx, selection, out, None, None, Shapes.build(ctx, selection))


def _check_batch(records: Sequence[Record | Hit], item: WorkItem, ctx: Context, selection: Selection,
                 out: FileResult, known: Entry | None, delegate: Delegate | None, shapes: Shapes | None) -> int:
    """Check a batch, taking what `known` has; returns how many samples went to `delegate`.

    With `shapes`, a sample of a shape whose first sample was clean skips the rules shapes cover
    (and, when no other rule is selected, is not even normalised): see `thinklint.shapes`."""
    rows = [r[2] if isinstance(r, tuple) else _row(r, known) for r in records]
    if known is not None:  # most of a cached run: counted and placed in bulk
        known.reuse([r if isinstance(r, tuple) else (r.line, r.index, row, r.nbytes)
                     for r, row in zip(records, rows) if row is not None], item.display, out)
    todo = {pos: r for pos, r in enumerate(records) if rows[pos] is None and isinstance(r, Record)}
    away = {pos for pos, r in todo.items() if _cacheable(r)} if delegate is not None else set()
    if away and delegate is not None:
        delegate([r for pos, r in todo.items() if pos in away])
        todo = {pos: r for pos, r in todo.items() if pos not in away}
    keys: dict[int, Hashable] = {}
    fast: dict[int, int | None] = {}  # the thinking code of samples of a shape known clean
    if shapes is not None:
        alone = not shapes.rest  # no other rule: a sample of a clean shape is not even normalised
        for pos, r in list(todo.items()):
            value = peek(r)
            if value is UNREAD:
                continue
            key = shapes.key(value)
            if key is None:
                continue
            thinking = shapes.known(key)
            if thinking is MISSING:
                keys[pos] = key
            elif alone:  # counted here and done with
                del todo[pos]
                _count(out, thinking, None)
                out.fresh += 1
                if out.facts is not None:
                    if _cacheable(r) and r.index is not None:
                        out.facts.add(record_key(r), record_digest(r), sample_facts(thinking, (), None), r.line, r.index)
                    else:
                        out.facts.complete = False
            else:
                fast[pos] = thinking
    decoded = {pos: decode(r) for pos, r in todo.items()}
    samples: dict[int, Sample | None] = {pos: _normalise(r, item, ctx, out) for pos, r in decoded.items()}
    prepare_batch([s for s in samples.values() if s is not None], ctx, selection)
    lengths = _wants_lengths(ctx, selection)
    for pos, sample in samples.items():
        record = decoded[pos]
        cacheable = _cacheable(record)
        if out.facts is not None and not (cacheable and sample is not None):
            out.facts.complete = False  # a sample the entry will not hold
        found, failed = len(out.findings), len(out.errors)
        if pos in fast:  # the other (token) rules still run
            assert shapes is not None
            out.fresh += 1
            if sample is not None:
                run_rules(sample, ctx, selection, out, shapes.rest)
            length = _length(sample, ctx) if lengths and sample is not None and sample.ok else None
            _count(out, fast[pos], length)
            if sample is not None:
                _keep(out, record, cacheable, fast[pos], found, failed, length)
            continue
        if sample is None:  # the normaliser crashed (reported): counted, never cached
            out.samples += record.index is not None
            continue
        out.fresh += record.index is not None
        if shapes is not None and pos in keys:
            run_rules(sample, ctx, selection, out, shapes.covered)
            clean = len(out.findings) == found and len(out.errors) == failed
            run_rules(sample, ctx, selection, out, shapes.rest)
        else:
            clean = False
            run_rules(sample, ctx, selection, out)
        if record.index is None:
            continue
        thinking = is_thinking(sample, ctx.profile) if sample.ok and sample.messages else None
        if clean and sample.ok and not sample.problems:
            assert shapes is not None
            shapes.learn(keys[pos], thinking_code(thinking))
        length = _length(sample, ctx) if lengths and sample.ok else None
        _count(out, thinking_code(thinking), length)
        _keep(out, record, cacheable, thinking_code(thinking), found, failed, length)
    return len(away)


def _keep(out: FileResult, record: Record, cacheable: bool, thinking: int | None, found: int, failed: int,
          length: int | None) -> None:
    """Add a checked sample's facts (its findings: those since `found`) to what the cache will keep."""
    if out.facts is None or not cacheable or record.index is None:
        return  # (a sample the entry cannot hold has already marked the facts incomplete)
    if len(out.errors) != failed:  # a crash is not a result
        out.facts.complete = False
        return
    out.facts.add(record_key(record), record.digest, sample_facts(thinking, out.findings[found:], length),
                  record.line, record.index)


def _row(record: Record, known: Entry | None) -> int | None:
    return known.rows.get(record_key(record)) if known is not None and _cacheable(record) else None


def check_file(item: WorkItem, ctx: Context, selection: Selection,
               max_line_bytes: int = DEFAULT_MAX_LINE_BYTES, batch: int = BATCH,
               progress: Progress | None = None, known: Entry | None = None,
               collect: bool = False, delegate: Delegate | None = None, use_shapes: bool = True) -> FileResult:
    """Check one file (or shard); pure but for reading it.

    `known` is what a cache kept of the file's samples: the samples it has are not parsed nor
    checked, their findings are stamped with their current place. With `collect`, the result lists every
    sample's facts (`FileResult.facts`), for the cache to keep. With `delegate`, the
    samples `known` lacks are handed to it rather than checked here (the result lacks them).
    `use_shapes=False` checks every sample in full (tests compare that with the shapes' fast path).
    """
    out = FileResult(item.display, item.dataset.name, facts=FileFacts(known) if collect else None)
    if item.notice is not None or item.path is None:
        notice = item.notice or Problem("no_files", "no file")
        run_rules(Sample(Location(item.display, None, None), item.dataset.name, item.dataset.format,
                         problems=(notice,)), ctx, selection, out)
        return out
    out.file = item.shard is None or item.shard.first  # a file counts once, however many shards it has
    away = 0
    shapes = Shapes.build(ctx, selection) if use_shapes else None
    tally = Tally() if item.shard is not None else None
    try:
        # the cache's reader knows its lines by their hash; with shapes, lines are parsed (and hashed)
        # only as far as a sample needs: one of a known clean shape is neither normalised nor hashed
        records: Iterator[Record | Hit] = (
            scan_records(item.path, max_line_bytes, item.shard, known.rows, tally) if known is not None
            else scan_records(item.path, max_line_bytes, item.shard, None, tally) if shapes is not None
            else read_records(item.path, max_line_bytes, item.shard, tally))
        for chunk in _batches(records, batch):
            away += _check_batch(chunk, item, ctx, selection, out, known, delegate, shapes)
            if progress is not None:
                progress(sum(isinstance(r, tuple) or r.index is not None for r in chunk),
                         sum(r[3] if isinstance(r, tuple) else r.nbytes for r in chunk))
    except FileError as exc:
        out.facts = None  # an unreadable file is not cached: the next run must read it again
        run_rules(Sample(Location(item.display, None, None), item.dataset.name, item.dataset.format,
                         problems=(Problem("unreadable", f"{exc}"),)), ctx, selection, out)
    else:
        if item.shard is not None and tally is not None and tally.lines is not None and tally.samples is not None:
            out.span = (tally.lines - item.shard.line, tally.samples - item.shard.index)
        # an empty file trains nothing, and `datasets` refuses to load one; a shard is not a file
        if not out.samples and not away and item.shard is None:
            empty = Problem("empty_file", "the file holds no samples")
            run_rules(Sample(Location(item.display, None, None), item.dataset.name, item.dataset.format,
                             problems=(empty,)), ctx, selection, out)
    return out


def dataset_findings(stats: Mapping[str, DatasetStats], contexts: Mapping[str, Context],
                     selection: Selection) -> list[Finding]:
    out: list[Finding] = []
    for name, st in stats.items():
        ctx = contexts[name]
        for active in selection.rules:
            if active.rule.check.dataset is None or selection.ignored_for(st.path, active.rule.code):
                continue
            for v in active.rule.check.dataset(st, ctx, active.options):
                out.append(stamp(active, Location(st.path, None, None), v, ""))
    return out


@dataclass(frozen=True)
class Result:
    findings: tuple[Finding, ...]
    files: int
    samples: int
    datasets: Mapping[str, DatasetStats]
    skipped_token_rules: tuple[str, ...] = ()
    internal_errors: tuple[str, ...] = ()
    #: untruncated token length -> samples, sorted by length; empty when no token rule ran
    lengths: Mapping[int, int] = field(default_factory=dict)


def merge(results: Iterable[FileResult], contexts: Mapping[str, Context], selection: Selection,
          dataset_rules: bool = True) -> Result:
    findings: list[Finding] = []
    stats: dict[str, DatasetStats] = {}
    files = samples = 0
    errors: list[str] = []
    lengths: dict[int, int] = {}
    for r in results:
        findings.extend(r.findings)
        for n, count in r.lengths.items():
            lengths[n] = lengths.get(n, 0) + count
        errors.extend(r.errors)
        files += r.file
        samples += r.samples
        st = stats.get(r.dataset) or DatasetStats(r.dataset, r.display)
        stats[r.dataset] = replace(st, samples=st.samples + r.samples, thinking=st.thinking + r.thinking,
                                   non_thinking=st.non_thinking + r.non_thinking)
    if dataset_rules:
        findings.extend(dataset_findings(stats, contexts, selection))
    findings.sort(key=Finding.sort_key)
    return Result(tuple(findings), files, samples, stats, selection.skipped_token_rules, tuple(errors),
                  dict(sorted(lengths.items())))


def build_contexts(spec: Spec, profile: Profile, token_factory: Callable[[], Any] | None,
                   special_tokens: Mapping[str, str] | None = None) -> dict[str, Context]:
    return {ds.name: Context(spec, ds, profile, token_factory, dict(special_tokens or {})) for ds in spec.datasets}
