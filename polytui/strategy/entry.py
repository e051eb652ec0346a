"""From a new signal to a sized intent: the gates, the net edge, Kelly, the reserve, RiskGuard.

:func:`entry_intent` is the strategy's decision for one new signal. Every step that says no
returns ``(None, reason)`` with the numbers it decided on written into ``numbers`` (the signal's
journal payload), so a refusal always names the term or the limit that made it.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any, Protocol

from polytui.amounts import MICRO, floor_to
from polytui.display import money
from polytui.display import price as fmt_price
from polytui.model import (
    ZERO,
    Market,
    PortfolioView,
    Side,
    Signal,
    TradeIntent,
    Verdict,
    WhaleTrade,
    new_id,
)
from polytui.strategy.capital import ROOM_LIMITS
from polytui.strategy.edge import market_kind
from polytui.strategy.parts import StrategyParts
from polytui.strategy.risk import worst_fee_per_share
from polytui.strategy.sizing import NetEdge, cluster_boost, net_edge, size_on, time_left_s

BP = Decimal("0.0001")


class BookLike(Protocol):
    """What the strategy reads from an order book."""

    stale: bool

    @property
    def best_bid(self) -> Decimal | None: ...

    @property
    def best_ask(self) -> Decimal | None: ...

    def walk(self, side: Side, shares: Decimal, limit_price: Decimal | None = None) -> Any: ...


def kind_of(market: Market | None) -> str:
    """The kind of market a latency tax is learned for ("" without metadata)."""
    if market is None:
        return ""
    fee_type = market.fee_schedule.fee_type if market.fee_schedule is not None else ""
    return market_kind(market.tags, fee_type, market.slug)


def entry_intent(
    strategy: StrategyParts,
    signal: Signal,
    trade: WhaleTrade,
    market: Market | None,
    book: BookLike | None,
    view: PortfolioView,
    numbers: dict[str, Any],
) -> tuple[TradeIntent | None, str]:
    """The intent for a new signal, or None with the reason."""
    refused = _gate(strategy, trade, market, book, view)
    if refused is not None:
        return None, refused
    assert market is not None and book is not None and book.best_ask is not None
    if trade.side is Side.SELL:
        held = view.shares_by_token.get(trade.token_id, ZERO)
        if not strategy.settings.strategy.copy_whale_sells or held <= 0:
            return None, "whale sold; copying sells is off" if held > 0 else "whale sold"
        return exit_intent(strategy, signal, trade, market, book, held), "copying the whale's exit"
    risk = strategy.settings.risk
    if not risk.min_entry_price <= book.best_ask <= risk.max_entry_price:
        return None, f"price {fmt_price(book.best_ask)} outside the entry band"
    intent, edge, why = _sized(strategy, signal, trade, market, book, view, numbers)
    if intent is None:
        return None, why
    return _fit(strategy, intent, edge, trade, market, view, numbers)


def _gate(
    strategy: StrategyParts,
    trade: WhaleTrade,
    market: Market | None,
    book: BookLike | None,
    view: PortfolioView,
) -> str | None:
    """Why this trade cannot be copied at all (None when it may be)."""
    if strategy.approvals.policy_for(trade.wallet) == "observe":
        return "observe policy for this wallet"
    min_usd = strategy.settings.whales.min_trade_usd
    if not strategy.watches(trade.wallet) and trade.usd < min_usd:
        return f"unwatched wallet, trade below {money(min_usd)}"
    if market is None:
        return "no market metadata yet"
    if market.unsupported:
        return f"not supported: {market.unsupported}"
    if book is None or book.stale or book.best_ask is None:
        return "no live order book"
    left = time_left_s(market, view.now)
    if left is not None and left < strategy.settings.risk.min_time_to_resolution_s:
        return f"resolves in {max(0, int(left))} s"
    return None


def _sized(
    strategy: StrategyParts,
    signal: Signal,
    trade: WhaleTrade,
    market: Market,
    book: BookLike,
    view: PortfolioView,
    numbers: dict[str, Any],
) -> tuple[TradeIntent | None, NetEdge, str]:
    """The buy sized on Kelly at its net edge (None with the reason when it is no trade)."""
    st = strategy.settings.strategy
    ask = book.best_ask
    assert ask is not None
    # Probe the book with a nominal max-bet size to price the walk, then size precisely.
    probe_shares = max(market.min_order_size, (st.max_bet_usd / ask).quantize(ZERO))
    walk = book.walk(Side.BUY, probe_shares)
    avg = walk.avg_price or ask
    schedule = market.fee_schedule
    fee_ps = schedule.per_share(avg) if schedule is not None else ZERO
    edge = copy_net_edge(strategy, trade, signal.wallets, kind_of(market), fee_ps, avg - ask)
    numbers["edge"] = edge_record(edge)
    numbers["net_edge"] = edge.net
    sizing = size_on(
        st,
        net=edge.net,
        avg_price=avg,
        fee_per_share=fee_ps,
        cash=view.cash_usd,
        min_shares=market.min_order_size,
    )
    numbers.update({"p_win": sizing.p, "cost_per_share": sizing.cost, "kelly": sizing.fraction})
    if sizing.shares <= 0:
        return None, edge, f"{sizing.reason}: {edge.describe()}"
    limit = limit_price(avg, strategy.settings.order_slippage_cap, market.tick_size)
    per_usd = (edge.net / sizing.cost).quantize(BP)
    numbers["edge_per_usd"] = per_usd
    numbers["edge"]["per_usd"] = per_usd
    now = view.now
    intent = TradeIntent(
        id=new_id("int"),
        signal_id=signal.id,
        token_id=trade.token_id,
        condition_id=market.condition_id,
        outcome=trade.outcome,
        side=Side.BUY,
        shares=sizing.shares,
        limit_price=limit,
        sized_price=avg.quantize(BP),
        usd=(sizing.shares * limit).quantize(MICRO),
        whale_price=trade.price,
        confidence=min(Decimal(1), sizing.p).quantize(BP),
        created_at=now,
        expires_at=strategy.approvals.expires_at(now),
        wallet=trade.wallet,
        expected_fee_usd=(sizing.shares * fee_ps).quantize(MICRO),
        market_question=market.question,
        whale_edge=edge.whale_edge,
        whale_edge_se=edge.whale_se,
        latency_tax=edge.tax,
        fee_per_share=edge.fee,
        net_edge=edge.net,
    )
    return intent, edge, ""


def _fit(
    strategy: StrategyParts,
    intent: TradeIntent,
    edge: NetEdge,
    trade: WhaleTrade,
    market: Market,
    view: PortfolioView,
    numbers: dict[str, Any],
) -> tuple[TradeIntent | None, str]:
    """The sized buy under the reserve and RiskGuard: kept, reduced or refused for room."""
    st, risk = strategy.settings.strategy, strategy.settings.risk
    capital = strategy.capital
    per_usd = numbers["edge_per_usd"]
    limit = intent.limit_price
    fits, why = capital.reserve_fit(
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
        return None, f"{why}, {capital.holders(view, trade.token_id)}"
    if why:
        intent = replace(intent, shares=fits, usd=(fits * limit).quantize(MICRO))
    decision = strategy.risk.check(intent, view, market)
    numbers["risk"] = {"verdict": decision.verdict.value, "reason": decision.reason}
    if decision.verdict is Verdict.REJECT:
        if decision.limit in ROOM_LIMITS:
            numbers["refused_for_room"] = decision.limit
            return None, f"risk: {decision.reason}, {capital.holders(view, trade.token_id)}"
        return None, f"risk: {decision.reason}"
    if decision.verdict is Verdict.REDUCE:
        intent = replace(
            intent, shares=decision.shares, usd=(decision.shares * limit).quantize(MICRO)
        )
    capital.note_entry(trade.token_id, per_usd, market.question)
    sized = decision.reason or why or "sized on Kelly"
    return intent, f"{sized}: {edge.describe()}"


def copy_net_edge(
    strategy: StrategyParts,
    trade: WhaleTrade,
    wallets: tuple[str, ...],
    kind: str,
    fee: Decimal,
    spread: Decimal,
) -> NetEdge:
    """The copy's net edge: the copied wallet's edge (plus the other informed members'
    share in a cluster), less its latency tax, the fee and the spread."""
    st = strategy.settings.strategy
    scorer = strategy.scorer
    z = st.confidence_z
    whale = scorer.whale_edge(trade.wallet)
    boost = ZERO
    if len(wallets) > 1:
        lowers = {w: scorer.whale_edge(w).lower(z) for w in wallets}
        boost = cluster_boost(trade.wallet.lower(), lowers, st.cluster_weight)
    tax = scorer.tax(trade.wallet, kind)
    return net_edge(whale, tax, fee=fee, spread=max(ZERO, spread), z=z, boost=boost)


def exit_intent(
    strategy: StrategyParts,
    signal: Signal,
    trade: WhaleTrade,
    market: Market,
    book: BookLike,
    held: Decimal,
) -> TradeIntent:
    """Sell everything held of the token at the bid, less the slippage cap."""
    now = strategy.clock.now()
    bid = book.best_bid or trade.price
    limit = max(market.tick_size, bid - strategy.settings.order_slippage_cap)
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
        usd=(held * bid).quantize(MICRO),
        whale_price=trade.price,
        confidence=signal.confidence,
        created_at=now,
        expires_at=strategy.approvals.expires_at(now),
        wallet=trade.wallet,
        market_question=market.question,
    )


def edge_record(edge: NetEdge) -> dict[str, Decimal]:
    """The terms of a net edge, for the signal's journal payload."""
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


def limit_price(avg: Decimal, slippage_cap: Decimal, tick: Decimal) -> Decimal:
    """Worst price we accept: the sized average plus the slippage cap, on the tick grid."""
    raw = min(Decimal("0.99"), avg + slippage_cap)
    return floor_to(raw, tick)
