"""`thinklint show` as lines: the layout every terminal renderer shares, and its plain-text form.

The plain form is what pipes, logs and snapshot tests see, so it marks everything colour would:
a gutter says whether a line's tokens are trained ('+') or masked ('-'), special tokens sit in
⟪ ⟫, newlines show as ↵, and each segment (prompt, reasoning, empty think block, answer, end of
turn) starts with a header line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from thinklint.model import Finding
from thinklint.views import KIND_NAMES, MessageView, Piece, SampleView, SegmentView

TRAINED, MASKED = "+", "-"
REASONING = "R"
_NEWLINE = "↵ newline (a row without one continues on the next)"
LEGEND_TOKENS = f"legend: + trained (takes loss)  - masked (context only)  ⟪…⟫ special token  {_NEWLINE}"
LEGEND_TURNS = f"legend: R reasoning (think block or reasoning field)  ⟪…⟫ think marker  {_NEWLINE}"


@dataclass
class Line:
    """A header, a row of the view (with its gutter), or plain text; spans are (text, style)."""

    kind: str  # title | note | header | row | gap | finding | blank
    spans: list[tuple[str, str]] = field(default_factory=list)
    gutter: str = ""

    @property
    def text(self) -> str:
        return "".join(t for t, _ in self.spans)


def _rows(chunks: Iterable[tuple[str, str, str]]) -> list[Line]:
    """(gutter, text, style) chunks to rows: a row ends at each newline and where the gutter changes."""
    rows: list[Line] = []
    current: Line | None = None
    for gutter, text, style in chunks:
        if current is not None and current.gutter != gutter:
            if current.spans:
                rows.append(current)
            current = None
        for k, part in enumerate(text.split("\n")):
            if k:
                assert current is not None
                rows.append(current)
                current = None
            if current is None:
                current = Line("row", gutter=gutter)
            if part:
                current.spans.append((part, style))
    if current is not None and current.spans:
        rows.append(current)
    return rows


def _piece_text(p: Piece, ids: bool) -> str:
    text = p.text.replace("\n", "↵\n")
    if p.mark:
        text = f"⟪{text}⟫"
    if ids:
        tag = "‹" + ",".join(str(i) for i in p.ids) + "›"
        text = text[:-1] + tag + "\n" if text.endswith("\n") else text + tag
    return text


def _piece_style(p: Piece, n: int) -> str:
    """'trained' or 'masked' (with '-alt' on every other token: alternate shades show token
    boundaries in colour), then ':think', ':eot' or ':special' for marked tokens."""
    style = ("trained" if p.trained else "masked") + ("-alt" if n % 2 else "")
    return f"{style}:{p.mark}" if p.mark else style


def _segment_lines(seg: SegmentView, ids: bool) -> list[Line]:
    what = seg.loss if seg.loss != "mixed" else f"{seg.trained} of {seg.length} trained"
    title = f"── {KIND_NAMES[seg.kind]} · {seg.turn} · {_count(seg.length, 'token')} · {what} ──"
    lines = [Line("header", [(title, "empty" if seg.kind == "empty_think" else "header")])]

    def chunks(pieces: Iterable[Piece], offset: int) -> Iterable[tuple[str, str, str]]:
        for n, p in enumerate(pieces, offset):
            yield TRAINED if p.trained else MASKED, _piece_text(p, ids), _piece_style(p, n)

    if not seg.elided:
        return lines + _rows(chunks(seg.pieces, 0))
    lines += _rows(chunks(seg.pieces[:seg.elided_at], 0))
    lines.append(Line("gap", [(f"⋯ {_count(seg.elided, 'token')} not shown (--full shows them) ⋯", "gap")],
                      gutter=" "))
    return lines + _rows(chunks(seg.pieces[seg.elided_at:], seg.elided_at))


def _message_lines(m: MessageView) -> list[Line]:
    lines = [Line("header", [(f"── message {m.number} · {m.role} ──", "header")])]
    chunks: list[tuple[str, str, str]] = []
    for part in m.parts:
        text = part.text.replace("\n", "↵\n")
        if part.kind == "field":
            # the field's name on a line of its own (a bare newline: no ↵, it is not in the data)
            chunks += [(REASONING, f"{part.label}:\n", "field"), (REASONING, text + "\n", "reasoning")]
        elif part.kind == "marker":  # the marker, then the newlines that belong to it
            marker = f"⟪{part.text.rstrip(chr(10))}⟫" + "↵\n" * part.text.count("\n")
            chunks.append((REASONING, marker, "think"))
        else:
            chunks.append((REASONING if part.kind == "reasoning" else " ", text,
                           "reasoning" if part.kind == "reasoning" else "text"))
    return lines + _rows(chunks)


def _count(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def location_name(view: SampleView) -> str:
    loc = view.location
    at = f"{loc.path}:{loc.line}" if loc.line is not None else loc.path
    return f"{at} · sample {loc.index} · dataset {view.dataset}"


def finding_text(f: Finding) -> str:
    return f"{f.rule} [{f.severity}] {f.message}"


def layout(view: SampleView, ids: bool = False, footer: str = "") -> list[Line]:
    lines = [Line("title", [(location_name(view), "title")])]
    if view.has_tokens:
        summary = f"{view.trainer} · {_count(view.tokens, 'token')}, {view.trained:,} trained"
        if view.truncated:
            summary += f" · truncated from {view.full_length:,} tokens"
        lines += [Line("note", [(summary, "note")]), Line("note", [(LEGEND_TOKENS, "note")]), Line("blank")]
        for seg in view.segments:
            lines += _segment_lines(seg, ids)
    else:
        if view.note:
            lines.append(Line("note", [(view.note, "warn")]))
        if view.messages:
            lines += [Line("note", [(LEGEND_TURNS, "note")]), Line("blank")]
            for m in view.messages:
                lines += _message_lines(m)
    lines.append(Line("blank"))
    if view.findings:
        lines.append(Line("title", [(f"findings ({len(view.findings)}):", "title")]))
        lines += [Line("finding", [(finding_text(f), f.severity)]) for f in view.findings]
    else:
        lines.append(Line("title", [("no findings", "ok")]))
    if footer:
        lines.append(Line("note", [(footer, "note")]))
    return lines


def render_plain(view: SampleView, ids: bool = False, footer: str = "") -> str:
    out = []
    for line in layout(view, ids, footer):
        if line.kind == "row" or line.kind == "gap":
            # no rstrip: a trailing space is part of the token it ends
            out.append(f"{line.gutter} {line.text}" if line.text else line.gutter)
        elif line.kind == "finding":
            out.append(f"  {line.text}")
        else:
            out.append(line.text)
    return "\n".join(out) + "\n"
