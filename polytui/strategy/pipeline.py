"""The strategy facade the engine calls: trade in, signal (and maybe a sized intent) out.

Every answer carries journal records ``(kind, ref, payload)`` with the numbers and reasons that
decided it, so "why did (or didn't) it copy that trade?" always has an answer in the journal.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from polytui.clock import Clock
from polytui.model import (
    ZERO,
    Fill,
    IntentStatus,
    Market,
    PortfolioView,
    RiskDecision,
    RiskSnapshot,
    Side,
    Signal,
    SignalStatus,
    TradeIntent,
    Verdict,
    WhaleTrade,
    new_id,
)
from polytui.settings import Settings
from polytui.strategy.approvals import ApprovalError, ApprovalQueue
from polytui.strategy.capital import Capital
from polytui.strategy.clusters import ClusterDetector
from polytui.strategy.dedup import Dedup
from polytui.strategy.edge import Estimate
from polytui.strategy.entry import BookLike, entry_intent, kind_of
from polytui.strategy.outcomes import (
    KillResult,
    Outcome,
    Record,
    StrategyResult,
    decision_record,
)
from polytui.strategy.risk import RiskGuard
from polytui.strategy.scoring import WalletScorer

__all__ = ["BookLike", "KillResult", "Outcome", "Record", "Strategy", "StrategyResult"]

PROBES = 10_000  # latency-tax samples waiting for their moment, at most


class Strategy:
    """Dedup → score → cluster → net edge → Kelly → reserve → RiskGuard → approval queue."""

    def __init__(self, settings: Settings, clock: Clock) -> None:
        self.settings = settings
        self.clock = clock
        st = settings.strategy
        self.dedup = Dedup(st.dedup_ttl_s)
        self.scorer = WalletScorer(st.prior_edge, st.prior_weight, st.tax_prior_weight)
        self.capital = Capital()
        # (due monotonic s, wallet, kind, token, whale price, fee schedule) of tax samples
        self._probes: deque[tuple[float, str, str, str, Decimal, Any]] = deque(maxlen=PROBES)
        self.clusters = ClusterDetector(st.cluster_size, st.cluster_window_s)
        self.risk = RiskGuard(settings.risk)
        ap = settings.approval
        self.approvals = ApprovalQueue(ap.ttl_s, ap.policy, ap.per_wallet, clock)
        self._markets: dict[str, Market | None] = {}
        self._watched = {w.lower() for w in settings.whales.wallets}

    def reload(self, settings: Settings) -> None:
        """Apply new limits, whales, policy and windows without losing state, whole or not at all.

        Everything the new settings need is computed first (anything that can raise); only then
        is it swapped in, by plain assignments that cannot fail.
        """
        st, ap = settings.strategy, settings.approval
        ttl = timedelta(seconds=ap.ttl_s)
        window = timedelta(seconds=st.cluster_window_s)
        self.clock.now() + ttl + window  # both must fit a date (raises OverflowError if not)
        per_wallet = {k.lower(): v for k, v in ap.per_wallet.items()}
        watched = {w.lower() for w in settings.whales.wallets}
        # The swap: nothing below can raise.
        self.settings = settings
        self.risk.settings = settings.risk
        self.approvals.policy = ap.policy
        self.approvals.ttl = ttl
        self.approvals.per_wallet = per_wallet
        self.dedup.ttl_s = st.dedup_ttl_s
        self.clusters.size = st.cluster_size
        self.clusters.window = window
        self.scorer.prior, self.scorer.weight = st.prior_edge, st.prior_weight
        self.scorer.tax_weight = st.tax_prior_weight
        self._watched = watched

    # --- trades -------------------------------------------------------------------------------

    def watches(self, wallet: str) -> bool:
        """Whether ``wallet`` is on the watch list."""
        return wallet.lower() in self._watched

    def market_of(self, intent_id: str) -> Market | None:
        """The market a pending intent was sized in (None when unknown)."""
        return self._markets.get(intent_id)

    def on_trade(
        self,
        trade: WhaleTrade,
        market: Market | None,
        book: BookLike | None,
        view: PortfolioView,
        *,
        max_age_s: float | None = None,
    ) -> StrategyResult:
        """Turn one whale trade into a signal and, when everything agrees, a sized intent.

        A trade matched more than ``max_age_s`` ago (default ``[strategy] max_trade_age_s``; the
        engine passes the catch-up window for trades missed while it was down) is observed with
        the reason and never sized.
        """
        now = self.clock.now()
        st = self.settings.strategy
        is_new = self.dedup.is_new(trade, self.clock.monotonic())
        age_s = (now - trade.match_time).total_seconds()
        if not trade.condition_id and market is not None:
            trade = replace(trade, condition_id=market.condition_id)
        self._learn(trade, market, age_s)
        wallets = self.clusters.add(trade)
        if not self.clusters.is_cluster(wallets):
            wallets = (trade.wallet.lower(),)
        signal = _signal(trade, market, book, wallets, now)
        whale = self.scorer.whale_edge(trade.wallet)
        numbers = _numbers(trade, kind_of(market), whale, signal, book)
        numbers["age_s"] = int(age_s)
        limit_s = st.max_trade_age_s if max_age_s is None else max(st.max_trade_age_s, max_age_s)
        intent, why = (None, "duplicate of a recent signal")
        if age_s > limit_s:
            why = f"trade is {int(age_s)} s old (at most {int(limit_s)} s are copied)"
        elif is_new:
            intent, why = entry_intent(self, signal, trade, market, book, view, numbers)
        p_win = numbers.get("p_win")
        signal = replace(
            signal,
            status=SignalStatus.PENDING if intent is not None else SignalStatus.OBSERVED,
            reason=why,
            confidence=max(ZERO, min(Decimal(1), p_win)) if p_win is not None else ZERO,
        )
        numbers["decision"] = "intent" if intent else "observed"
        numbers["reason"] = why
        if intent is not None:
            self.approvals.add(intent)
            self._markets[intent.id] = market
        return StrategyResult(signal, intent, [("signal", signal.id, numbers)])

    def _learn(self, trade: WhaleTrade, market: Market | None, age_s: float) -> None:
        """Count the trade for its wallet's record and, for a fresh buy, queue the tax sample
        read off the book when a copy sent now would reach it (not for a trade caught up long
        after: its price is history)."""
        kind = kind_of(market)
        whale_fee = trade.fee_usd / trade.shares if trade.shares > 0 else ZERO
        self.scorer.observe(trade, kind=kind, whale_fee=whale_fee)
        if trade.side is Side.BUY and age_s <= self.settings.strategy.max_trade_age_s:
            schedule = market.fee_schedule if market is not None else None
            due = self.clock.monotonic() + self.settings.paper.latency_ms / 1000
            self._probes.append((due, trade.wallet, kind, trade.token_id, trade.price, schedule))

    def probe_taxes(self, book_of: Callable[[str], BookLike | None]) -> int:
        """Take the latency-tax samples that are due: the best ask of each whale buy's token
        once a copy sent when the trade was seen would have reached the book. Returns how many
        were taken (the engine calls this every tick)."""
        now = self.clock.monotonic()
        taken = 0
        while self._probes and self._probes[0][0] <= now:
            _, wallet, kind, token, price, schedule = self._probes.popleft()
            book = book_of(token)
            if book is None or book.stale or book.best_ask is None:
                continue
            ask = book.best_ask
            fee = schedule.per_share(ask) if schedule is not None else ZERO
            self.scorer.add_tax(wallet, kind, ask - price, fee)
            taken += 1
        return taken

    # --- second opinion (polytui.advisors) -----------------------------------------------------

    def reconsider(
        self,
        intent_id: str,
        adjust: Callable[[Decimal], Decimal],
        note: str,
        view: PortfolioView,
    ) -> Outcome:
        """Apply a second opinion to a pending buy (see ``polytui.strategy.reconsider``)."""
        from polytui.strategy.reconsider import reconsider

        return reconsider(self, intent_id, adjust, note, view)

    # --- approvals ----------------------------------------------------------------------------

    def approve(self, intent_id: str, view: PortfolioView) -> Outcome:
        """Approve a pending intent after checking RiskGuard again with fresh numbers."""
        now = self.clock.now()
        intent = self.approvals.get(intent_id)
        if intent is None:
            return Outcome(False, f"no trade intent {intent_id!r}")
        decision: RiskDecision = self.risk.check(intent, view, self._markets.get(intent_id))
        try:
            if decision.verdict is Verdict.REJECT:
                done = self.approvals.decide(
                    intent_id, IntentStatus.REJECTED, f"risk: {decision.reason}", now
                )
                return Outcome(
                    False,
                    f"refused by risk: {decision.reason}",
                    done,
                    [decision_record(done, "risk")],
                )
            shares = decision.shares if decision.verdict is Verdict.REDUCE else None
            done = self.approvals.decide(
                intent_id, IntentStatus.APPROVED, decision.reason or "approved", now, shares
            )
        except ApprovalError as exc:
            return Outcome(False, str(exc), self.approvals.get(intent_id))
        return Outcome(
            True, decision.reason or "approved", done, [decision_record(done, "approve")]
        )

    def reject(self, intent_id: str, reason: str) -> Outcome:
        """Reject a pending intent."""
        try:
            done = self.approvals.decide(intent_id, IntentStatus.REJECTED, reason, self.clock.now())
        except ApprovalError as exc:
            return Outcome(False, str(exc), self.approvals.get(intent_id))
        return Outcome(True, f"rejected {intent_id}", done, [decision_record(done, "reject")])

    def finish(self, intent_id: str, filled: bool, reason: str) -> TradeIntent | None:
        """Record the broker's outcome of an approved intent."""
        status = IntentStatus.FILLED if filled else IntentStatus.FAILED
        done = self.approvals.finish(intent_id, status, reason or status.value)
        self._markets.pop(intent_id, None)
        return done

    def expire_due(self, now: datetime) -> list[TradeIntent]:
        """Expire intents past their TTL."""
        expired = self.approvals.expire_due(now)
        for intent in expired:
            self._markets.pop(intent.id, None)
        return expired

    def kill(self, now: datetime) -> KillResult:
        """Kill switch: pause and reject every pending intent."""
        self.risk.killed = True
        self.risk.paused = True
        rejected: list[TradeIntent] = []
        for intent in self.approvals.pending():
            try:
                rejected.append(
                    self.approvals.decide(intent.id, IntentStatus.REJECTED, "kill switch", now)
                )
            except ApprovalError:
                continue
        return KillResult(rejected, [decision_record(i, "kill") for i in rejected])

    # --- outcomes -----------------------------------------------------------------------------

    def on_fill(self, fill: Fill) -> None:
        """Our fills do not change strategy state today (kept for symmetry with the engine)."""

    def on_market_resolved(
        self,
        condition_id: str,
        winning_token_id: str,
        at: datetime,
        pays: Callable[[str], Decimal] | None = None,
    ) -> list[Record]:
        """Update wallet scores with the result; journal the new records."""
        updated = self.scorer.on_resolution(condition_id, winning_token_id, at, pays)
        return [
            ("wallet_score", wallet, self.scorer.record(wallet).to_record()) for wallet in updated
        ]

    def risk_snapshot(self, view: PortfolioView) -> RiskSnapshot:
        """Limits and their use for the UI."""
        return self.risk.snapshot(view)

    # --- persistence --------------------------------------------------------------------------

    def export_state(self) -> dict[str, Any]:
        """Queue, wallet scores, latency taxes and risk flags, JSON-able."""
        return {
            "intents": self.approvals.export(),
            "wallets": self.scorer.export(),
            "tax_by_kind": self.scorer.export_kinds(),
            "risk": self.risk.to_record(),
        }

    def restore_state(self, state: dict[str, Any], now: datetime) -> list[TradeIntent]:
        """Resume after a restart; returns intents that came back expired."""
        self.scorer.restore(state.get("wallets", {}), state.get("tax_by_kind", {}))
        self.risk.from_record(state.get("risk", {}))
        return self.approvals.restore(state.get("intents", []), now)


def _signal(
    trade: WhaleTrade,
    market: Market | None,
    book: BookLike | None,
    wallets: tuple[str, ...],
    now: datetime,
) -> Signal:
    """The signal a trade makes, before the strategy has decided on it."""
    best_ask = book.best_ask if book is not None else None
    best_bid = book.best_bid if book is not None else None
    return Signal(
        id=new_id("sig"),
        created_at=now,
        token_id=trade.token_id,
        condition_id=trade.condition_id or (market.condition_id if market else ""),
        outcome=trade.outcome,
        side=trade.side,
        whale_price=trade.price,
        usd=trade.usd,
        confidence=ZERO,
        wallets=wallets,
        trades=(trade,),
        market_question=market.question if market else trade.title,
        current_price=best_ask if trade.side is Side.BUY else best_bid,
    )


def _numbers(
    trade: WhaleTrade, kind: str, whale: Estimate, signal: Signal, book: BookLike | None
) -> dict[str, Any]:
    """The signal's journal payload so far: the trade, its wallet's edge and the book."""
    numbers: dict[str, Any] = {
        "wallet": trade.wallet,
        "token_id": trade.token_id,
        "side": trade.side.value,
        "whale_price": trade.price,
        "whale_usd": trade.usd,
        "kind": kind,
        "whale_edge": whale.mean,
        "whale_edge_se": whale.se,
        "whale_resolved": whale.n,
        "cluster": list(signal.wallets),
        "best_ask": book.best_ask if book is not None else None,
        "best_bid": book.best_bid if book is not None else None,
        "source": trade.source.value,
        "latency_ms": trade.latency_ms,
        "tx_hash": trade.tx_hash,
        "shares": trade.shares,
    }
    if trade.pending_tx:
        numbers["pending_tx"] = True  # read from a transaction not yet mined
    return numbers
