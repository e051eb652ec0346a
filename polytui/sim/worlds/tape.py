"""A market's public taker tape: the anonymous flow between the wallets' trades (pure).

Besides the wallets' own fills, every open market prints small taker trades from a pool of
retail wallets: for each token, on average one print every ``tape_s`` seconds (the market
group's key), three in four buys at the token's best ask and the rest sells at its best bid —
the book the world's fills left, impact and refill included, so a print seconds after a large
fill shows what a copier arriving then paid. The prints are a pure function of (world seed,
market, token, second): any window of any market can be asked for in any order, and nothing is
stored. They are too small to move the book, and do not.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from polytui.sim.worlds.world import World, WorldMarket, WorldTrade

RETAIL_WALLETS = 400
BUY_SHARE = 0.75
CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class Print:
    """One public trade on a market's tape (a wallet's fill or a retail print)."""

    t: float
    market: int
    token_id: str
    outcome_index: int
    side: str
    price: Decimal
    shares: Decimal
    wallet: str
    tx_hash: str

    @property
    def usd(self) -> Decimal:
        """Notional."""
        return self.price * self.shares

    @property
    def key(self) -> tuple[float, str]:
        """Order on the tape: time, then transaction."""
        return (self.t, self.tx_hash)


def retail_wallet(seed: int, k: int) -> str:
    """Address ``k`` of the retail pool."""
    return "0x" + hashlib.sha256(f"retail:{seed}:{k}".encode()).hexdigest()[:40]


def of_trade(tr: WorldTrade) -> Print:
    """A wallet's fill as it shows on the tape."""
    return Print(
        tr.t,
        tr.market,
        tr.token_id,
        tr.outcome_index,
        tr.side,
        tr.price,
        tr.shares,
        tr.wallet,
        tr.tx_hash,
    )


def _uniforms(seed: int, market: int, token: int, second: int, j: int) -> tuple[float, ...]:
    digest = hashlib.blake2b(f"{seed}:{market}:{token}:{second}:{j}".encode(), digest_size=32)
    raw = digest.digest()
    return tuple(int.from_bytes(raw[i : i + 8], "big") / 2**64 for i in range(0, 32, 8))


def prints_in_second(world: World, market: WorldMarket, second: int) -> list[Print]:
    """The retail prints of ``market`` in sim second [second, second + 1), oldest first."""
    rate = 1.0 / market.group.tape_s
    per = max(1, math.ceil(rate))
    out: list[Print] = []
    for index, token in enumerate((market.yes_token, market.no_token)):
        for j in range(per):
            u_on, u_at, u_side, u_size = _uniforms(world.seed, market.index, index, second, j)
            if u_on >= rate / per:
                continue
            t = second + (j + u_at) / per
            if not market.start_s <= t < market.end_s:
                continue
            p_yes = market.yes_price(t)
            if u_side < BUY_SHARE:
                side, price = "BUY", market.best_ask(token, t)
            else:
                side = "SELL"
                if index == 0:
                    price = market.book.best("bid", p_yes, t)
                else:
                    price = 1.0 - market.book.best("ask", p_yes, t)
            shares = Decimal(f"{5 + 95 * u_size:.2f}")
            tag = f"{world.seed}:{market.index}:{index}:{second}:{j}"
            out.append(
                Print(
                    t,
                    market.index,
                    token,
                    index,
                    side,
                    Decimal(f"{price:.2f}"),
                    shares,
                    retail_wallet(world.seed, int(u_size * 1e9) % RETAIL_WALLETS),
                    "0x" + hashlib.sha256(f"tape:{tag}".encode()).hexdigest(),
                )
            )
    out.sort(key=lambda p: p.key)
    return out


def retail_prints(
    world: World, market: WorldMarket, t0: float, t1: float, newest_first: bool = True
) -> Iterator[Print]:
    """Retail prints of ``market`` with t0 ≤ t ≤ t1, lazily, newest (or oldest) first."""
    lo = max(t0, market.start_s)
    hi = min(t1, market.end_s)
    if hi < lo:
        return
    seconds = range(math.floor(hi), math.floor(lo) - 1, -1)
    if not newest_first:
        seconds = range(math.floor(lo), math.floor(hi) + 1)
    for second in seconds:
        prints = prints_in_second(world, market, second)
        if newest_first:
            prints.reverse()
        for p in prints:
            if lo <= p.t <= hi:
                yield p
