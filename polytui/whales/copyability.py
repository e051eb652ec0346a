"""Copyability: what a copy arriving ``d`` seconds after each fill would have paid (pure).

For each buy fill of a settled bet, the copy arrives at ``fill time + d`` and takes the first
buy print on the same token in the market's trade tape from then on (the tape's taker prints
are what a taker paid; the whale's own transaction is skipped), within ``horizon_s``. It pays
the market's taker fee at that price and is settled at the outcome. A bet's copy edge is the
share-weighted mean over its copied fills; bets with no print to copy count as missed. The
data-api's tape has whole-second timestamps, so delays below one second round up to the next
second's prints.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from polytui.model import FeeSchedule, Side
from polytui.model.history import HistoryTrade
from polytui.whales.bets import Bet, MarketFacts, taker_fee_per_share
from polytui.whales.stats import Accumulator


@dataclass(frozen=True, slots=True)
class Tape:
    """One token's prints, oldest first, with their times for bisection."""

    times_ms: list[int]
    prints: list[HistoryTrade]

    @classmethod
    def of(cls, prints: Sequence[HistoryTrade]) -> Tape:
        """Sort a token's prints by time."""
        ordered = sorted(prints, key=lambda p: p.ts_ms)
        return cls([p.ts_ms for p in ordered], ordered)


def tapes_by_token(prints: Sequence[HistoryTrade]) -> dict[str, Tape]:
    """Group market prints by token."""
    grouped: dict[str, list[HistoryTrade]] = {}
    for trade in prints:
        grouped.setdefault(trade.token_id, []).append(trade)
    return {token: Tape.of(rows) for token, rows in grouped.items()}


def copy_price(tape: Tape, fill: HistoryTrade, delay_s: float, horizon_s: float) -> Decimal | None:
    """The price a copy arriving ``delay_s`` after ``fill`` pays, or None if nothing printed."""
    arrive = fill.ts_ms + delay_s * 1000
    limit = arrive + horizon_s * 1000
    i = bisect_left(tape.times_ms, arrive)
    prints = tape.prints
    while i < len(prints):
        candidate = prints[i]
        if candidate.ts_ms > limit:
            return None
        if candidate.side is Side.BUY and (not fill.tx_hash or candidate.tx_hash != fill.tx_hash):
            return candidate.price
        i += 1
    return None


@dataclass(slots=True)
class CopyResult:
    """Per delay: the accumulated copy edges and how many bets could be copied at all."""

    delay_s: float
    stat: Accumulator
    attempted: int


def copy_edges(
    bets: Sequence[Bet],
    tapes: Mapping[str, Tape],
    markets: Mapping[str, MarketFacts],
    delays_s: Sequence[float],
    horizon_s: float,
    fallback_fee: FeeSchedule | None = None,
) -> list[CopyResult]:
    """Copy edge of every settled buy bet at each delay."""
    results = [CopyResult(d, Accumulator(), 0) for d in delays_s]
    fee_cache: dict[tuple[str, Decimal], float] = {}
    for bet in bets:
        if bet.side is not Side.BUY or bet.payout is None:
            continue
        tape = tapes.get(bet.token_id)
        facts = markets.get(bet.condition_id)
        schedule = facts.fee_schedule if facts and facts.fee_schedule else fallback_fee
        payout = float(bet.payout)
        for result in results:
            result.attempted += 1
            if tape is None:
                continue
            shares = 0.0
            edge_usd = 0.0
            cost = 0.0
            for fill in bet.fills:
                price = copy_price(tape, fill, result.delay_s, horizon_s)
                if price is None:
                    continue
                key = (bet.condition_id, price)
                fee = fee_cache.get(key)
                if fee is None:
                    fee = fee_cache[key] = float(taker_fee_per_share(price, schedule))
                size = float(fill.shares)
                paid = float(price)
                shares += size
                edge_usd += size * (payout - paid - fee)
                cost += size * (paid + fee)
            if shares > 0:
                result.stat.add(bet.condition_id, edge_usd / shares, edge_usd, cost, payout >= 1.0)
    return results
