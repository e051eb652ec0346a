"""Wallet scoring: each whale's price-adjusted edge and latency tax, learned trade by trade.

Every buy a whale makes is remembered with its price, shares and fee until its market
resolves; then every buy in that market becomes one unit of the wallet's edge record
(``strategy.edge``). Every buy also gives a latency-tax sample as soon as a copy could have
filled: the best ask then minus the whale's price, per kind of market. A wallet with a saved history
profile starts from it (``strategy.prior``) instead of from zero edge.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from polytui.model import ONE, ZERO, Side, WhaleTrade
from polytui.strategy.edge import NO_TAX, EdgeAcc, Estimate, TaxAcc

OpenBuy = list[Any]  # [condition id, first seen ISO, kind, [[price, shares, fee per share], …]]


@dataclass(slots=True)
class WalletRecord:
    """What we know of one wallet's trading."""

    wallet: str
    trades_seen: int = 0
    usd_total: Decimal = ZERO
    hold_s_total: int = 0
    last_active: str = ""
    edge: EdgeAcc = field(default_factory=EdgeAcc)
    taxes: dict[str, TaxAcc] = field(default_factory=dict)  # kind of market → tax samples
    open_buys: dict[str, OpenBuy] = field(default_factory=dict)  # token → buys awaiting result

    @property
    def resolved(self) -> int:
        """Buys whose market has resolved (a void counts)."""
        return self.edge.n

    @property
    def wins(self) -> int:
        """Resolved buys of the winning outcome."""
        return self.edge.wins

    @property
    def usual_usd(self) -> Decimal:
        """Average trade size in USD (0 before any trade)."""
        return self.usd_total / self.trades_seen if self.trades_seen else ZERO

    @property
    def avg_hold_s(self) -> float:
        """Average time from first buy to resolution, per resolved market."""
        return self.hold_s_total / self.edge.units if self.edge.units else 0.0

    def all_taxes(self) -> TaxAcc:
        """The wallet's tax samples over every kind of market."""
        out = TaxAcc()
        for acc in self.taxes.values():
            out.n += acc.n
            out.total += acc.total
            out.sq += acc.sq
            out.fee += acc.fee
        return out

    def to_record(self) -> dict[str, Any]:
        """JSON-able (Decimal as text)."""
        return {
            "wallet": self.wallet,
            "trades_seen": self.trades_seen,
            "usd_total": str(self.usd_total),
            "hold_s_total": self.hold_s_total,
            "last_active": self.last_active,
            "resolved": self.resolved,
            "wins": self.wins,
            "edge": self.edge.to_record(),
            "taxes": {k: v.to_record() for k, v in self.taxes.items()},
            "open_buys": self.open_buys,
        }

    @classmethod
    def from_record(cls, raw: dict[str, Any]) -> WalletRecord:
        """Inverse of ``to_record``; a record saved before edges were kept starts its edge
        afresh and keeps its open buys (priced at their average)."""
        rec = cls(wallet=raw["wallet"])
        rec.trades_seen = int(raw.get("trades_seen", 0))
        rec.usd_total = Decimal(raw.get("usd_total", "0"))
        rec.hold_s_total = int(raw.get("hold_s_total", 0))
        rec.last_active = raw.get("last_active", "")
        rec.edge = EdgeAcc.from_record(raw.get("edge"))
        rec.taxes = {k: TaxAcc.from_record(v) for k, v in raw.get("taxes", {}).items()}
        for token, value in raw.get("open_buys", {}).items():
            if len(value) == 4 and not isinstance(value[3], list):  # [cid, shares, usd, first]
                cid, shares, spent, first = value
                price = Decimal(spent) / Decimal(shares) if Decimal(shares) else ZERO
                value = [cid, first, "", [[str(price), str(shares), "0"]]]
            rec.open_buys[token] = list(value)
        return rec


class WalletScorer:
    """Per-wallet records, the shrunk edge and the learned latency tax."""

    def __init__(self, prior_edge: Decimal, prior_weight: int, tax_weight: int = 5) -> None:
        self.prior = prior_edge
        self.weight = prior_weight
        self.tax_weight = tax_weight
        self.records: dict[str, WalletRecord] = {}
        self.kinds: dict[str, TaxAcc] = {}  # kind of market → tax samples over every wallet
        # wallet -> (prior edge, weight) from its history profile (strategy.prior)
        self.priors: dict[str, tuple[Decimal, int]] = {}
        self.tax_priors: dict[str, Decimal] = {}  # wallet -> latency tax its history implies
        # Estimates are asked for on every trade; they change only when something is learned.
        self.version = 0
        self._cache: dict[tuple[Any, ...], Estimate] = {}

    def set_priors(self, priors: dict[str, Any]) -> None:
        """Per-wallet priors (``strategy.prior.WalletPrior``) replacing the global one."""
        self.priors = {w.lower(): (p.edge, p.weight) for w, p in priors.items()}
        self.tax_priors = {w.lower(): p.tax for w, p in priors.items() if p.tax is not None}
        self.invalidate()

    def record(self, wallet: str) -> WalletRecord:
        """The record of ``wallet`` (created empty)."""
        wallet = wallet.lower()
        rec = self.records.get(wallet)
        if rec is None:
            rec = self.records[wallet] = WalletRecord(wallet)
        return rec

    # --- estimates -------------------------------------------------------------------------

    def whale_edge(self, wallet: str) -> Estimate:
        """The wallet's edge per share, shrunk toward its prior, with its standard error."""
        rec = self.record(wallet)
        prior, weight = self.priors.get(rec.wallet, (self.prior, self.weight))
        key = ("edge", rec.wallet, prior, weight, self.version)
        cached = self._cache.get(key)
        if cached is None:
            cached = self._cache[key] = rec.edge.estimate(prior, weight)
        return cached

    def tax(self, wallet: str, kind: str) -> Estimate:
        """Expected latency tax per share copying ``wallet`` in a market of ``kind``."""
        rec = self.record(wallet)
        k = self.tax_weight
        key = ("tax", rec.wallet, kind, k, self.version)
        cached = self._cache.get(key)
        if cached is None:
            cached = self._cache[key] = self._tax(rec, kind, k)
        return cached

    def _tax(self, rec: WalletRecord, kind: str, k: int) -> Estimate:
        kind_all = self.kinds.get(kind, TaxAcc()).estimate(NO_TAX, k)
        history = self.tax_priors.get(rec.wallet)
        if history is not None:  # its history's tax, at least what this kind of market costs
            kind_all = Estimate(max(history, kind_all.mean), kind_all.se)
        wallet_all = rec.all_taxes().estimate(kind_all, k)
        return rec.taxes.get(kind, TaxAcc()).estimate(wallet_all, k)

    def copy_edge(self, wallet: str) -> Decimal:
        """The wallet's estimated copy edge per share: edge − latency tax − a copy's fee,
        over every kind of market it trades."""
        rec = self.record(wallet)
        taxes = rec.all_taxes()
        tax = taxes.estimate(NO_TAX, self.tax_weight).mean
        return self.whale_edge(wallet).mean - tax - taxes.mean_fee

    # --- learning --------------------------------------------------------------------------

    def observe(self, trade: WhaleTrade, *, kind: str = "", whale_fee: Decimal = ZERO) -> None:
        """Count a trade; remember a buy (its price, shares and the whale's fee per share)
        until its market resolves."""
        rec = self.record(trade.wallet)
        rec.trades_seen += 1
        rec.usd_total += trade.usd
        rec.last_active = trade.match_time.isoformat()
        if trade.side is not Side.BUY or trade.shares <= 0:
            return
        entry = rec.open_buys.get(trade.token_id)
        if entry is None:
            entry = rec.open_buys[trade.token_id] = [
                trade.condition_id,
                trade.match_time.isoformat(),
                kind,
                [],
            ]
        entry[3].append([str(trade.price), str(trade.shares), str(whale_fee)])

    def add_tax(self, wallet: str, kind: str, tax: Decimal, fee: Decimal) -> None:
        """One latency-tax sample: the best ask when a copy could fill minus the whale's price,
        and the taker fee a copy would pay there."""
        self.record(wallet).taxes.setdefault(kind, TaxAcc()).add(tax, fee)
        self.kinds.setdefault(kind, TaxAcc()).add(tax, fee)
        self.invalidate()

    def invalidate(self) -> None:
        """Forget cached estimates (after anything that changes a record)."""
        self.version += 1
        self._cache.clear()

    def on_resolution(
        self,
        condition_id: str,
        winning_token_id: str,
        at: datetime,
        pays: Callable[[str], Decimal] | None = None,
    ) -> list[str]:
        """Score every wallet's buys in a resolved market; returns wallets updated.

        ``pays`` gives what a share of a token paid (a void pays 0.5 on each side)."""
        updated: list[str] = []
        for rec in self.records.values():
            buys: list[tuple[Decimal, Decimal, Decimal, Decimal]] = []
            first_seen: list[str] = []
            for token, (cid, first, _kind, fills) in list(rec.open_buys.items()):
                if cid != condition_id:
                    continue
                del rec.open_buys[token]
                won = token == winning_token_id
                payout = pays(token) if pays is not None else (ONE if won else ZERO)
                first_seen.append(first)
                for price, shares, fee in fills:
                    buys.append((payout, Decimal(price), Decimal(fee), Decimal(shares)))
            if not buys:
                continue
            rec.edge.add_market(buys)
            self.invalidate()
            start = min(datetime.fromisoformat(f) for f in first_seen)
            rec.hold_s_total += max(0, int((at - start).total_seconds()))
            updated.append(rec.wallet)
        return updated

    # --- persistence -----------------------------------------------------------------------

    def export(self) -> dict[str, Any]:
        """All records, JSON-able."""
        return {w: r.to_record() for w, r in self.records.items()}

    def export_kinds(self) -> dict[str, Any]:
        """The tax samples per kind of market, JSON-able."""
        return {k: v.to_record() for k, v in self.kinds.items()}

    def restore(self, raw: dict[str, Any], kinds: dict[str, Any] | None = None) -> None:
        """Inverse of ``export`` (and ``export_kinds``)."""
        self.records = {w: WalletRecord.from_record(r) for w, r in raw.items()}
        self.kinds = {k: TaxAcc.from_record(v) for k, v in (kinds or {}).items()}
        self.invalidate()
