"""Frozen history types: what the data-api's v2 and v1 history endpoints say, parsed.

The adapter (``polytui.feeds.history``) parses both API generations into these at the boundary;
profile arithmetic never sees JSON. Prices, sizes and USD are Decimal; times are integer
milliseconds since the epoch (the data-api speaks whole seconds, a simulator may speak finer).
Each type round-trips through ``to_record`` / ``from_record`` (Decimal as text), which is how the
journal stores it.

Not re-exported by ``polytui.model``: import them from this module (its ``Resolution`` is a
settlement as the history API reports it, not ``polytui.model.Resolution``). They sit with the
domain types, below both the feed that parses them and the whale profiles that read them.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from polytui.amounts import ZERO
from polytui.model.orders import Side
from polytui.model.signals import Role


@dataclass(frozen=True, slots=True)
class HistoryTrade:
    """One fill from ``/v2/trades`` or ``/trades`` (a wallet's history or a market's tape)."""

    wallet: str
    token_id: str
    condition_id: str
    side: Side
    price: Decimal
    shares: Decimal
    ts_ms: int
    tx_hash: str = ""
    outcome: str = ""
    outcome_index: int | None = None
    title: str = ""
    slug: str = ""
    event_slug: str = ""
    role: Role = Role.UNKNOWN

    @property
    def usd(self) -> Decimal:
        """Notional in USD (price × shares, unrounded)."""
        return self.price * self.shares

    @property
    def key(self) -> str:
        """Identity of the fill across pages, refreshes and the two API generations."""
        return "|".join(
            (
                self.tx_hash,
                self.token_id,
                self.side.value,
                str(self.shares),
                str(self.price),
                str(self.ts_ms // 1000),
            )
        )

    def with_role(self, role: Role) -> HistoryTrade:
        """The same fill with its maker/taker role known."""
        return _replace_trade(self, role)

    def to_record(self) -> dict[str, Any]:
        """Compact JSON-able form (Decimal as text)."""
        return {
            "w": self.wallet,
            "t": self.token_id,
            "c": self.condition_id,
            "s": self.side.value,
            "p": str(self.price),
            "n": str(self.shares),
            "ts": self.ts_ms,
            "h": self.tx_hash,
            "o": self.outcome,
            "i": self.outcome_index,
            "ti": self.title,
            "sl": self.slug,
            "es": self.event_slug,
            "r": self.role.value,
        }

    @classmethod
    def from_record(cls, raw: dict[str, Any]) -> HistoryTrade:
        """Inverse of ``to_record``."""
        return cls(
            wallet=raw["w"],
            token_id=raw["t"],
            condition_id=raw["c"],
            side=Side(raw["s"]),
            price=Decimal(raw["p"]),
            shares=Decimal(raw["n"]),
            ts_ms=int(raw["ts"]),
            tx_hash=raw.get("h", ""),
            outcome=raw.get("o", ""),
            outcome_index=raw.get("i"),
            title=raw.get("ti", ""),
            slug=raw.get("sl", ""),
            event_slug=raw.get("es", ""),
            role=Role(raw.get("r", "unknown")),
        )


def _replace_trade(trade: HistoryTrade, role: Role) -> HistoryTrade:
    return HistoryTrade(
        trade.wallet,
        trade.token_id,
        trade.condition_id,
        trade.side,
        trade.price,
        trade.shares,
        trade.ts_ms,
        trade.tx_hash,
        trade.outcome,
        trade.outcome_index,
        trade.title,
        trade.slug,
        trade.event_slug,
        role,
    )


@dataclass(frozen=True, slots=True)
class ActivityEvent:
    """A non-trade ``/activity`` row: REDEEM, MERGE, SPLIT, REWARD, CONVERSION, rebates, …

    REDEEM rows carry price 0, an empty asset and outcomeIndex 999 (py-sdk's sentinels); they
    end a holding, they are not trades.
    """

    wallet: str
    kind: str
    condition_id: str
    usdc_size: Decimal
    shares: Decimal
    ts_ms: int
    tx_hash: str = ""


@dataclass(frozen=True, slots=True)
class Resolution:
    """How a market settled: the payout of each outcome index as a fraction of 1 pUSD."""

    condition_id: str
    payouts: tuple[Decimal, ...]
    resolved_at_ms: int | None = None

    def payout(self, outcome_index: int | None) -> Decimal | None:
        """What one share of the outcome paid (None when the index is unknown)."""
        if outcome_index is None or not 0 <= outcome_index < len(self.payouts):
            return None
        return self.payouts[outcome_index]

    @property
    def void(self) -> bool:
        """A 50/50 (or otherwise split) settlement."""
        return all(p not in (ZERO, Decimal(1)) for p in self.payouts)

    def to_record(self) -> dict[str, Any]:
        """JSON-able."""
        return {
            "c": self.condition_id,
            "p": [str(p) for p in self.payouts],
            "at": self.resolved_at_ms,
        }

    @classmethod
    def from_record(cls, raw: dict[str, Any]) -> Resolution:
        """Inverse of ``to_record``."""
        return cls(raw["c"], tuple(Decimal(p) for p in raw["p"]), raw.get("at"))


@dataclass(frozen=True, slots=True)
class ClosedPosition:
    """One closed position with its realized P&L (``/v2/positions?status=CLOSED`` or v1)."""

    wallet: str
    condition_id: str
    token_id: str
    outcome_index: int | None
    avg_price: Decimal
    total_bought: Decimal
    realized_pnl_usd: Decimal
    cur_price: Decimal | None
    ts_ms: int | None = None
    end_ms: int | None = None
    title: str = ""


@dataclass(frozen=True, slots=True)
class LeaderEntry:
    """A leaderboard / biggest-winners / holders row: a candidate wallet and why."""

    wallet: str
    source: str
    rank: int = 0
    name: str = ""
    pnl_usd: Decimal = ZERO
    volume: Decimal = ZERO


@dataclass(frozen=True, slots=True)
class PnlPoint:
    """One point of a wallet's cumulative P&L curve."""

    ts_ms: int
    pnl_usd: Decimal
