"""Prices are probabilities: over 10,000+ simulated markets, a price of p wins p of the time."""

from __future__ import annotations

import random
from collections import defaultdict

from polytui.sim.worlds import build_world, parse_spec

# 200 short markets open at once, replaced as they resolve: 40,000 markets in 4.2 sim hours,
# with the public information moved by noise, herd clusters and a fast informed wallet's leaks.
SPEC = {
    "name": "calibration",
    "hours": 4.2,
    "markets": [
        {
            "name": "short",
            "count": 200,
            "duration_s": [30, 120],
            "prior": [0.03, 0.97],
            "depth": 3000,
            "frontrun": 0.2,
            "fee": "crypto_fees_15m",
        }
    ],
    "whales": [
        {"archetype": "noise", "count": 40, "usd": [50, 1500], "every_s": 20},
        {"archetype": "herd", "count": 5, "members": 3, "every_s": 300, "window_s": 30},
        {"archetype": "informed_fast", "count": 3, "every_s": 60, "accuracy": 0.8},
    ],
}


def _bins(pairs: list[tuple[float, bool]]) -> dict[int, tuple[int, float, float]]:
    acc: dict[int, list[tuple[float, bool]]] = defaultdict(list)
    for price, won in pairs:
        acc[min(9, int(price * 10))].append((price, won))
    return {
        b: (len(v), sum(p for p, _ in v) / len(v), sum(w for _, w in v) / len(v))
        for b, v in acc.items()
    }


def test_quotes_and_uninformed_trades_win_as_often_as_their_price_says() -> None:
    world = build_world(parse_spec(SPEC), seed=3)
    assert len(world.markets) >= 30_000
    rng = random.Random(1)
    quotes: list[tuple[float, bool]] = []
    for m in world.markets:
        for _ in range(2):
            t = rng.uniform(max(0.0, m.start_s), m.end_s)
            token = rng.choice((m.yes_token, m.no_token))
            quotes.append((world.price(token, t), token == m.winner))
    uninformed = {w.wallet for w in world.wallets if w.archetype in ("noise", "herd")}
    trades = [
        (float(tr.price), tr.token_id == world.markets[tr.market].winner)
        for tr in world.trades
        if tr.wallet in uninformed
    ]
    assert len(trades) > 10_000
    for name, pairs in (("quotes", quotes), ("trades", trades)):
        bins = _bins(pairs)
        assert len(bins) == 10, (name, sorted(bins))
        for b, (n, mean_price, win_rate) in sorted(bins.items()):
            assert n >= 300, (name, b, n)
            assert abs(win_rate - mean_price) <= 0.03, (name, b, n, mean_price, win_rate)


def test_the_public_price_converges_to_the_winner_at_the_end() -> None:
    world = build_world(parse_spec(SPEC), seed=4, hours=0.5)
    ended = [m for m in world.markets if 0 < m.end_s < world.horizon_s]
    assert ended
    for m in ended:
        assert world.price(m.winner, m.end_s) == 1.0
        loser = m.no_token if m.winner == m.yes_token else m.yes_token
        assert world.price(loser, m.end_s) == 0.0
    # Just before the end the price is already close to the truth in most markets.
    close = sum(world.price(m.winner, m.end_s - 3.0) > 0.9 for m in ended)
    assert close / len(ended) > 0.8
