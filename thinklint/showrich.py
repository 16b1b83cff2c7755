"""`thinklint show` in a terminal: the shared layout, coloured with rich (imported only here)."""

from __future__ import annotations

from typing import TextIO

from thinklint.showtext import Line, layout
from thinklint.views import SampleView

# trained tokens on green, masked ones dim; two shades each so that token boundaries show;
# markers keep their token's background (trained or not) and get a colour of their own
STYLES = {
    "trained": "black on #8fd694",
    "trained-alt": "black on #b9e8bc",
    "masked": "grey70 on grey19",
    "masked-alt": "grey70 on grey30",
    "think": "bold magenta",
    "eot": "bold red",
    "special": "bold #6cb6ff",
    "header": "bold cyan",
    "empty": "bold black on yellow",
    "gap": "italic grey50",
    "title": "bold",
    "note": "grey62",
    "warn": "yellow",
    "ok": "bold green",
    "error": "red",
    "warning": "yellow",
    "info": "blue",
    "field": "bold magenta",
    "reasoning": "magenta",
    "text": "",
}
GUTTER = {"+": "bold green", "-": "grey50", "R": "magenta"}


def _text(line: Line) -> object:
    from rich.text import Text

    out = Text()
    if line.kind in ("row", "gap"):
        out.append(f"{line.gutter} ", GUTTER.get(line.gutter, ""))
    elif line.kind == "finding":
        out.append("  ")
    for text, style in line.spans:
        background, _, mark = style.partition(":")
        rich_style = STYLES.get(background, "")
        if mark:
            rich_style = f"{rich_style} {STYLES[mark]}"
        out.append(text, rich_style)  # Text.append never parses markup: data stays data
    return out


def print_rich(view: SampleView, out: TextIO, ids: bool = False, footer: str = "") -> None:
    from rich.console import Console

    # only called for a terminal or an explicit --color, so colours are wanted even through a pipe
    console = Console(file=out, highlight=False, soft_wrap=True, force_terminal=True)
    for line in layout(view, ids, footer):
        console.print(_text(line))
