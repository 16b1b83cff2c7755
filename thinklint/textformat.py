"""Split a `format: text` sample into turns by the profile's turn format."""

from __future__ import annotations

from thinklint.model import Message
from thinklint.profiles import Profile


def parse_text(text: str, profile: Profile) -> tuple[tuple[Message, ...], str | None]:
    """The turns of `text`, and None, or the turns read so far and what stopped the parse."""
    turns = profile.turns
    forms: list[tuple[str, str, str]] = []
    for role in ("system", "user", "tool"):
        form = turns.get(role)
        if form and "{content}" in form:
            head, tail = form.split("{content}", 1)
            forms.append((role, head, tail))
    forms.append(("assistant", turns["assistant_header"], turns["assistant_end"]))
    # the longest head first: Qwen's tool turn starts like its user turn
    forms.sort(key=lambda f: -len(f[1]))
    pos = len(turns.get("prefix", "")) if text.startswith(turns.get("prefix", "")) else 0
    messages: list[Message] = []
    while pos < len(text):
        for role, head, tail in forms:
            if not (head and text.startswith(head, pos)):
                continue
            start = pos + len(head)
            end = text.find(tail, start) if tail else len(text)
            if end < 0:
                bare = tail.rstrip()
                if bare and text.endswith(bare):
                    end, tail = len(text) - len(bare), bare  # a final turn without its trailing newline
                else:
                    return tuple(messages), f"{role} turn {len(messages) + 1} is not closed by {tail!r}"
            messages.append(Message(role, text[start:end], {}, ("text",)))
            pos = end + len(tail)
            break
        else:
            return tuple(messages), (f"text at offset {pos} is not a turn of the {profile.name} format: "
                                     f"{text[pos:pos + 40]!r}")
    if not messages:
        return (), f"no turn of the {profile.name} format found"
    return tuple(messages), None
