"""Wire numbers the market channel repeats endlessly, parsed once; epoch-millisecond stamps."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal


class NumberCache:
    """Wire strings repeat endlessly ("0.52", "100"); parse each once."""

    def __init__(self, parse: Callable[[object], Decimal], limit: int = 50_000) -> None:
        self._parse = parse
        self.cache: dict[str, Decimal] = {}
        self._limit = limit

    def __call__(self, raw: object) -> Decimal:
        if isinstance(raw, str):
            value = self.cache.get(raw)
            if value is None:
                value = self._parse(raw)
                if len(self.cache) < self._limit:
                    self.cache[raw] = value
            return value
        return self._parse(raw)


def ms_time(raw: object) -> datetime | None:
    """A wire epoch-milliseconds stamp as a UTC time, or None when it is not one.

    A stamp beyond what a datetime holds is not one either: the float division overflows,
    the platform's time_t refuses it (OSError) or the year leaves 1..9999 (ValueError). Left
    to raise, it would cost the frame's levels, not just its stamp."""
    try:
        ms = int(str(raw))
    except (TypeError, ValueError):
        return None
    if ms <= 0:
        return None
    try:
        return datetime.fromtimestamp(ms / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None
