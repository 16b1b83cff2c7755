"""Untrusted text as a report or a terminal may show it: control characters, bidi overrides and lone
surrogates as escapes.

Sample text, file names and a custom rule's `{match}` come from the dataset, which may come from
anyone (CI runs on contributed pull requests). Raw, an escape sequence repaints a terminal, a carriage
return overwrites a line with a fake result, a newline starts a line that GitHub Actions runs as a
workflow command (`::add-mask::`), a bidi override reorders what is read ("Trojan Source"), and a
lone surrogate cannot be written as UTF-8 at all.
"""

from __future__ import annotations

import unicodedata

#: bidirectional overrides and isolates reorder what a terminal or browser shows
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _hidden(c: str, lines: bool) -> bool:
    if lines and c in "\n\t":
        return False
    return c in _BIDI or unicodedata.category(c) in ("Cc", "Cs")


def _escape(text: str, lines: bool) -> str:
    if text.isprintable() or not any(_hidden(c, lines) for c in text):
        return text
    return "".join((f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}") if _hidden(c, lines) else c
                   for c in text)


def visible(text: str) -> str:
    """`text` with what would act rather than show escaped; newlines and tabs kept (a sample's body)."""
    return _escape(text, True)


def one_line(text: str) -> str:
    """`visible`, newlines and tabs escaped too: a message or a path is one line of a report."""
    return _escape(text, False)
