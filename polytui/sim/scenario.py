"""Seeded, deterministic scenarios: markets, price paths, whales and their trades.

Everything is a pure function of (scenario name, seed) and *sim time* (seconds since start), so
two runs with the same seed produce the same markets, books and whale trades. Informed whales
buy the eventual winner before the price drifts toward it; noise whales pick sides at random;
clusters put three or more whales on one outcome within a few minutes.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_FLOOR, Decimal

from polytui.sim.onchain import ChainTrade, TwoOutcomes, block_at, token_id, trade_hashes

TICK = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class SimMarket(TwoOutcomes):
    """One binary market of the scenario."""

    index: int
    condition_id: str
    question: str
    slug: str
    yes_token: str
    no_token: str
    end_s: float
    start_price: Decimal
    yes_wins: bool
    fee: dict[str, object] | None
    fee_type: str
    noise_seed: int

    def yes_price(self, t: float) -> Decimal:
        """Deterministic YES mid price at sim time ``t``: drift toward the winner plus noise."""
        if t >= self.end_s:
            return Decimal(1) if self.yes_wins else Decimal(0)
        target = 0.97 if self.yes_wins else 0.03
        start = float(self.start_price)
        progress = max(0.0, min(1.0, t / self.end_s)) ** 2
        drift = start + (target - start) * progress
        step = int(t // 2)
        noise = 0.012 * math.sin(step * 1.7 + self.noise_seed) + 0.008 * math.sin(
            step * 0.37 + self.noise_seed * 3
        )
        value = max(0.03, min(0.97, drift + noise))
        return Decimal(str(round(value, 2)))


@dataclass(frozen=True, slots=True)
class SimWhale:
    """A wallet that trades in the scenario."""

    wallet: str
    alias: str
    skill: float
    watched: bool


@dataclass(frozen=True, slots=True)
class SimTrade(ChainTrade):
    """A whale fill at sim time ``t`` (match time)."""


@dataclass(slots=True)
class Scenario:
    """Markets, whales and the full trade timeline."""

    name: str
    seed: int
    markets: list[SimMarket]
    whales: list[SimWhale]
    trades: list[SimTrade] = field(default_factory=list)

    def market(self, index: int) -> SimMarket:
        """Market by index."""
        return self.markets[index]

    def token_index(self) -> dict[str, tuple[SimMarket, bool]]:
        """token id → (market, is_yes)."""
        out: dict[str, tuple[SimMarket, bool]] = {}
        for m in self.markets:
            out[m.yes_token] = (m, True)
            out[m.no_token] = (m, False)
        return out


def _hex(rng: random.Random, nbytes: int) -> str:
    return "0x" + "".join(f"{rng.randrange(256):02x}" for _ in range(nbytes))


# ``{end_date}`` / ``{end_time}`` are filled from the market's end on the sim's own clock
# (see :func:`dated_question`), so a demo started today never asks about a past date.
QUESTIONS = [
    ("Will BTC be above $98,000 at {end_time} UTC?", "btc-updown-15m"),
    ("Will Spain win on {end_date}?", "fifwc-esp"),
    ("Will the Fed cut rates in December?", "fed-dec-cut"),
    ("Will ETH close the day above $4,000?", "eth-4000"),
    ("Will it rain in London tomorrow?", "london-rain"),
    ("Will the Lakers win tonight?", "nba-lal"),
    ("Will SOL flip BNB by market cap this week?", "sol-bnb"),
]

SCHEDULES: list[tuple[dict[str, object] | None, str]] = [
    ({"exponent": 2, "rate": 0.25, "takerOnly": True, "rebateRate": 0.2}, "crypto_fees_15m"),
    ({"exponent": 1, "rate": 0.05, "takerOnly": True, "rebateRate": 0.15}, "sports_fees_v2"),
    (None, ""),
    ({"exponent": 1, "rate": 0.07, "takerOnly": True, "rebateRate": 0.2}, "crypto_fees_v2"),
    ({"exponent": 1, "rate": 0.05, "takerOnly": True, "rebateRate": 0.25}, "weather_fees"),
    ({"exponent": 1, "rate": 0.05, "takerOnly": True, "rebateRate": 0.15}, "sports_fees_v2"),
    (None, ""),
]

# End times in sim seconds: minutes (so a demo shows resolutions) to days (some inside 24 h).
END_TIMES = {
    "demo": [150.0, 420.0, 3 * 3600.0, 20 * 3600.0, 30 * 3600.0, 6 * 3600.0, 3 * 86400.0],
    "quiet": [1800.0, 7200.0, 86400.0, 3 * 86400.0, 2 * 86400.0, 5 * 3600.0, 4 * 86400.0],
    "chaos": [120.0, 300.0, 3600.0, 20 * 3600.0, 86400.0, 600.0, 3 * 86400.0],
}

SCENARIOS = tuple(END_TIMES)


def dated_question(template: str, end_wall: float) -> str:
    """``template`` with ``{end_date}`` (``2026-12-01``) and ``{end_time}`` (``17:05``) of the
    market's end, a unix time; other text, braces included, is left as it is."""
    if "{end_" not in template:
        return template
    end = datetime.fromtimestamp(end_wall, UTC)
    return template.replace("{end_date}", f"{end:%Y-%m-%d}").replace("{end_time}", f"{end:%H:%M}")


def build_scenario(name: str = "demo", seed: int = 7, horizon_s: float = 3600.0) -> Scenario:
    """The whole scenario for ``seed``, with trades up to ``horizon_s`` sim seconds."""
    if name not in END_TIMES:
        raise ValueError(f"unknown scenario {name!r}; choose one of {', '.join(SCENARIOS)}")
    rng = random.Random(f"{name}:{seed}")
    markets: list[SimMarket] = []
    for i, (question, slug) in enumerate(QUESTIONS):
        fee, fee_type = SCHEDULES[i]
        markets.append(
            SimMarket(
                index=i,
                condition_id=_hex(rng, 32),
                question=question,
                slug=f"{slug}-{seed}",
                yes_token=token_id(rng),
                no_token=token_id(rng),
                end_s=END_TIMES[name][i],
                start_price=Decimal(str(round(rng.uniform(0.35, 0.6), 2))),
                yes_wins=rng.random() < 0.5,
                fee=fee,
                fee_type=fee_type,
                noise_seed=rng.randrange(1000),
            )
        )
    aliases = [
        "whale-alpha",
        "whale-bravo",
        "whale-charlie",
        "whale-delta",
        "noise-echo",
        "noise-fox",
    ]
    skills = [0.85, 0.8, 0.75, 0.7, 0.5, 0.5]
    whales = [SimWhale(_hex(rng, 20), a, s, True) for a, s in zip(aliases, skills, strict=True)]
    whales += [SimWhale(_hex(rng, 20), f"crowd-{i}", 0.5, False) for i in range(6)]
    scenario = Scenario(name, seed, markets, whales)
    scenario.trades = _trades(scenario, rng, horizon_s)
    return scenario


def _trades(scenario: Scenario, rng: random.Random, horizon_s: float) -> list[SimTrade]:
    gap = {"demo": (3.0, 7.0), "quiet": (20.0, 60.0), "chaos": (1.0, 3.0)}[scenario.name]
    trades: list[SimTrade] = []
    t = 1.0
    # A cluster: three informed whales on one market shortly after start, repeating.
    cluster_every = {"demo": 40.0, "quiet": 900.0, "chaos": 60.0}[scenario.name]
    next_cluster = 0.5
    watched = [w for w in scenario.whales if w.watched]
    while t < horizon_s:
        live = [m for m in scenario.markets if m.end_s - t > 60]
        if not live:
            break
        if t >= next_cluster:
            market = rng.choice(live)
            members = rng.sample(watched[:4], 3)
            for k, whale in enumerate(members):
                trades.append(_trade(scenario, rng, whale, market, t + 1.5 * k, True))
            next_cluster += cluster_every
            t += 7
            continue
        whale = rng.choice(scenario.whales)
        market = rng.choice(live)
        informed = rng.random() < whale.skill
        trades.append(_trade(scenario, rng, whale, market, t, informed))
        t += rng.uniform(*gap)
    trades.sort(key=lambda tr: tr.t)
    return trades


def _trade(
    scenario: Scenario,
    rng: random.Random,
    whale: SimWhale,
    market: SimMarket,
    t: float,
    informed: bool,
) -> SimTrade:
    buy_yes = market.yes_wins if informed else rng.random() < 0.5
    token = market.yes_token if buy_yes else market.no_token
    mid = scenario_token_price(market, buy_yes, t)
    price = min(Decimal("0.97"), (mid + TICK).quantize(TICK, rounding=ROUND_FLOOR))
    usd = Decimal(rng.randrange(600, 4000))
    shares = (usd / price).quantize(Decimal("0.01"), rounding=ROUND_FLOOR)
    tx_hash, order_hash = trade_hashes(f"{scenario.seed}:{t}:{whale.wallet}")
    return SimTrade(
        t=t,
        wallet=whale.wallet,
        market=market.index,
        token_id=token,
        outcome="Yes" if buy_yes else "No",
        outcome_index=0 if buy_yes else 1,
        side="BUY",
        price=price,
        shares=shares,
        tx_hash=tx_hash,
        order_hash=order_hash,
        # The block mined at its time, the same clock the server's head follows: a log never
        # names a block beyond the head.
        block=block_at(t),
    )


def scenario_token_price(market: SimMarket, yes: bool, t: float) -> Decimal:
    """Mid price of the YES or NO token of ``market`` at ``t``."""
    p = market.yes_price(t)
    return p if yes else Decimal(1) - p


def book_levels(
    mid: Decimal, depth_seed: int
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """A deterministic book around ``mid``: (bids ascending, asks descending) — worst first."""
    rng = random.Random(depth_seed)
    # Never crossed or locked, as on the CLOB: a mid at 0.99 or above still leaves the bid a tick
    # under the highest ask.
    best_bid = min(1 - 2 * TICK, max(TICK, (mid - TICK).quantize(TICK, rounding=ROUND_FLOOR)))
    best_ask = min(1 - TICK, best_bid + 2 * TICK)
    bids = []
    asks = []
    for k in range(5):
        bid = best_bid - k * TICK
        ask = best_ask + k * TICK
        if bid > 0:
            bids.append((str(bid), str(rng.randrange(50, 900))))
        if ask < 1:
            asks.append((str(ask), str(rng.randrange(50, 900))))
    # PROTOCOL.md §1: levels arrive worst-first.
    return list(reversed(bids)), list(reversed(asks))
