"""The strategy facade the engine calls: trade in, signal (and maybe a sized intent) out.

Every answer carries journal records ``(kind, ref, payload)`` with the numbers and reasons that
decided it, so "why did (or didn't) it copy that trade?" always has an answer in the journal.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from polytui.amounts import floor_to
from polytui.clock import Clock
from polytui.display import below
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
)
from polytui.settings import Settings
from polytui.strategy.approvals import ApprovalError, ApprovalQueue
from polytui.strategy.clusters import ClusterDetector
from polytui.strategy.dedup import Dedup
from polytui.strategy.risk import RiskGuard
from polytui.strategy.scoring import WalletScorer
from polytui.strategy.sizing import (
    ConfidenceInputs,
    confidence,
    price_move,
    size_trade,
    time_left_s,
    win_probability,
)

Record = tuple[str, str, dict[str, Any]]


class BookLike(Protocol):
    """What the strategy reads from an order book."""

    stale: bool

    @property
    def best_bid(self) -> Decimal | None: ...

    @property
    def best_ask(self) -> Decimal | None: ...

    def walk(self, side: Side, shares: Decimal, limit_price: Decimal | None = None) -> Any: ...


@dataclass(frozen=True, slots=True)
class StrategyResult:
    """The signal made from a trade, the intent if one was sized, and what to journal."""

    signal: Signal
    intent: TradeIntent | None
    journal_records: list[Record] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Outcome:
    """Answer to approve / reject."""

    ok: bool
    message: str
    intent: TradeIntent | None = None
    journal_records: list[Record] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class KillResult:
    """Intents rejected by the kill switch."""

    intents: list[TradeIntent]
    journal_records: list[Record]


def _short_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


class Strategy:
    """Dedup → score → cluster → confidence → Kelly → RiskGuard → approval queue."""

    def __init__(self, settings: Settings, clock: Clock) -> None:
        self.settings = settings
        self.clock = clock
        st = settings.strategy
        self.dedup = Dedup(st.dedup_ttl_s)
        self.scorer = WalletScorer(st.prior_win_rate, st.prior_weight)
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
        self.scorer.prior, self.scorer.weight = st.prior_win_rate, st.prior_weight
        self._watched = watched

    # --- trades -------------------------------------------------------------------------------

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
        is_new = self.dedup.is_new(trade, self.clock.monotonic())
        self.scorer.observe(trade)
        wallets = self.clusters.add(trade)
        if not self.clusters.is_cluster(wallets):
            wallets = (trade.wallet.lower(),)
        rec = self.scorer.record(trade.wallet)
        usual = rec.usual_usd
        best_ask = book.best_ask if book is not None else None
        best_bid = book.best_bid if book is not None else None
        move = price_move(trade, best_ask, best_bid)
        conf, reasons = confidence(
            ConfidenceInputs(
                win_rate=self.scorer.win_rate(trade.wallet),
                size_ratio=(trade.usd / usual) if usual > 0 else Decimal(1),
                cluster_size=len(wallets),
                price_move=move,
                end_known=market is not None and market.end_time is not None,
            )
        )
        signal = Signal(
            id=_short_id("sig"),
            created_at=now,
            token_id=trade.token_id,
            condition_id=trade.condition_id or (market.condition_id if market else ""),
            outcome=trade.outcome,
            side=trade.side,
            whale_price=trade.price,
            usd=trade.usd,
            confidence=conf,
            wallets=wallets,
            trades=(trade,),
            market_question=market.question if market else trade.title,
            current_price=best_ask if trade.side is Side.BUY else best_bid,
        )
        numbers: dict[str, Any] = {
            "wallet": trade.wallet,
            "token_id": trade.token_id,
            "side": trade.side.value,
            "whale_price": trade.price,
            "whale_usd": trade.usd,
            "confidence": conf,
            "confidence_reasons": reasons,
            "cluster": list(wallets),
            "best_ask": best_ask,
            "best_bid": best_bid,
            "source": trade.source.value,
            "latency_ms": trade.latency_ms,
            "tx_hash": trade.tx_hash,
            "shares": trade.shares,
        }
        age_s = (now - trade.match_time).total_seconds()
        numbers["age_s"] = int(age_s)
        limit_s = self.settings.strategy.max_trade_age_s
        if max_age_s is not None:
            limit_s = max(limit_s, max_age_s)
        intent, why = (None, "duplicate of a recent signal")
        if age_s > limit_s:
            why = f"trade is {int(age_s)} s old (at most {int(limit_s)} s are copied)"
        elif is_new:
            intent, why = self._maybe_intent(signal, trade, market, book, view, numbers)
        status = SignalStatus.PENDING if intent is not None else SignalStatus.OBSERVED
        signal = _with(signal, status=status, reason=why)
        numbers["decision"] = "intent" if intent else "observed"
        numbers["reason"] = why
        records: list[Record] = [("signal", signal.id, numbers)]
        if intent is not None:
            self.approvals.add(intent)
            self._markets[intent.id] = market
        return StrategyResult(signal, intent, records)

    def _maybe_intent(
        self,
        signal: Signal,
        trade: WhaleTrade,
        market: Market | None,
        book: BookLike | None,
        view: PortfolioView,
        numbers: dict[str, Any],
    ) -> tuple[TradeIntent | None, str]:
        st = self.settings.strategy
        now = view.now
        policy = self.approvals.policy_for(trade.wallet)
        if policy == "observe":
            return None, "observe policy for this wallet"
        min_usd = self.settings.whales.min_trade_usd
        if trade.wallet.lower() not in self._watched and trade.usd < min_usd:
            return None, f"unwatched wallet, trade below {min_usd} USD"
        if market is None:
            return None, "no market metadata yet"
        if market.unsupported:
            return None, f"not supported: {market.unsupported}"
        if book is None or book.stale or book.best_ask is None:
            return None, "no live order book"
        left = time_left_s(market, now)
        if left is not None and left < self.settings.risk.min_time_to_resolution_s:
            return None, f"resolves in {max(0, int(left))} s"
        if trade.side is Side.SELL:
            held = view.shares_by_token.get(trade.token_id, ZERO)
            if not st.copy_whale_sells or held <= 0:
                return None, "whale sold; copying sells is off" if held > 0 else "whale sold"
            return self._exit_intent(signal, trade, market, book, held), "copying the whale's exit"
        if signal.confidence < st.min_confidence:
            return None, f"confidence {below(signal.confidence, st.min_confidence)}"
        risk = self.settings.risk
        if not risk.min_entry_price <= book.best_ask <= risk.max_entry_price:
            return None, f"price {book.best_ask} outside the entry band"
        p = win_probability(trade.price, signal.confidence)
        # Probe the book with a nominal max-bet size to price the walk, then size precisely.
        probe_shares = max(market.min_order_size, (st.max_bet_usd / book.best_ask).quantize(ZERO))
        walk = book.walk(Side.BUY, probe_shares)
        avg = walk.avg_price or book.best_ask
        schedule = market.fee_schedule
        fee_ps = schedule.per_share(avg) if schedule is not None else ZERO
        sizing = size_trade(
            p=p,
            avg_price=avg,
            fee_per_share=fee_ps,
            cash=view.cash_usd,
            kelly_mult=st.kelly_fraction,
            max_bet_usd=st.max_bet_usd,
            min_shares=market.min_order_size,
        )
        numbers.update({"p_win": p, "cost_per_share": sizing.cost, "kelly_full": sizing.fraction})
        if sizing.shares <= 0:
            return None, sizing.reason
        limit = _limit_price(avg, self.settings.order_slippage_cap, market.tick_size)
        intent = TradeIntent(
            id=_short_id("int"),
            signal_id=signal.id,
            token_id=trade.token_id,
            condition_id=market.condition_id,
            outcome=trade.outcome,
            side=Side.BUY,
            shares=sizing.shares,
            limit_price=limit,
            sized_price=avg.quantize(Decimal("0.0001")),
            usd=(sizing.shares * limit).quantize(Decimal("0.000001")),
            whale_price=trade.price,
            confidence=signal.confidence,
            created_at=now,
            expires_at=self.approvals.expires_at(now),
            wallet=trade.wallet,
            expected_fee_usd=(sizing.shares * fee_ps).quantize(Decimal("0.000001")),
            market_question=market.question,
        )
        decision = self.risk.check(intent, view, market)
        numbers["risk"] = {"verdict": decision.verdict.value, "reason": decision.reason}
        if decision.verdict is Verdict.REJECT:
            return None, f"risk: {decision.reason}"
        if decision.verdict is Verdict.REDUCE:
            intent = _with(
                intent,
                shares=decision.shares,
                usd=(decision.shares * limit).quantize(Decimal("0.000001")),
            )
        return intent, decision.reason or f"sized {intent.shares} shares (Kelly)"

    def _exit_intent(
        self, signal: Signal, trade: WhaleTrade, market: Market, book: BookLike, held: Decimal
    ) -> TradeIntent:
        now = self.clock.now()
        bid = book.best_bid or trade.price
        limit = max(market.tick_size, bid - self.settings.order_slippage_cap)
        return TradeIntent(
            id=_short_id("int"),
            signal_id=signal.id,
            token_id=trade.token_id,
            condition_id=market.condition_id,
            outcome=trade.outcome,
            side=Side.SELL,
            shares=held,
            limit_price=limit.quantize(market.tick_size),
            sized_price=bid,
            usd=(held * bid).quantize(Decimal("0.000001")),
            whale_price=trade.price,
            confidence=signal.confidence,
            created_at=now,
            expires_at=self.approvals.expires_at(now),
            wallet=trade.wallet,
            market_question=market.question,
        )

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
                    False, f"refused by risk: {decision.reason}", done, [_decision(done, "risk")]
                )
            shares = decision.shares if decision.verdict is Verdict.REDUCE else None
            done = self.approvals.decide(
                intent_id, IntentStatus.APPROVED, decision.reason or "approved", now, shares
            )
        except ApprovalError as exc:
            return Outcome(False, str(exc), self.approvals.get(intent_id))
        return Outcome(True, decision.reason or "approved", done, [_decision(done, "approve")])

    def reject(self, intent_id: str, reason: str) -> Outcome:
        """Reject a pending intent."""
        try:
            done = self.approvals.decide(intent_id, IntentStatus.REJECTED, reason, self.clock.now())
        except ApprovalError as exc:
            return Outcome(False, str(exc), self.approvals.get(intent_id))
        return Outcome(True, f"rejected {intent_id}", done, [_decision(done, "reject")])

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
        return KillResult(rejected, [_decision(i, "kill") for i in rejected])

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
        """Queue, wallet scores and risk flags, JSON-able."""
        return {
            "intents": self.approvals.export(),
            "wallets": self.scorer.export(),
            "risk": self.risk.to_record(),
        }

    def restore_state(self, state: dict[str, Any], now: datetime) -> list[TradeIntent]:
        """Resume after a restart; returns intents that came back expired."""
        self.scorer.restore(state.get("wallets", {}))
        self.risk.from_record(state.get("risk", {}))
        return self.approvals.restore(state.get("intents", []), now)


def _limit_price(avg: Decimal, slippage_cap: Decimal, tick: Decimal) -> Decimal:
    """Worst price we accept: the sized average plus the slippage cap, on the tick grid."""
    raw = min(Decimal("0.99"), avg + slippage_cap)
    return floor_to(raw, tick)


def _decision(intent: TradeIntent, action: str) -> Record:
    return (
        "decision",
        intent.id,
        {
            "intent_id": intent.id,
            "action": action,
            "status": intent.status.value,
            "reason": intent.reason,
            "shares": intent.shares,
        },
    )


def _with(obj: Any, **changes: Any) -> Any:
    return replace(obj, **changes)
