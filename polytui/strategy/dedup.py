"""Signal dedup: one whale's split fills and repeated sightings become one copy, not many.

A fingerprint buckets price (2 cents), size (powers of two of USD) and time (the TTL window), so
near-identical trades by the same wallet in the same token and side collide.
"""

from __future__ import annotations

import math
from decimal import Decimal

from polytui.model import WhaleTrade

PRICE_BUCKET = Decimal("0.02")


def fingerprint(trade: WhaleTrade, ttl_s: float) -> tuple[str, str, str, int, int, int]:
    """(wallet, token, side, price bucket, size bucket, time bucket)."""
    price_bucket = int(trade.price / PRICE_BUCKET)
    size_bucket = int(math.log2(max(float(trade.usd), 1.0)))  # log scale; not money arithmetic
    time_bucket = int(trade.match_time.timestamp() // max(ttl_s, 1.0))
    return (
        trade.wallet.lower(),
        trade.token_id,
        trade.side.value,
        price_bucket,
        size_bucket,
        time_bucket,
    )


class Dedup:
    """Remembers fingerprints for ``ttl_s`` seconds of the monotonic clock (a wall-clock step
    never forgets them early)."""

    def __init__(self, ttl_s: float) -> None:
        self.ttl_s = ttl_s
        self._seen: dict[tuple[str, str, str, int, int, int], float] = {}

    def is_new(self, trade: WhaleTrade, now: float) -> bool:
        """True the first time a fingerprint is seen within the TTL (and records it); ``now``
        is a monotonic second count."""
        self._expire(now)
        key = fingerprint(trade, self.ttl_s)
        if key in self._seen:
            return False
        self._seen[key] = now
        return True

    def forget(self, trade: WhaleTrade) -> None:
        """A sighting that did not happen (its pending transaction was never mined): a re-sent
        copy of the same trade is new again."""
        self._seen.pop(fingerprint(trade, self.ttl_s), None)

    def _expire(self, now: float) -> None:
        horizon = now - self.ttl_s
        for key in [k for k, t in self._seen.items() if t < horizon]:
            del self._seen[key]

    def __len__(self) -> int:
        return len(self._seen)
