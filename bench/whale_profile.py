"""Profiling one wallet: 10,000 fills (with their markets' tapes) → a full profile.

The history is synthetic and seeded: 10,000 fills over 2,500 markets in eight categories, a
third of them maker fills, a fee schedule on half the markets, every market settled, and a tape
of 12 prints after each fill (120,000 prints). Network and parsing are excluded: the figure is
the process CPU time of ``build_profile`` (record, breakdowns, playbooks, copyability at four
delays), best of three. Target: ≤ 2 s on one core.

Run: ``python -m bench.whale_profile`` (``--smoke``: 1,000 fills, one run).
"""

from __future__ import annotations

import random
import time
from decimal import Decimal
from typing import Any

from polytui.model import FeeSchedule, Role, Side
from polytui.model.history import HistoryTrade, Resolution
from polytui.whales.bets import MarketFacts
from polytui.whales.copyability import tapes_by_token
from polytui.whales.profile import build_profile

FILLS = 10_000
MARKETS = 2_500
SMOKE_FILLS = 1_000
SMOKE_MARKETS = 250
PRINTS_PER_FILL = 12
RUNS = 3
T0_MS = 1_780_000_000_000
CATEGORIES = ("Politics", "Sports", "Crypto", "Weather", "Tech", "Culture", "Finance", "Mentions")
WALLET = "0x" + "5a" * 20


def history(
    seed: int = 20, fills: int = FILLS, markets: int = MARKETS
) -> tuple[list[HistoryTrade], dict[str, Resolution], dict[str, MarketFacts], list[HistoryTrade]]:
    """A seeded history (10,000 fills by default) with its settlements, facts and tapes."""
    rng = random.Random(seed)
    fees = FeeSchedule(rate=Decimal("0.07"), exponent=1)
    trades: list[HistoryTrade] = []
    prints: list[HistoryTrade] = []
    resolutions: dict[str, Resolution] = {}
    facts: dict[str, MarketFacts] = {}
    for m in range(markets):
        cid = f"0x{m:064x}"
        winner = rng.randrange(2)
        end = T0_MS + m * 600_000 + rng.randrange(1, 14 * 86_400_000)
        resolutions[cid] = Resolution(
            cid, (Decimal(1), Decimal(0)) if winner == 0 else (Decimal(0), Decimal(1)), end
        )
        facts[cid] = MarketFacts(
            cid,
            category=CATEGORIES[m % len(CATEGORIES)],
            fee_schedule=fees if m % 2 else None,
            end_ms=end,
        )
    for i in range(fills):
        m = rng.randrange(markets)
        cid = f"0x{m:064x}"
        index = rng.randrange(2)
        price = Decimal(rng.randrange(3, 98)) / 100
        ts = T0_MS + m * 600_000 + rng.randrange(0, 3_600_000)
        trade = HistoryTrade(
            wallet=WALLET,
            token_id=f"{m}-{index}",
            condition_id=cid,
            side=Side.BUY if rng.random() < 0.8 else Side.SELL,
            price=price,
            shares=Decimal(rng.randrange(5, 5_000)) / 10,
            ts_ms=ts,
            tx_hash=f"0x{i:064x}",
            outcome="Yes" if index == 0 else "No",
            outcome_index=index,
            role=Role.MAKER if i % 3 == 0 else Role.TAKER,
        )
        trades.append(trade)
        for k in range(PRINTS_PER_FILL):
            drift = Decimal(rng.randrange(-3, 4)) / 100
            prints.append(
                HistoryTrade(
                    wallet="0x" + "77" * 20,
                    token_id=trade.token_id,
                    condition_id=cid,
                    side=Side.BUY if k % 3 else Side.SELL,
                    price=min(Decimal("0.99"), max(Decimal("0.01"), price + drift)),
                    shares=Decimal(10),
                    ts_ms=ts + 400 + k * 1_500,
                    tx_hash=f"0xp{i}-{k}",
                )
            )
    return trades, resolutions, facts, prints


def main(argv: list[str]) -> dict[str, Any]:
    """Time ``build_profile`` on the synthetic history; print and return the figures."""
    smoke = "--smoke" in (argv or [])  # make test: a second, figures printed
    fills = SMOKE_FILLS if smoke else FILLS
    trades, resolutions, facts, prints = history(
        fills=fills, markets=SMOKE_MARKETS if smoke else MARKETS
    )
    tapes = tapes_by_token(prints)
    best = float("inf")
    profile = None
    for _ in range(1 if smoke else RUNS):
        started = time.process_time()
        profile = build_profile(
            WALLET, trades, resolutions, now_ms=T0_MS, markets=facts, tapes=tapes
        )
        best = min(best, time.process_time() - started)
    assert profile is not None
    result = {
        "bench": "whale_profile",
        "figures": [
            {
                "figure": "profile a 10,000-fill wallet (CPU)",
                "value": round(best, 3),
                "unit": "s",
                "target": "<= 2 s",
            },
        ],
        "fills": fills,
        "bets": profile.bets,
        "settled": profile.resolved,
        "prints": len(prints),
        "playbooks": len(profile.playbooks),
    }
    print(
        f"profile a {fills:,}-fill wallet: {best:.3f} s CPU (target <= 2 s); "
        f"{profile.bets:,} bets, {len(prints):,} tape prints, "
        f"{len(profile.playbooks)} playbooks"
    )
    return result


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
