"""Wallet scoring: how good is this whale, shrunk toward a prior when we know little.

The win rate is Bayesian-shrunk: ``(wins + prior × weight) / (resolved + weight)``, so a wallet
that is 2 for 2 scores barely above the prior, and only a long record moves it far. A wallet
with a saved history profile shrinks toward its own prior (``strategy.prior``) instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from polytui.model import ONE, ZERO, Side, WhaleTrade


@dataclass(slots=True)
class WalletRecord:
    """What we know of one wallet's trading."""

    wallet: str
    trades_seen: int = 0
    resolved: int = 0
    wins: int = 0
    invested_usd: Decimal = ZERO
    returned_usd: Decimal = ZERO
    hold_s_total: int = 0
    usd_total: Decimal = ZERO
    last_active: str = ""
    # token_id -> (condition_id, shares, usd, first seen ISO) of open buys awaiting resolution
    open_buys: dict[str, list[str]] = field(default_factory=dict)

    @property
    def usual_usd(self) -> Decimal:
        """Average trade size in USD (0 before any trade)."""
        return self.usd_total / self.trades_seen if self.trades_seen else ZERO

    @property
    def roi(self) -> Decimal:
        """Realized return on resolved buys."""
        return (
            (self.returned_usd - self.invested_usd) / self.invested_usd
            if self.invested_usd
            else ZERO
        )

    @property
    def avg_hold_s(self) -> float:
        """Average time from buy to resolution."""
        return self.hold_s_total / self.resolved if self.resolved else 0.0

    def to_record(self) -> dict[str, Any]:
        """JSON-able (Decimal as text)."""
        raw = asdict(self)
        return {k: str(v) if isinstance(v, Decimal) else v for k, v in raw.items()}

    @classmethod
    def from_record(cls, raw: dict[str, Any]) -> WalletRecord:
        """Inverse of ``to_record``."""
        rec = cls(wallet=raw["wallet"])
        for key in ("trades_seen", "resolved", "wins"):
            setattr(rec, key, int(raw.get(key, 0)))
        for key in ("invested_usd", "returned_usd", "usd_total"):
            setattr(rec, key, Decimal(raw.get(key, "0")))
        rec.hold_s_total = int(raw.get("hold_s_total", 0))
        rec.last_active = raw.get("last_active", "")
        rec.open_buys = {k: list(v) for k, v in raw.get("open_buys", {}).items()}
        return rec


class WalletScorer:
    """Per-wallet records and the shrunk win rate."""

    def __init__(self, prior_win_rate: Decimal, prior_weight: int) -> None:
        self.prior = prior_win_rate
        self.weight = prior_weight
        self.records: dict[str, WalletRecord] = {}
        # wallet -> (prior win rate, weight) from its history profile (strategy.prior)
        self.priors: dict[str, tuple[Decimal, int]] = {}

    def set_priors(self, priors: dict[str, Any]) -> None:
        """Per-wallet priors (``strategy.prior.WalletPrior``) replacing the global one."""
        self.priors = {w.lower(): (p.win_rate, p.weight) for w, p in priors.items()}

    def record(self, wallet: str) -> WalletRecord:
        """The record of ``wallet`` (created empty)."""
        wallet = wallet.lower()
        rec = self.records.get(wallet)
        if rec is None:
            rec = self.records[wallet] = WalletRecord(wallet)
        return rec

    def win_rate(self, wallet: str) -> Decimal:
        """Bayesian-shrunk win rate."""
        rec = self.record(wallet)
        prior, weight = self.priors.get(rec.wallet, (self.prior, self.weight))
        return (rec.wins + prior * weight) / (rec.resolved + weight or 1)

    def observe(self, trade: WhaleTrade) -> None:
        """Count a trade; remember buys until their market resolves."""
        rec = self.record(trade.wallet)
        rec.trades_seen += 1
        rec.usd_total += trade.usd
        rec.last_active = trade.match_time.isoformat()
        if trade.side is Side.BUY:
            cid, shares, spent, first = rec.open_buys.get(
                trade.token_id, [trade.condition_id, "0", "0", trade.match_time.isoformat()]
            )
            rec.open_buys[trade.token_id] = [
                cid or trade.condition_id,
                str(Decimal(shares) + trade.shares),
                str(Decimal(spent) + trade.usd),
                first,
            ]

    def seed_from_history(self, wallet: str, trades: list[WhaleTrade]) -> None:
        """Seed a newly watched wallet from its data-api history."""
        for trade in sorted(trades, key=lambda t: t.match_time):
            self.observe(trade)

    def on_resolution(
        self,
        condition_id: str,
        winning_token_id: str,
        at: datetime,
        pays: Callable[[str], Decimal] | None = None,
    ) -> list[str]:
        """Score every wallet's buys in a resolved market; returns wallets updated.

        ``pays`` gives what a share of a token paid (a void pays 0.5 on each side): the money
        counts, but a void is neither a win nor a loss for the win rate."""
        updated: list[str] = []
        for rec in self.records.values():
            for token, (cid, shares, spent, first) in list(rec.open_buys.items()):
                if cid != condition_id:
                    continue
                del rec.open_buys[token]
                won = token == winning_token_id
                paid = pays(token) if pays is not None else (ONE if won else ZERO)
                rec.invested_usd += Decimal(spent)
                rec.returned_usd += Decimal(shares) * paid
                if winning_token_id:
                    rec.resolved += 1
                    rec.wins += int(won)
                rec.hold_s_total += max(
                    0, int((at - datetime.fromisoformat(first)).total_seconds())
                )
                updated.append(rec.wallet)
        return updated

    def export(self) -> dict[str, Any]:
        """All records, JSON-able."""
        return {w: r.to_record() for w, r in self.records.items()}

    def restore(self, raw: dict[str, Any]) -> None:
        """Inverse of ``export``."""
        self.records = {w: WalletRecord.from_record(r) for w, r in raw.items()}
