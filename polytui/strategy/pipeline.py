"""The strategy facade the engine calls: trade in, signal (and maybe a sized intent) out.

Every answer carries journal records ``(kind, ref, payload)`` with the numbers and reasons that
decided it, so "why did (or didn't) it copy that trade?" always has an answer in the journal.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from polytui.amounts import floor_to
from polytui.clock import Clock
from polytui.display import money
from polytui.display import price as fmt_price
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
from polytui.strategy.capital import ROOM_LIMITS, Capital
from polytui.strategy.clusters import ClusterDetector
from polytui.strategy.dedup import Dedup
from polytui.strategy.edge import market_kind
from polytui.strategy.risk import RiskGuard, worst_fee_per_share
from polytui.strategy.scoring import WalletScorer
from polytui.strategy.sizing import NetEdge, cluster_boost, net_edge, size_trade, time_left_s

Record = tuple[str, str, dict[str, Any]]
PROBES = 10_000  # latency-tax samples waiting for their moment, at most


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
        kind = _kind(market)
        schedule = market.fee_schedule if market is not None else None
        best_ask = book.best_ask if book is not None else None
        best_bid = book.best_bid if book is not None else None
        if not trade.condition_id and market is not None:
            trade = _with(trade, condition_id=market.condition_id)
        self.scorer.observe(
            trade,
            kind=kind,
            whale_fee=trade.fee_usd / trade.shares if trade.shares > 0 else ZERO,
        )
        if trade.side is Side.BUY and age_s <= st.max_trade_age_s:
            # The latency tax is read off the book when a copy sent now would reach it (not
            # for a trade caught up long after: its price is history).
            due = self.clock.monotonic() + self.settings.paper.latency_ms / 1000
            self._probes.append((due, trade.wallet, kind, trade.token_id, trade.price, schedule))
        wallets = self.clusters.add(trade)
        if not self.clusters.is_cluster(wallets):
            wallets = (trade.wallet.lower(),)
        whale = self.scorer.whale_edge(trade.wallet)
        signal = Signal(
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
            "cluster": list(wallets),
            "best_ask": best_ask,
            "best_bid": best_bid,
            "source": trade.source.value,
            "latency_ms": trade.latency_ms,
            "tx_hash": trade.tx_hash,
            "shares": trade.shares,
        }
        numbers["age_s"] = int(age_s)
        limit_s = st.max_trade_age_s
        if max_age_s is not None:
            limit_s = max(limit_s, max_age_s)
        intent, why = (None, "duplicate of a recent signal")
        if age_s > limit_s:
            why = f"trade is {int(age_s)} s old (at most {int(limit_s)} s are copied)"
        elif is_new:
            intent, why = self._maybe_intent(signal, trade, market, book, view, numbers)
        status = SignalStatus.PENDING if intent is not None else SignalStatus.OBSERVED
        p_win = numbers.get("p_win")
        signal = _with(
            signal,
            status=status,
            reason=why,
            confidence=max(ZERO, min(Decimal(1), p_win)) if p_win is not None else ZERO,
        )
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
            return None, f"unwatched wallet, trade below {money(min_usd)}"
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
        risk = self.settings.risk
        if not risk.min_entry_price <= book.best_ask <= risk.max_entry_price:
            return None, f"price {fmt_price(book.best_ask)} outside the entry band"
        # Probe the book with a nominal max-bet size to price the walk, then size precisely.
        probe_shares = max(market.min_order_size, (st.max_bet_usd / book.best_ask).quantize(ZERO))
        walk = book.walk(Side.BUY, probe_shares)
        avg = walk.avg_price or book.best_ask
        schedule = market.fee_schedule
        fee_ps = schedule.per_share(avg) if schedule is not None else ZERO
        edge = self._net_edge(trade, signal.wallets, _kind(market), fee_ps, avg - book.best_ask)
        numbers["edge"] = _edge_record(edge)
        numbers["net_edge"] = edge.net
        sizing = size_trade(
            net=edge.net,
            avg_price=avg,
            fee_per_share=fee_ps,
            cash=view.cash_usd,
            margin=st.min_net_edge,
            kelly_mult=st.kelly_fraction,
            kelly_cap=st.kelly_cap,
            max_bet_usd=st.max_bet_usd,
            min_shares=market.min_order_size,
        )
        numbers.update({"p_win": sizing.p, "cost_per_share": sizing.cost, "kelly": sizing.fraction})
        if sizing.shares <= 0:
            return None, f"{sizing.reason}: {edge.describe()}"
        limit = _limit_price(avg, self.settings.order_slippage_cap, market.tick_size)
        per_usd = (edge.net / sizing.cost).quantize(Decimal("0.0001"))
        numbers["edge_per_usd"] = per_usd
        numbers["edge"]["per_usd"] = per_usd
        intent = TradeIntent(
            id=new_id("int"),
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
            confidence=min(Decimal(1), sizing.p).quantize(Decimal("0.0001")),
            created_at=now,
            expires_at=self.approvals.expires_at(now),
            wallet=trade.wallet,
            expected_fee_usd=(sizing.shares * fee_ps).quantize(Decimal("0.000001")),
            market_question=market.question,
            whale_edge=edge.whale_edge,
            whale_edge_se=edge.whale_se,
            latency_tax=edge.tax,
            fee_per_share=edge.fee,
            net_edge=edge.net,
        )
        fits, why = self.capital.reserve_fit(
            shares=intent.shares,
            per_share=limit + worst_fee_per_share(market),
            edge_per_usd=per_usd,
            view=view,
            limit_usd=risk.max_total_exposure_usd,
            reserve=st.reserve_share,
            strong=st.strong_edge_per_usd,
        )
        if why and fits < market.min_order_size:
            numbers["refused_for_room"] = "reserve"
            return None, f"{why}, {self.capital.holders(view, trade.token_id)}"
        if why:
            intent = _with(intent, shares=fits, usd=(fits * limit).quantize(Decimal("0.000001")))
        decision = self.risk.check(intent, view, market)
        numbers["risk"] = {"verdict": decision.verdict.value, "reason": decision.reason}
        if decision.verdict is Verdict.REJECT:
            if decision.limit in ROOM_LIMITS:
                numbers["refused_for_room"] = decision.limit
                holders = self.capital.holders(view, trade.token_id)
                return None, f"risk: {decision.reason}, {holders}"
            return None, f"risk: {decision.reason}"
        if decision.verdict is Verdict.REDUCE:
            intent = _with(
                intent,
                shares=decision.shares,
                usd=(decision.shares * limit).quantize(Decimal("0.000001")),
            )
        self.capital.note_entry(trade.token_id, per_usd, market.question)
        sized = decision.reason or why or "sized on Kelly"
        return intent, f"{sized}: {edge.describe()}"

    def _net_edge(
        self,
        trade: WhaleTrade,
        wallets: tuple[str, ...],
        kind: str,
        fee: Decimal,
        spread: Decimal,
    ) -> NetEdge:
        """The copy's net edge: the copied wallet's edge (plus the other informed members'
        share in a cluster), less its latency tax, the fee and the spread."""
        st = self.settings.strategy
        z = st.confidence_z
        whale = self.scorer.whale_edge(trade.wallet)
        boost = ZERO
        if len(wallets) > 1:
            lowers = {w: self.scorer.whale_edge(w).lower(z) for w in wallets}
            boost = cluster_boost(trade.wallet.lower(), lowers, st.cluster_weight)
        tax = self.scorer.tax(trade.wallet, kind)
        return net_edge(whale, tax, fee=fee, spread=max(ZERO, spread), z=z, boost=boost)

    def _exit_intent(
        self, signal: Signal, trade: WhaleTrade, market: Market, book: BookLike, held: Decimal
    ) -> TradeIntent:
        now = self.clock.now()
        bid = book.best_bid or trade.price
        limit = max(market.tick_size, bid - self.settings.order_slippage_cap)
        return TradeIntent(
            id=new_id("int"),
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


def _kind(market: Market | None) -> str:
    if market is None:
        return ""
    fee_type = market.fee_schedule.fee_type if market.fee_schedule is not None else ""
    return market_kind(market.tags, fee_type, market.slug)


def _edge_record(edge: NetEdge) -> dict[str, Decimal]:
    return {
        "whale_edge": edge.whale_edge,
        "whale_edge_se": edge.whale_se,
        "whale_lower": edge.whale_lower,
        "cluster_boost": edge.cluster_boost,
        "latency_tax": edge.tax,
        "latency_tax_se": edge.tax_se,
        "fee": edge.fee,
        "spread": edge.spread,
        "net_edge": edge.net,
        "estimate": edge.estimate,
    }


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
