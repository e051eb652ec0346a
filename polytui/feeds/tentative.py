"""Tentative (pending-transaction) trades in the merged stream, until their logs settle them.

A mempool trade is read from a transaction not yet mined. The same fill arrives again from the
settled sources: the chain's ``OrderFilled`` log (same transaction hash; its amounts are the
executed ones and win), RTDS and the data-api. A fill is one *leg*: (transaction, wallet,
token, side). This book remembers the pending trades per leg and the legs the settled sources
already delivered, so a later sighting of a leg is matched to its pending trade (a confirmation
when it is the chain's log, a duplicate otherwise) and a pending trade behind a leg already
seen is a duplicate.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import replace

from polytui.model import Side, TradeSource, WhaleTrade

Leg = tuple[str, str, str, Side]
LEGS_KEPT = 50_000


def leg_of(trade: WhaleTrade) -> Leg:
    """The fill's identity across sources whatever its amounts say."""
    return (trade.tx_hash.lower(), trade.wallet.lower(), trade.token_id, trade.side)


def confirmed(pending: WhaleTrade, settled: WhaleTrade) -> WhaleTrade:
    """The pending trade as mined: the log's amounts, price, fee, role and position win; when
    and how it was first seen (its source and latency) stay the pending sighting's."""
    return replace(
        pending,
        price=settled.price,
        shares=settled.shares,
        usd=settled.usd,
        fee_usd=settled.fee_usd,
        role=settled.role,
        block_number=settled.block_number,
        log_index=settled.log_index,
        pending_tx=False,
    )


class TentativeBook:
    """Pending trades by leg and transaction, and the legs settled sources delivered."""

    def __init__(self) -> None:
        self._pending: dict[Leg, list[WhaleTrade]] = {}
        # transaction hash → its legs in _pending, in arrival order: a withdrawal touches only
        # its own transaction's legs
        self._by_tx: dict[str, dict[Leg, None]] = {}
        self._settled: OrderedDict[Leg, None] = OrderedDict()

    def __len__(self) -> int:
        return sum(len(v) for v in self._pending.values())

    def add(self, trade: WhaleTrade) -> bool:
        """Hold a pending trade; False when a settled source already delivered its leg."""
        leg = leg_of(trade)
        if leg in self._settled:
            return False
        self._pending.setdefault(leg, []).append(trade)
        self._by_tx.setdefault(leg[0], {})[leg] = None
        while len(self._pending) > LEGS_KEPT:  # never settled (no chain source): oldest go
            self._forget(next(iter(self._pending)))
        return True

    def _forget(self, leg: Leg) -> list[WhaleTrade]:
        """Drop a leg's pending trades from both indexes; the trades it held."""
        legs = self._by_tx.get(leg[0])
        if legs is not None:
            legs.pop(leg, None)
            if not legs:
                del self._by_tx[leg[0]]
        return self._pending.pop(leg, [])

    def waiting(self, trade: WhaleTrade) -> bool:
        """A pending trade holds this trade's leg."""
        return leg_of(trade) in self._pending

    def settle(self, trade: WhaleTrade) -> WhaleTrade | None:
        """A trade from a settled source: the pending trade it confirms (the chain's log of
        the same leg; the one of equal size first), else None. Its leg is remembered."""
        leg = leg_of(trade)
        self._settled[leg] = None
        while len(self._settled) > LEGS_KEPT:
            self._settled.popitem(last=False)
        if trade.source is not TradeSource.CHAIN:
            return None
        held = self._pending.get(leg)
        if not held:
            return None
        same = next((t for t in held if t.shares == trade.shares), held[0])
        held.remove(same)
        if not held:
            self._forget(leg)
        return same

    def withdraw(self, tx_hash: str) -> list[WhaleTrade]:
        """Every pending trade of a transaction that will not be mined (they are forgotten)."""
        legs = self._by_tx.pop(tx_hash.lower(), {})
        return [trade for leg in legs for trade in self._pending.pop(leg)]
