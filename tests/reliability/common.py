"""Shared helpers of the reliability suite: sizes, summary lines, a loopback HTTP server."""

from __future__ import annotations

import os
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from tests.conftest import FULL


def size(full: int, reduced: int) -> int:
    """The full size under ``make reliability`` (POLYTUI_FULL=1), else the reduced one.

    ``POLYTUI_RELIABILITY_SCALE`` overrides both (for a quick look at a full-size test).
    """
    override = os.environ.get("POLYTUI_RELIABILITY_SCALE")
    if override:
        return max(1, int(override))
    return full if FULL else reduced


def summary(name: str, **counts: object) -> str:
    """One greppable line per test: ``RELIABILITY <name> k=v …`` (printed with -s or -rP)."""
    mode = "full" if FULL else "reduced"
    body = " ".join(f"{k}={v}" for k, v in counts.items())
    line = f"RELIABILITY {name} [{mode}] {body}"
    print(line, flush=True)
    return line


def number_ok(raw: object, low: Decimal | None, high: Decimal | None) -> bool:
    """Independent statement of the wire-number rule: finite, in range, sane type and length."""
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        return False
    text = str(raw).strip()
    if not text or len(text) > 64:
        return False
    try:
        value = Decimal(text)
    except InvalidOperation:
        return False
    if not value.is_finite():
        return False
    return not ((low is not None and value < low) or (high is not None and value > high))


def run_sync(coro: Any) -> Any:
    """Run a coroutine that never suspends (raises if it does)."""
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value
    coro.close()
    raise RuntimeError("coroutine suspended; it needed I/O")


Check = Callable[[], bool]
