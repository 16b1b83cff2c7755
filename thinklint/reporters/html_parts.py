"""Pieces of the HTML report that draw data: a sample's token view and the token-length chart.

Every string from the data goes through `esc`: sample text is untrusted, and the report is
opened in a browser. Nothing here links anywhere (the report must work offline, on its own).
"""

from __future__ import annotations

import html
import math
from typing import Mapping

from thinklint.views import KIND_NAMES, MessageView, Piece, SampleView, SegmentView


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


# -- token views --------------------------------------------------------------------------------

_MARK_CLASS = {"think": " k", "eot": " e", "special": " x"}


def _token_text(text: str) -> str:
    # a newline shows as ↵ through CSS (class n), so that copying the text copies the real text
    return esc(text).replace("\n", '<i class="n"></i>\n')


def _piece(p: Piece) -> str:
    cls = ("t" if p.trained else "m") + _MARK_CLASS.get(p.mark, "")
    ids = ",".join(str(i) for i in p.ids)
    return f'<span class="{cls}" data-i="{ids}">{_token_text(p.text)}</span>'


def _segment(seg: SegmentView) -> str:
    loss = seg.loss if seg.loss != "mixed" else f"{seg.trained:,} of {seg.length:,} trained"
    pieces = [_piece(p) for p in seg.pieces]
    if seg.elided:
        gap = f'<span class="gap">⋯ {plural(seg.elided, "token")} not shown ⋯</span>'
        pieces.insert(seg.elided_at, gap)
    return (f'<div class="seg {esc(seg.kind)} {esc(seg.loss)}"><div class="sl"><b>{esc(KIND_NAMES[seg.kind])}</b>'
            f'<span>{esc(seg.turn)}</span><span>{plural(seg.length, "token")} · {esc(loss)}</span></div>'
            f'<div class="tk">{"".join(pieces)}</div></div>')


def _message(m: MessageView) -> str:
    body = []
    for part in m.parts:
        if part.kind == "field":
            body.append(f'<span class="fl">{esc(part.label)}:</span><span class="rs">{_token_text(part.text)}</span>'
                        '<br>')
        elif part.kind == "marker":
            body.append(f'<span class="mk">{_token_text(part.text)}</span>')
        elif part.kind == "reasoning":
            body.append(f'<span class="rs">{_token_text(part.text)}</span>')
        else:
            body.append(_token_text(part.text))
    return (f'<div class="seg msg {esc(m.role)}"><div class="sl"><b>{esc(m.role)}</b>'
            f'<span>message {m.number}</span></div><div class="tk">{"".join(body)}</div></div>')


def sample_view(view: SampleView, anchor: str) -> str:
    loc = view.location
    where = f"{loc.path}:{loc.line}" if loc.line is not None else loc.path
    rules = " ".join(sorted({f.rule for f in view.findings}))
    severities = " ".join(sorted({f.severity for f in view.findings}))
    items = "".join(
        f'<li class="{esc(f.severity)}" data-rule="{esc(f.rule)}" data-severity="{esc(f.severity)}">'
        f'<span class="badge {esc(f.severity)}">{esc(f.rule)}</span> {esc(f.message)}</li>' for f in view.findings)
    if view.has_tokens:
        meta = f"{esc(view.trainer)} · {plural(view.tokens, 'token')}, {view.trained:,} trained"
        if view.truncated:
            meta += f' · <b class="warn">truncated from {view.full_length:,} tokens</b>'
        body = "".join(_segment(s) for s in view.segments)
        kind = "tokens"
    else:
        meta = f'<span class="warn">{esc(view.note)}</span>'
        body = "".join(_message(m) for m in view.messages)
        kind = "turns"
    view_html = f'<div class="tv {kind}">{body}</div>' if body else ""  # an unreadable record has none
    return (f'<article class="sample" id="{esc(anchor)}" data-dataset="{esc(view.dataset)}" data-rules="{esc(rules)}" '
            f'data-severities="{esc(severities)}"><h3><code>{esc(where)}</code> · sample {loc.index} · '
            f'dataset {esc(view.dataset)}</h3><ul class="sf">{items}</ul><p class="meta">{meta}</p>'
            f'{view_html}</article>')


# -- token length chart -------------------------------------------------------------------------

W, H, PAD_L, PAD_B, PAD_T = 560, 180, 44, 34, 14


def _nice(n: float) -> str:
    return f"{int(round(n)):,}"


def length_chart(lengths: Mapping[int, int], cutoff: int | None) -> str:
    """An inline SVG histogram of untruncated token lengths, bins over cutoff_len in red."""
    total = sum(lengths.values())
    longest = max(lengths)
    over = sum(c for n, c in lengths.items() if cutoff and n > cutoff)
    draw_cutoff = bool(cutoff) and longest >= 0.25 * (cutoff or 0)
    hi = max(longest * 1.05, 1.0)
    if draw_cutoff and cutoff:
        hi = max(hi, cutoff * 1.1)
        width = cutoff / max(1, round(40 * cutoff / hi))  # the cutoff falls on a bin edge
    else:
        width = hi / 40
    bins = [0] * max(1, math.ceil(hi / width))
    for n, c in lengths.items():
        bins[min(len(bins) - 1, int(n // width))] += c
    top = max(bins)
    plot_w, plot_h = W - PAD_L - 8, H - PAD_B - PAD_T
    bar_w = plot_w / len(bins)
    parts = [f'<svg class="chart" viewBox="0 0 {W} {H}" role="img" aria-label="token lengths of {total} samples">']
    for k, c in enumerate(bins):
        if not c:
            continue
        lo_n, hi_n = k * width, (k + 1) * width
        h = max(1.0, plot_h * c / top)
        cls = "over" if cutoff and lo_n >= cutoff else "fits"
        parts.append(f'<rect class="{cls}" x="{PAD_L + k * bar_w:.1f}" y="{PAD_T + plot_h - h:.1f}" '
                     f'width="{max(bar_w - 1, 1):.1f}" height="{h:.1f}"><title>{_nice(lo_n)}–{_nice(hi_n)} tokens: '
                     f'{plural(c, "sample")}</title></rect>')
    base_y = PAD_T + plot_h
    parts.append(f'<line class="axis" x1="{PAD_L}" y1="{base_y}" x2="{W - 8}" y2="{base_y}"/>')
    parts.append(f'<text x="{PAD_L - 6}" y="{PAD_T + 8}" text-anchor="end">{top:,}</text>'
                 f'<text x="{PAD_L - 6}" y="{base_y}" text-anchor="end">0</text>')
    for frac in (0, 0.5, 1):
        x = PAD_L + frac * plot_w
        anchor = {0: "start", 0.5: "middle", 1: "end"}[frac]
        parts.append(f'<text x="{x:.1f}" y="{base_y + 16}" text-anchor="{anchor}">{_nice(frac * len(bins) * width)}</text>')
    parts.append(f'<text x="{PAD_L + plot_w / 2:.1f}" y="{H - 2}" text-anchor="middle" class="lbl">'
                 'tokens per sample (before truncation)</text>')
    if draw_cutoff and cutoff:
        x = PAD_L + plot_w * cutoff / (len(bins) * width)
        parts.append(f'<line class="cut" x1="{x:.1f}" y1="{PAD_T - 6}" x2="{x:.1f}" y2="{base_y}"/>'
                     f'<text class="cut" x="{x + 4:.1f}" y="{PAD_T + 2}">cutoff_len {cutoff:,}</text>')
    parts.append("</svg>")
    median = _median(lengths)
    caption = f"{plural(total, 'encoded sample')}: median {median:,} tokens, longest {longest:,}"
    if cutoff:
        caption += (f"; <b class=\"{'bad' if over else 'good'}\">{plural(over, 'sample')} over cutoff_len "
                    f"{cutoff:,}</b>")
        if over:
            caption += " (truncated in training)"
        if not draw_cutoff:
            caption += " (the cutoff is off the chart: every sample is under a quarter of it)"
    return "".join(parts) + f'<p class="caption">{caption}</p>'


def _median(lengths: Mapping[int, int]) -> int:
    """The lower median of a length -> count table."""
    half, seen = sum(lengths.values()) / 2, 0
    for n, c in sorted(lengths.items()):
        seen += c
        if seen >= half:
            return n
    return 0
