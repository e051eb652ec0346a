"""A seeded, deterministic console scenario: signals, intents, positions, feeds, P&L and risk.

Snapshot tests, the screenshot script and the UI benchmark all draw this scenario through a
:class:`~polytui.tui.fake.FakeEngine` with a frozen clock, so every run renders the same frame.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from polytui.clock import FakeClock
from polytui.model import (
    FeedState,
    FeedStatus,
    IntentStatus,
    LimitUse,
    PnLSnapshot,
    Position,
    RiskSnapshot,
    Side,
    Signal,
    SignalStatus,
    TradeIntent,
    TradeSource,
    WhaleTrade,
    usd,
)
from polytui.tui.fake import FakeEngine

SEED = 7
SCENARIO_START = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)

MARKETS = (
    ("Will the Fed cut rates at the December meeting?", "Yes"),
    ("Bitcoin above $120,000 on December 31?", "No"),
    ("Celtics beat the Knicks on Nov 24?", "Celtics"),
    ("Will it snow in New York City on Nov 25?", "No"),
    ("Eagles win Super Bowl LXI?", "Yes"),
    ("Ethereum ETF net inflows above $1B in November?", "Yes"),
    ("Will Taylor Swift announce a new album in 2026?", "No"),
    ("Oilers vs Flames: Oilers win on Nov 24?", "Oilers"),
    ("US GDP Q4 growth above 2.0%?", "Yes"),
    ("Will SpaceX launch Starship again before Dec 15?", "Yes"),
)

WALLETS = (
    "0x7c3a9f2e51b4d8a6c0e9f13b5d7a2c4e6f8a1b3d",
    "0x1f9e8d7c6b5a49382716a5b4c3d2e1f0a9b8c7d6",
    "0xa4b5c6d7e8f90123456789abcdef0123456789ab",
    "0x5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f",
    "0x9d8c7b6a5f4e3d2c1b0a99887766554433221100",
)
ALIASES = {
    WALLETS[0]: "whale-a",
    WALLETS[1]: "whale-b",
    WALLETS[2]: "fedwatcher",
    WALLETS[3]: "nba-sharp",
}

STATUSES = (
    SignalStatus.FILLED,
    SignalStatus.OBSERVED,
    SignalStatus.REJECTED,
    SignalStatus.EXPIRED,
    SignalStatus.OBSERVED,
    SignalStatus.FILLED,
)
REASONS = {
    SignalStatus.FILLED: "filled 12.5 @ 0.47 (slippage 1.0¢)",
    SignalStatus.REJECTED: "risk: market exposure 15.00 reached",
    SignalStatus.EXPIRED: "TTL passed before approval",
    SignalStatus.OBSERVED: "confidence below 60%",
}


def _token(index: int) -> str:
    return f"{7100000000000000000000 + index * 7919}"


def _condition(index: int) -> str:
    return f"0x{index:02x}" + "c0de" * 15


def _price(rng: random.Random, low: int = 8, high: int = 92) -> Decimal:
    return Decimal(rng.randint(low, high)) / 100


def build_signal(rng: random.Random, index: int, at: datetime, status: SignalStatus) -> Signal:
    """One scored signal from one or more seeded whale trades."""
    market_index = index % len(MARKETS)
    question, outcome = MARKETS[market_index]
    whale_price = _price(rng)
    cluster = 1 if rng.random() < 0.7 else rng.randint(2, 4)
    wallets = tuple(WALLETS[(index + k) % len(WALLETS)] for k in range(cluster))
    source = (TradeSource.CHAIN, TradeSource.ACTIVITY, TradeSource.DATAAPI)[index % 3]
    latency_ms = {TradeSource.CHAIN: 900, TradeSource.ACTIVITY: 2100, TradeSource.DATAAPI: 9000}
    trades = tuple(
        WhaleTrade(
            wallet=wallet,
            token_id=_token(market_index),
            side=Side.BUY,
            price=whale_price,
            shares=Decimal(rng.randint(800, 20_000)),
            usd=usd(whale_price * rng.randint(800, 20_000)),
            tx_hash=f"0x{index:04x}{k:02x}" + "ab" * 29,
            source=source,
            match_time=at - timedelta(milliseconds=latency_ms[source] + 37 * index),
            received_at=at,
            condition_id=_condition(market_index),
            outcome=outcome,
            title=question,
        )
        for k, wallet in enumerate(wallets)
    )
    return Signal(
        id=f"sig-{index:04d}",
        created_at=at,
        token_id=_token(market_index),
        condition_id=_condition(market_index),
        outcome=outcome,
        side=Side.BUY,
        whale_price=whale_price,
        usd=sum((t.usd for t in trades), Decimal(0)),
        confidence=Decimal(rng.randint(45, 95)) / 100,
        wallets=wallets,
        trades=trades,
        status=status,
        reason=REASONS.get(status, ""),
        market_question=question,
        current_price=min(Decimal("0.99"), whale_price + Decimal(rng.randint(-2, 3)) / 100),
    )


def build_intent(signal: Signal, index: int, now: datetime, ttl_s: float) -> TradeIntent:
    """A pending copy trade sized off ``signal``."""
    sized = min(Decimal("0.99"), signal.whale_price + Decimal("0.01"))
    shares = Decimal(10 + 5 * index)
    return TradeIntent(
        id=f"int-{index:04d}",
        signal_id=signal.id,
        token_id=signal.token_id,
        condition_id=signal.condition_id,
        outcome=signal.outcome,
        side=signal.side,
        shares=shares,
        limit_price=sized + Decimal("0.02"),
        sized_price=sized,
        usd=usd(shares * sized),
        whale_price=signal.whale_price,
        confidence=signal.confidence,
        created_at=now - timedelta(seconds=4),
        expires_at=now + timedelta(seconds=ttl_s),
        status=IntentStatus.PENDING,
        wallet=signal.wallets[0],
        expected_fee_usd=usd(shares * Decimal("0.0025")),
        market_question=signal.market_question,
        whale_edge=Decimal("0.081") + Decimal(index) / 1000,
        whale_edge_se=Decimal("0.024"),
        latency_tax=Decimal("0.012"),
        fee_per_share=Decimal("0.0025"),
        net_edge=Decimal("0.031") + Decimal(index) / 1000,
    )


def build_positions(rng: random.Random, now: datetime) -> list[Position]:
    """Positions resolving in 30 min (urgent), hours (soon), days, and one awaiting resolution."""
    ends = (
        timedelta(minutes=30),
        timedelta(hours=5),
        timedelta(hours=20),
        timedelta(days=3, hours=4),
        timedelta(days=12),
        timedelta(minutes=-25),
    )
    positions = []
    for k, delta in enumerate(ends):
        market_index = (k * 3 + 1) % len(MARKETS)
        question, outcome = MARKETS[market_index]
        avg = _price(rng, 20, 80)
        shares = Decimal(rng.randint(10, 40))
        mark = avg + Decimal(rng.randint(-8, 9)) / 100
        positions.append(
            Position(
                token_id=_token(100 + k),
                condition_id=_condition(100 + k),
                outcome=outcome,
                shares=shares,
                avg_price=avg,
                cost_usd=usd(shares * avg),
                fees_usd=usd(shares * Decimal("0.002")),
                end_time=now + delta,
                market_question=question,
                mark_price=mark,
                mid_price=mark + Decimal("0.005"),
                opened_at=now - timedelta(days=1),
            )
        )
    # Published the way the engine does: soonest resolution first.
    positions.sort(key=lambda p: p.end_time or now)
    return positions


def build_feeds() -> tuple[FeedStatus, ...]:
    """Four feeds, one of them stale."""
    return (
        FeedStatus("clob", FeedState.LIVE, True, 0.2, 48_211, 3, 1, 2, 41.0, 212.4),
        FeedStatus("activity", FeedState.LIVE, True, 1.3, 9_874, 0, 0, 1, 2_050.0, 18.2),
        FeedStatus("chain", FeedState.DEGRADED, True, 47.0, 1_204, 0, 3, 4, 880.0, 0.0, "silent"),
        FeedStatus("dataapi", FeedState.LIVE, True, 6.0, 311, 1, 0, 1, 240.0, 0.1),
    )


def build_risk(now: datetime) -> RiskSnapshot:
    """Limits at various levels of use."""
    return RiskSnapshot(
        limits=(
            LimitUse("total exposure", Decimal("38.40"), Decimal(50)),
            LimitUse("market exposure", Decimal("14.10"), Decimal(15)),
            LimitUse("daily loss", Decimal("4.25"), Decimal(20)),
            LimitUse("open positions", Decimal(6), Decimal(10), unit="count"),
        ),
        taken_at=now,
    )


def build_pnl(rng: random.Random) -> PnLSnapshot:
    """Totals plus a seeded equity random walk for the sparkline."""
    equity = Decimal(100)
    history = []
    for _ in range(90):
        equity += Decimal(rng.randint(-60, 75)) / 100
        history.append(equity)
    return PnLSnapshot(
        cash_usd=Decimal("61.60"),
        equity_usd=equity,
        realized_usd=Decimal("3.85"),
        unrealized_usd=equity - Decimal("100") - Decimal("3.85"),
        today_usd=Decimal("-1.42"),
        fees_usd=Decimal("0.61"),
        wins=7,
        losses=4,
        avg_latency_tax_cents=Decimal("1.3"),
        equity_history=tuple(history),
    )


def build_scenario(
    clock: FakeClock | None = None,
    *,
    seed: int = SEED,
    signals: int = 16,
    pending: int = 3,
    mode: str = "paper",
    demo: bool = False,
) -> FakeEngine:
    """A FakeEngine holding the whole seeded scenario (state only; nothing is published)."""
    clock = clock or FakeClock(SCENARIO_START)
    now = clock.now()
    rng = random.Random(seed)
    engine = FakeEngine(clock, mode=mode, demo=demo)
    for index in range(signals):
        at = now - timedelta(seconds=37 * (signals - index))
        status = STATUSES[index % len(STATUSES)]
        signal = build_signal(rng, index, at, status)
        engine.signals[signal.id] = signal
    newest = list(engine.signals.values())[-pending:] if pending else []
    for k, signal in enumerate(newest):
        pending_signal = replace(signal, status=SignalStatus.PENDING, reason="waiting for approval")
        engine.signals[signal.id] = pending_signal
        intent = build_intent(pending_signal, k, now, ttl_s=12 + 9 * k)
        engine.intents[intent.id] = intent
    engine.positions = build_positions(rng, now)
    engine.feeds = build_feeds()
    engine.risk = build_risk(now)
    engine.pnl = build_pnl(rng)
    return engine


def build_dense(clock: FakeClock | None = None, *, mode: str = "paper") -> FakeEngine:
    """The scenario a busy session looks like: 60 signals, five pending trades of which two
    are in one market (one where a position is also held), every resolution bucket, a stale
    feed and the on-demand gamma source."""
    clock = clock or FakeClock(SCENARIO_START)
    engine = build_scenario(clock, signals=60, pending=4, mode=mode)
    now = clock.now()
    first = engine.intents["int-0000"]
    twin = replace(
        first,
        id="int-0004",
        shares=first.shares + Decimal(7),
        usd=usd((first.shares + Decimal(7)) * first.sized_price),
        created_at=first.created_at + timedelta(seconds=2),
        expires_at=now + timedelta(seconds=48),
        wallet=WALLETS[1],
    )
    engine.intents[twin.id] = twin
    held = engine.positions[0]
    engine.positions[0] = replace(
        held, condition_id=first.condition_id, market_question=first.market_question
    )
    gamma = FeedStatus("gamma", FeedState.LIVE, True, 95.0, 212, 0, 0, 0, None, 0.0)
    engine.feeds = (*engine.feeds, gamma)
    return engine
