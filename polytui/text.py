"""Text from outside (feeds, config aliases) made safe to show on a terminal.

Market questions, outcome names, trade titles and wallet aliases are printed by ``polytui
status``, written to logs and drawn by the console. A feed that sends ``ESC [ 2 J`` or an OSC
hyperlink in a market question must not clear the operator's screen or retitle the terminal, so
such text is cleaned once, where it is parsed: escape sequences are removed whole, every other
control or bidirectional-override character is dropped, and runs of whitespace become one space.
"""

from __future__ import annotations

import re
import unicodedata

# CSI (ESC [ … final), OSC / DCS / SOS / PM / APC strings (ended by BEL or ST), and two-byte
# escapes; the 8-bit C1 forms of CSI (0x9b) and OSC (0x9d) too.
_ESCAPES = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b[ -/]*[0-~]?"
)
# Bidirectional embeddings, overrides and isolates (they reorder what follows on screen).
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")
_SPACE = re.compile(r"\s+")


def clean_text(value: object, limit: int = 500) -> str:
    """``value`` as printable text: no escape sequences, control or bidi characters."""
    text = value if isinstance(value, str) else str(value)
    if text.isprintable() and "  " not in text and len(text) <= limit:
        return text  # the common case: nothing to do
    text = _ESCAPES.sub("", text)
    text = "".join(
        " " if ch in "\t\n\r\v\f" else ch
        for ch in text
        if ch in "\t\n\r\v\f" or (unicodedata.category(ch)[0] != "C" and ch not in _BIDI)
    )
    return _SPACE.sub(" ", text).strip()[:limit]
