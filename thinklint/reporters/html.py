"""One self-contained HTML file: summary, filterable findings, and the token views of broken samples.

The page has no external asset and makes no request: CSS and JS are embedded, a Content
Security Policy forbids every fetch, and the one script is allowed by its hash only, so that
text from the data can never run even if escaping failed somewhere. Data the run gathered
beyond findings arrives in `Report.extras` (filled by the app layer, see app.html_extras):

- ``views``: a `views.Views` (sample views, capped), ``dataset_of``: path -> dataset name,
- ``lengths``: untruncated token length -> samples (empty: no token rules ran),
- ``spec``: the spec's path, ``min_thinking_ratio``: the policy's, ``lengths_note``: why no chart.
"""

from __future__ import annotations

import base64
import hashlib
from collections import Counter
from importlib import resources
from typing import Any, Mapping

from thinklint import __version__
from thinklint.model import CATEGORIES, Finding
from thinklint.reporters import Report
from thinklint.reporters.html_parts import esc, length_chart, plural, sample_view
from thinklint.views import Views

#: findings listed in the table; the counts above it always cover all of them
MAX_ROWS = 10_000
SEVERITIES = ("error", "warning", "info")


def _asset(name: str) -> str:
    return resources.files("thinklint.reporters").joinpath(name).read_text(encoding="utf-8")


def _where(f: Finding) -> str:
    if f.line is not None:
        return f"{f.path}:{f.line}"
    return f"{f.path}[{f.sample}]" if f.sample is not None else f.path


def _cards(report: Report, broken: int) -> str:
    cards = [("samples", f"{report.samples:,}", ""), ("files", f"{report.files:,}", ""),
             ("samples with findings", f"{broken:,}", "bad" if broken else "good"),
             ("errors", f"{report.count('error'):,}", "bad" if report.count("error") else "good"),
             ("warnings", f"{report.count('warning'):,}", "warn" if report.count("warning") else ""),
             ("notes", f"{report.count('info'):,}", "")]
    return '<div class="cards">' + "".join(
        f'<div class="card {c}"><b>{v}</b><span>{esc(k)}</span></div>' for k, v, c in cards) + "</div>"


def _by_rule(report: Report) -> str:
    if not report.findings:
        return '<p class="good">No findings.</p>'
    severity = {f.rule: f.severity for f in reversed(report.findings)}
    top = max(report.by_rule.values())
    rows = []
    for code, n in sorted(report.by_rule.items(), key=lambda kv: (-kv[1], kv[0])):
        rule = report.rules.get(code)
        rows.append(f'<tr><td class="num">{n:,}</td><td><button type="button" class="rulebtn badge '
                    f'{esc(severity[code])}" data-rule="{esc(code)}" title="show only {esc(code)}">{esc(code)}</button>'
                    f'</td><td>{esc(rule.name if rule else "")}<div class="bar"><i style="width:{100 * n / top:.0f}%">'
                    f'</i></div></td><td>{esc(rule.category if rule else "")}</td></tr>')
    return ('<table class="small"><thead><tr><th>#</th><th>rule</th><th>name</th><th>category</th></tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>')


def _by_category(report: Report) -> str:
    counts = Counter(f.category for f in report.findings)
    skipped = {r[:3] for r in report.skipped_token_rules}
    rows = []
    for prefix, name in CATEGORIES.items():
        n = counts.get(name, 0)
        state = "not run: needs model.tokenizer" if prefix in skipped else ""
        cls = "bad" if n else ("muted" if state else "")
        rows.append(f'<tr class="{cls}"><td class="num">{n:,}</td><td>{esc(name)}</td><td><code>{prefix}</code></td>'
                    f'<td class="muted">{esc(state)}</td></tr>')
    return ('<table class="small"><thead><tr><th>#</th><th>category</th><th>prefix</th><th></th></tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>')


def _datasets(report: Report, dataset_of: Mapping[str, str], ratio: float | None) -> str:
    per: dict[str, Counter[str]] = {}
    for f in report.findings:
        per.setdefault(dataset_of.get(f.path, ""), Counter())[f.severity] += 1
    rows = []
    for name, st in sorted(report.datasets.items()):
        judged = st.thinking + st.non_thinking
        share = st.thinking / judged if judged else 0.0
        low = ratio is not None and judged and share < ratio
        tick = f'<em style="left:{100 * ratio:.0f}%" title="min_thinking_ratio {ratio}"></em>' if ratio else ""
        bar = (f'<div class="share" title="{st.thinking:,} thinking, {st.non_thinking:,} non-thinking">'
               f'<i style="width:{100 * share:.1f}%"></i>{tick}</div>')
        c = per.get(name, Counter())
        rows.append(f'<tr><td>{esc(name)}</td><td class="num">{st.samples:,}</td>'
                    f'<td class="num {"bad" if low else ""}">{100 * share:.0f}%</td><td>{bar}'
                    f'<small class="muted">{st.thinking:,} thinking · {st.non_thinking:,} non-thinking</small></td>'
                    f'<td class="num {"bad" if c["error"] else ""}">{c["error"]:,}</td>'
                    f'<td class="num">{c["warning"]:,}</td></tr>')
    note = f'<p class="muted">The tick marks policy.min_thinking_ratio ({ratio}).</p>' if ratio else ""
    return ('<table class="small"><thead><tr><th>dataset</th><th>samples</th><th>thinking</th><th>share</th>'
            f'<th>errors</th><th>warnings</th></tr></thead><tbody>{"".join(rows)}</tbody></table>{note}')


def _filters(report: Report, dataset_of: Mapping[str, str]) -> str:
    def select(key: str, label: str, values: list[str]) -> str:
        opts = "".join(f'<option value="{esc(v)}">{esc(v)}</option>' for v in values)
        return (f'<label>{label} <select id="f-{key}" data-key="{key}"><option value="">all</option>{opts}'
                '</select></label>')

    datasets = sorted({dataset_of.get(f.path, "") for f in report.findings} - {""})
    present = {f.severity for f in report.findings}
    return ('<form class="filters" id="filters">' + select("rule", "rule", sorted(report.by_rule))
            + select("dataset", "dataset", datasets)
            + select("severity", "severity", [s for s in SEVERITIES if s in present])
            + '<button type="reset" id="f-reset">show all</button> <span id="f-count" aria-live="polite"></span>'
            '</form>')


def _table(report: Report, dataset_of: Mapping[str, str], anchors: Mapping[tuple[str, int], str]) -> str:
    rows = []
    for f in report.findings[:MAX_ROWS]:
        ds = dataset_of.get(f.path, "")
        anchor = anchors.get((f.path, f.sample)) if f.sample is not None else None
        where = esc(_where(f))
        loc = f'<a href="#{anchor}">{where}</a>' if anchor else where
        rows.append(f'<tr data-rule="{esc(f.rule)}" data-dataset="{esc(ds)}" data-severity="{esc(f.severity)}">'
                    f'<td><span class="badge {esc(f.severity)}">{esc(f.severity)}</span></td>'
                    f'<td><code>{esc(f.rule)}</code></td><td class="loc">{loc}</td><td>{esc(ds)}</td>'
                    f'<td>{esc(f.message)}</td></tr>')
    more = len(report.findings) - MAX_ROWS
    cap = (f'<p class="cap">The table lists the first {MAX_ROWS:,} findings; {more:,} more are counted above '
           'but not listed (use --format json for all).</p>') if more > 0 else ""
    return ('<table id="findings-table"><thead><tr><th>severity</th><th>rule</th><th>location</th><th>dataset</th>'
            f'<th>message</th></tr></thead><tbody>{"".join(rows)}</tbody></table>{cap}')


def _samples(views: Views | None, anchors: Mapping[tuple[str, int], str]) -> str:
    if views is None or not views.total:
        return '<p class="muted">No sample has a finding.</p>'
    cap = (f'<p class="cap">Showing the first {len(views.views):,} of {views.total:,} samples with findings '
           f'(the report caps sample views at {views.cap:,}; <code>thinklint show FILE:LINE</code> shows any '
           'other).</p>') if views.total > len(views.views) else (
           f'<p class="muted">All {plural(views.total, "sample")} with findings (the report shows up to '
           f'{views.cap:,}).</p>')
    if any(v.has_tokens for v in views.views):
        legend = ('<div class="legend"><span class="t">trained</span> takes loss: the model learns these tokens · '
                  '<span class="m">masked</span> context only · <span class="t k">&lt;think&gt;</span> think marker · '
                  '<span class="t e">&lt;|im_end|&gt;</span> end of turn · <span class="t x">special</span> other '
                  'special token · <span class="seg-empty">empty think block</span> · <i class="n"></i> newline · '
                  'long segments show their ends. <label><input type="checkbox" id="show-ids"> show token ids</label>'
                  '</div>')
    else:
        legend = ('<div class="legend"><span class="rs"><span class="mk">&lt;think&gt;</span> reasoning</span> '
                  'think block or reasoning field · <i class="n"></i> newline · which tokens are trained needs '
                  'model.tokenizer in the spec.</div>')
    cards = "".join(sample_view(v, anchors[(v.location.path, v.location.index or 0)]) for v in views.views)
    return cap + legend + cards


def render(report: Report, title: str = "thinklint report") -> str:
    extras: Mapping[str, Any] = report.extras
    views: Views | None = extras.get("views")
    dataset_of: Mapping[str, str] = extras.get("dataset_of", {})
    lengths: Mapping[int, int] = extras.get("lengths", {})
    ratio = extras.get("min_thinking_ratio")
    anchors = {(v.location.path, v.location.index or 0): f"s{k}" for k, v in enumerate(views.views if views else ())}
    broken = len({(f.path, f.sample) for f in report.findings if f.sample is not None})
    errors, warnings = report.count("error"), report.count("warning")
    if report.findings:
        verdict = (f'<p class="verdict {"bad" if errors else "warn"}">{plural(errors, "error")}, '
                   f'{plural(warnings, "warning")} in {broken:,} of {plural(report.samples, "sample")}</p>')
    else:
        verdict = f'<p class="verdict good">All checks passed in {plural(report.samples, "sample")}</p>'
    if lengths:
        chart = length_chart(lengths, report.cutoff_len)
    else:
        chart = f'<p class="muted">{esc(extras.get("lengths_note") or "No token lengths in this run.")}</p>'
    script = _asset("report.js")
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    # no data in the policy, and single quotes are safe in a double-quoted attribute: not escaped
    csp = f"default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{digest}'"
    spec = extras.get("spec")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)}</title><style>{_asset("report.css")}</style></head>
<body><header><h1>{esc(title)}</h1>{f'<span class="muted">spec {esc(spec)}</span>' if spec else ''}{verdict}</header>
<main>
<section id="summary"><h2>Summary</h2>{_cards(report, broken)}
<div class="grid">
<div class="panel"><h3>Findings by rule</h3>{_by_rule(report)}</div>
<div class="panel"><h3>Findings by category</h3>{_by_category(report)}</div>
<div class="panel"><h3>Datasets: thinking vs non-thinking</h3>{_datasets(report, dataset_of, ratio)}</div>
<div class="panel"><h3>Token lengths</h3>{chart}</div>
</div></section>
<section id="findings"><h2>Findings</h2>{_filters(report, dataset_of)}{_table(report, dataset_of, anchors)}</section>
<section id="samples"><h2>Samples with findings</h2>{_samples(views, anchors)}</section>
</main>
<footer class="muted">thinklint {esc(__version__)} · <span id="tok-info">hover a token to see its id and label</span></footer>
<script>{script}</script>
</body></html>
"""
