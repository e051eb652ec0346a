"""The live broker's error type and the helpers that keep its messages short and secret-free."""

from __future__ import annotations

from polytui import redaction


class LiveError(RuntimeError):
    """Live trading cannot go ahead; the message says why and holds no secret."""


def short(hex_id: str) -> str:
    """``0x1234abcd…``: readable, and short enough that log redaction leaves it alone."""
    return hex_id[:10] + "…" if len(hex_id) > 12 else hex_id


def plain_error(exc: BaseException) -> str:
    """An exception as one redacted line for a notice or a log."""
    return redaction.redact(f"{type(exc).__name__}: {exc}")[:300]
