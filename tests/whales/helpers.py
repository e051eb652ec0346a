"""Synthetic histories for profile tests: seeded, with known edges."""

from __future__ import annotations

import random
from decimal import Decimal as D

from polytui.model import Role, Side
from polytui.model.history import HistoryTrade, Resolution
from polytui.whales.bets import MarketFacts

T0 = 1_780_000_000_000  # ms
HOUR_MS = 3_600_000


def wallet(n: int) -> str:
    return f"0x{n:040x}"


def condition(n: int) -> str:
    return f"0x{n:064x}"


def fill(
    who: str,
    market: int,
    *,
    price: str,
    shares: str = "10",
    side: Side = Side.BUY,
    index: int = 0,
    ts_ms: int = T0,
    role: Role = Role.TAKER,
    tx: str = "",
    outcome: str = "",
) -> HistoryTrade:
    return HistoryTrade(
        wallet=who,
        token_id=f"{market}-{index}",
        condition_id=condition(market),
        side=side,
        price=D(price),
        shares=D(shares),
        ts_ms=ts_ms,
        tx_hash=tx or f"0x{market:x}{ts_ms:x}{index}",
        outcome=outcome or ("Yes" if index == 0 else "No"),
        outcome_index=index,
        role=role,
    )


def settle(market: int, winner: int, at_ms: int) -> Resolution:
    payouts = (D(1), D(0)) if winner == 0 else (D(0), D(1))
    return Resolution(condition(market), payouts, at_ms)


def world(
    who: str,
    n_markets: int,
    *,
    seed: int,
    true_edge: float = 0.0,
    category: str = "Politics",
    first_market: int = 0,
    price_range: tuple[float, float] = (0.2, 0.8),
    fills_per_market: int = 1,
) -> tuple[list[HistoryTrade], dict[str, Resolution], dict[str, MarketFacts]]:
    """``n_markets`` buys of outcome 0; it wins with probability price + true_edge."""
    rng = random.Random(seed)
    trades: list[HistoryTrade] = []
    resolutions: dict[str, Resolution] = {}
    facts: dict[str, MarketFacts] = {}
    for k in range(n_markets):
        m = first_market + k
        price = round(rng.uniform(*price_range), 2)
        ts = T0 + k * HOUR_MS
        for j in range(fills_per_market):
            trades.append(fill(who, m, price=f"{price:.2f}", ts_ms=ts + j * 1000, role=Role.MAKER))
        won = rng.random() < min(1.0, price + true_edge)
        resolutions[condition(m)] = settle(m, 0 if won else 1, ts + 12 * HOUR_MS)
        facts[condition(m)] = MarketFacts(condition(m), category=category)
    return trades, resolutions, facts
