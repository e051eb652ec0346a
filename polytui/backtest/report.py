"""The backtest report: our P&L against the truth and against an oracle, as JSON (every amount
a Decimal written as a string). ``polytui.backtest.render`` draws it as text and a picture."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from polytui.amounts import CENT, MICRO, ZERO
from polytui.backtest.run import RunRecord
from polytui.backtest.world import ScenarioWorld, fee_per_share

MIN_SHARES = Decimal(5)


def _usd(value: Decimal) -> str:
    return str(value.quantize(MICRO))


def _win(world: ScenarioWorld, condition_id: str, token: str) -> Decimal:
    return Decimal(1) if world.winner_of(condition_id) == token else ZERO


def fill_pnl(world: ScenarioWorld, fill: dict[str, Any]) -> Decimal:
    """A fill valued at the true winner, after its fee."""
    shares = Decimal(fill["shares"])
    price = Decimal(fill["avg_price"])
    fee = Decimal(fill["fee_usd"])
    win = _win(world, fill["condition_id"], fill["token_id"])
    sign = 1 if fill["side"] == "BUY" else -1
    return sign * shares * (win - price) - fee


def market_se(by_market: dict[str, Decimal]) -> Decimal:
    """Standard error of a total whose independent units are markets."""
    n = len(by_market)
    if n < 2:
        return ZERO
    values = list(by_market.values())
    mean = sum(values, ZERO) / n
    var = sum(((v - mean) ** 2 for v in values), ZERO) / (n - 1)
    return (var * n).sqrt().quantize(MICRO)


@dataclass(slots=True)
class Book:
    """P&L of a list of fills against the truth, for ours and the oracle alike."""

    fills: list[dict[str, Any]]

    def by_market(self, world: ScenarioWorld) -> dict[str, Decimal]:
        out: dict[str, Decimal] = {}
        for fill in self.fills:
            c = fill["condition_id"]
            out[c] = out.get(c, ZERO) + fill_pnl(world, fill)
        return out

    def curve(self, world: ScenarioWorld, start: Decimal, times: list[float]) -> list[Decimal]:
        """Equity with positions at cost until their market resolves, then at the payout."""
        ends = {m.condition_id: m.end_s for m in world.markets}
        out = []
        for t in times:
            equity = start
            for fill in self.fills:
                if fill["t"] > t:
                    continue
                if ends[fill["condition_id"]] <= t:
                    equity += fill_pnl(world, fill)
                else:
                    equity -= Decimal(fill["fee_usd"])
            out.append(equity.quantize(MICRO))
        return out


def oracle_fills(
    world: ScenarioWorld,
    wallets: set[str],
    *,
    stake_usd: Decimal,
    latency_s: float,
    settings: Any,
) -> list[dict[str, Any]]:
    """Copy every trade of ``wallets`` with a fixed stake, arriving when we do (the feed's delay
    plus the paper latency), walking the book and paying its fee, under the same exposure,
    entry-price and time-to-resolution limits."""
    risk = settings.risk
    start = settings.paper.starting_balance_usd
    ends = {m.condition_id: m for m in world.markets}
    cash = start
    open_cost: dict[str, Decimal] = {}
    fills: list[dict[str, Any]] = []
    for trade in world.trades:
        if trade.wallet not in wallets:
            continue
        t = trade.t + world.rtds_delay_s + latency_s
        if t >= world.horizon_s:
            continue
        for c in [c for c in open_cost if ends[c].end_s <= t]:  # settle what resolved
            cash += sum(
                (
                    Decimal(f["shares"]) * _win(world, c, f["token_id"])
                    for f in fills
                    if f["condition_id"] == c
                ),
                ZERO,
            )
            del open_cost[c]
        market = ends[trade.condition_id]
        if market.end_s - t < risk.min_time_to_resolution_s:
            continue
        asks = world.asks(trade.token_id, t)
        if not asks or not (risk.min_entry_price <= asks[0][0] <= risk.max_entry_price):
            continue
        shares = (stake_usd / asks[0][0]).quantize(CENT, rounding=ROUND_FLOOR)
        cost, fee, got = ZERO, ZERO, ZERO
        for price, size in asks:
            take = min(size, shares - got)
            if take <= 0:
                break
            cost += take * price
            fee += (take * fee_per_share(price, market.fee_rate, market.fee_exponent)).quantize(
                MICRO
            )
            got += take
        if got < MIN_SHARES:
            continue
        total = sum(open_cost.values(), ZERO)
        in_market = open_cost.get(market.condition_id, ZERO)
        if (
            total + cost > risk.max_total_exposure_usd
            or in_market + cost > risk.max_market_exposure_usd
            or cash < cost + fee
        ):
            continue
        cash -= cost + fee
        open_cost[market.condition_id] = in_market + cost
        fills.append(
            {
                "t": t,
                "wallet": trade.wallet,
                "condition_id": market.condition_id,
                "token_id": trade.token_id,
                "side": "BUY",
                "shares": str(got),
                "avg_price": str((cost / got).quantize(MICRO)),
                "fee_usd": str(fee),
                "whale_price": str(trade.price),
            }
        )
    return fills


def our_latency(world: ScenarioWorld, record: RunRecord) -> float:
    """Seconds from a whale's match to our order reaching the book."""
    return world.rtds_delay_s + record.latency_s


def build_report(
    world: ScenarioWorld, record: RunRecord, settings: Any, *, random_seed: int | None = None
) -> dict[str, Any]:
    """The JSON report (deterministic: same world, seed and config → same bytes)."""
    fills = _our_fills(world, record)
    ours = Book(fills)
    by_market = ours.by_market(world)
    buys = [f for f in fills if f["side"] == "BUY"]
    wins = sum(1 for f in buys if _win(world, f["condition_id"], f["token_id"]) == 1)
    latency = our_latency(world, record)
    truth = world.truth()
    positive = {w.wallet for w in truth if world.copy_edge(w.wallet, latency) > 0}
    stakes = [Decimal(f["shares"]) * Decimal(f["avg_price"]) for f in buys]
    stake = (
        (sum(stakes, ZERO) / len(stakes)).quantize(CENT)
        if stakes
        else settings.strategy.max_bet_usd
    )
    oracle = Book(
        oracle_fills(
            world, positive, stake_usd=stake, latency_s=record.latency_s, settings=settings
        )
    )
    oracle_by_market = oracle.by_market(world)
    times = [t for t, _ in record.marked]
    our_curve = ours.curve(world, record.start_usd, times)
    report: dict[str, Any] = {
        "world": world.name,
        "seed": world.seed,
        "hours": world.hours,
        "policy": record.policy,
        # Replayed opinions at most: no backtest here measures a model's forecasting skill.
        "advisors": record.advisors or {"mode": "off"},
        "latency_s": latency,
        # Watched wallets profiled from the world's served past before the start.
        "history_profiles": record.profiles,
        "signals": len(record.signals),
        "copies": len(buys),
        "fills": len(fills),
        "fees_usd": _usd(record.fees_usd),
        "deployed_usd": _usd(sum(stakes, ZERO)),
        "pnl": {
            "realized": _usd(record.realized_usd),
            "hold_to_resolution": _usd(sum(by_market.values(), ZERO)),
            "se": str(market_se(by_market)),
            "markets": len(by_market),
        },
        "win_rate": str((Decimal(wins) / len(buys)).quantize(Decimal("0.0001"))) if buys else None,
        "max_drawdown_usd": _usd(_max_drawdown(record.start_usd, our_curve)),
        "latency_tax_cents": _latency_tax(buys),
        "signal_latency_s": _signal_latency(record),
        "oracle": {
            "wallets": sorted(positive),
            "stake_usd": str(stake),
            "copies": len(oracle.fills),
            "pnl": _usd(sum(oracle_by_market.values(), ZERO)),
            "se": str(market_se(oracle_by_market)),
        },
        "accounting": _accounting(record),
        "equity": {
            "t_s": times,
            "ours": [str(v) for v in our_curve],
            "oracle": [str(v) for v in oracle.curve(world, record.start_usd, times)],
            "ours_marked": [_usd(v) for _, v in record.marked],
        },
        "whales": _whale_rows(world, record, settings, buys, oracle, latency),
        "capital": _capital(record, buys),
        "feed": {"frames": record.frames, "rejected": record.rejected},
    }
    if random_seed is not None:
        report["random"] = _random_choice(world, record, settings, stake, random_seed)
    return report


def _our_fills(world: ScenarioWorld, record: RunRecord) -> list[dict[str, Any]]:
    """The run's fills with their sim time, the wallet copied and the source it came from."""
    epoch = world.wall(0)
    fills = []
    for f in record.fills:
        t = datetime.fromisoformat(f["filled_at"]).timestamp() - epoch
        wallet = record.intents.get(str(f.get("intent_id", "")), "")
        source = f.get("source") or record.intent_source.get(str(f.get("intent_id", "")), "")
        fills.append({**f, "t": t, "wallet": wallet, "source": source or "unknown"})
    return fills


def _max_drawdown(start: Decimal, curve: list[Decimal]) -> Decimal:
    peak, drawdown = start, ZERO
    for value in curve:
        peak = max(peak, value)
        drawdown = max(drawdown, peak - value)
    return drawdown


def _latency_tax(buys: list[dict[str, Any]]) -> dict[str, Any]:
    """Cents per share paid over the whale: the mean and the mean by source."""
    taxes: dict[str, list[Decimal]] = {}
    for f in buys:
        cents = (Decimal(f["avg_price"]) - Decimal(f["whale_price"])) * 100
        taxes.setdefault(f.get("source") or "unknown", []).append(cents)
    all_tax = [c for v in taxes.values() for c in v]
    return {
        "mean": str((sum(all_tax, ZERO) / len(all_tax)).quantize(CENT)) if all_tax else None,
        "by_source": {
            k: str((sum(v, ZERO) / len(v)).quantize(CENT)) for k, v in sorted(taxes.items())
        },
    }


def _signal_latency(record: RunRecord) -> dict[str, float]:
    """Mean seconds from a whale's match until each source delivered the signal."""
    seen_after: dict[str, list[int]] = {}
    for s in record.signals:
        seen_after.setdefault(s["source"] or "unknown", []).append(s["latency_ms"])
    return {k: round(sum(v) / len(v) / 1000, 3) for k, v in sorted(seen_after.items())}


def _accounting(record: RunRecord) -> dict[str, str]:
    """The books: cash + open basis − (start + realized) is the residual, zero when they balance."""
    start = record.start_usd
    residual = record.cash_usd + record.open_basis_usd - (start + record.realized_usd)
    return {
        "start_usd": _usd(start),
        "cash_usd": _usd(record.cash_usd),
        "open_basis_usd": _usd(record.open_basis_usd),
        "realized_usd": _usd(record.realized_usd),
        "residual_usd": _usd(residual),
    }


def _whale_rows(
    world: ScenarioWorld,
    record: RunRecord,
    settings: Any,
    buys: list[dict[str, Any]],
    oracle: Book,
    latency: float,
) -> list[dict[str, Any]]:
    """Each wallet's truth beside what we made of it: signals, copies, P&L, score, the oracle's."""
    signals_by: dict[str, int] = {}
    for s in record.signals:
        signals_by[s["wallet"]] = signals_by.get(s["wallet"], 0) + 1
    watched = {x.lower() for x in settings.whales.wallets}
    rows = []
    for w in world.truth():
        mine = [f for f in buys if f["wallet"] == w.wallet]
        rows.append(
            {
                "wallet": w.wallet,
                "alias": w.alias,
                "archetype": w.archetype,
                "watched": w.wallet in watched,
                "true_edge": str(w.true_edge),
                "true_copy_edge": str(world.copy_edge(w.wallet, latency)),
                "copy_edge_at": {f"{d:g}": str(v) for d, v in w.copy_edge.items()},
                "signals": signals_by.get(w.wallet, 0),
                "copies": len(mine),
                "pnl": _usd(sum((fill_pnl(world, f) for f in mine), ZERO)),
                "score": str(record.scores[w.wallet]) if w.wallet in record.scores else None,
                "resolved": record.resolved.get(w.wallet, 0),
                "estimate": record.estimates.get(w.wallet),
                "oracle_copies": sum(1 for f in oracle.fills if f["wallet"] == w.wallet),
            }
        )
    return rows


def _capital(record: RunRecord, buys: list[dict[str, Any]]) -> dict[str, Any]:
    """Where the money went: the edges copied beside those refused for want of room."""
    refused = [s for s in record.signals if s.get("refused_for_room")]
    # One entry per copy (an intent that filled, however many fills), as one per refused signal.
    copied = list(dict.fromkeys(str(f.get("intent_id", "")) for f in buys))
    return {
        "copied_net_edges": [record.intent_edge.get(i, "0") for i in copied],
        "refused_for_room_net_edges": [
            str(s["net_edge"]) for s in refused if s.get("net_edge") is not None
        ],
        "copied_per_usd": [record.intent_per_usd.get(i, "0") for i in copied],
        "refused_for_room_per_usd": [
            str(s["edge_per_usd"]) for s in refused if s.get("edge_per_usd") is not None
        ],
        "refused_for_room_by_limit": _count(s["refused_for_room"] for s in refused),
    }


def _random_choice(
    world: ScenarioWorld, record: RunRecord, settings: Any, stake: Decimal, seed: int
) -> dict[str, Any]:
    """The oracle's copying applied to a random half of the wallets: the baseline it must beat."""
    rng = random.Random(seed)
    pool = sorted(w.wallet for w in world.truth())
    chosen = set(rng.sample(pool, max(1, len(pool) // 2)))
    rand = Book(
        oracle_fills(world, chosen, stake_usd=stake, latency_s=record.latency_s, settings=settings)
    )
    return {
        "wallets": sorted(chosen),
        "copies": len(rand.fills),
        "pnl": _usd(sum(rand.by_market(world).values(), ZERO)),
    }


def _count(values: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for value in values:
        out[value] = out.get(value, 0) + 1
    return dict(sorted(out.items()))


def to_json(report: dict[str, Any]) -> str:
    """The report as canonical JSON (sorted keys), byte-identical for identical runs."""
    return json.dumps(report, sort_keys=True, indent=2)
