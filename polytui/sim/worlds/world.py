"""A world: markets with hidden outcomes, wallets of known archetypes, and their trades.

Everything is a pure function of (spec, seed, horizon): ``build.build_world`` draws the markets
and outcomes, runs every wallet over the whole horizon in time order, walks the books with their
fills and lets fast traders react. The result, a :class:`World`, answers at any sim time ``t``
(seconds since start): the public price of a token, its book, which markets have resolved, and
— what no trader sees — the truth (winners, each wallet's expected edge and the edge a copier
would get).
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from polytui.sim.onchain import ChainTrade, TwoOutcomes
from polytui.sim.worlds.book import MAX_PRICE, MIN_PRICE, TICK, ImpactBook
from polytui.sim.worlds.fees import FeeSchedule, fee_per_share
from polytui.sim.worlds.info import PricePath
from polytui.sim.worlds.spec import MarketGroup, WorldSpec

COPY_DELAYS = (0.65, 2.0, 5.0, 15.0)


@dataclass(slots=True)
class WorldMarket(TwoOutcomes):
    """One binary market: its life, hidden outcome, public price path and book."""

    index: int
    group: MarketGroup
    slot: int
    condition_id: str
    question_id: str
    question: str
    slug: str
    yes_token: str
    no_token: str
    start_s: float
    end_s: float
    yes_wins: bool
    fee: FeeSchedule | None
    path: PricePath
    book: ImpactBook

    def is_open(self, t: float) -> bool:
        """Whether the market exists and has not ended at ``t``."""
        return self.start_s <= t < self.end_s

    def yes_price(self, t: float) -> float:
        """The public P(YES wins) at ``t`` (1 or 0 from the end on)."""
        return self.path.price(t)

    def side_of(self, token: str) -> str:
        """The YES-book side a buy of ``token`` consumes: ``ask`` for YES, ``bid`` for NO."""
        return "ask" if token == self.yes_token else "bid"

    def token_price(self, token: str, t: float) -> float:
        """The public probability that ``token`` wins, at ``t``."""
        p = self.yes_price(t)
        return p if token == self.yes_token else 1.0 - p

    def best_ask(self, token: str, t: float) -> float:
        """What one share of ``token`` costs at ``t`` (impact included)."""
        p = self.yes_price(t)
        side = self.side_of(token)
        best = self.book.best(side, p, t)
        return best if side == "ask" else 1.0 - best

    def book_at(
        self, token: str, t: float
    ) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
        """(bids, asks) of ``token`` at ``t``, each best first, as (price, shares)."""
        p = self.yes_price(t)
        yes_bids = self.book.ladder("bid", p, t)
        yes_asks = self.book.ladder("ask", p, t)
        if token == self.yes_token:
            return yes_bids, yes_asks
        return (
            [(round(1.0 - price, 2), size) for price, size in yes_asks],
            [(round(1.0 - price, 2), size) for price, size in yes_bids],
        )


@dataclass(frozen=True, slots=True)
class Wallet:
    """A trading wallet and what it is (the truth)."""

    wallet: str
    alias: str
    archetype: str
    watched: bool
    group: int
    cluster: int | None = None


@dataclass(frozen=True, slots=True)
class WorldTrade(ChainTrade):
    """One wallet buy, as matched at sim time ``t``, with what only the world knows of it.

    ``price`` is the volume-weighted price the fill paid walking the book; ``public`` the public
    probability of the token just before it, ``belief`` what the wallet's information implies
    (equal to ``public`` for a wallet without information).
    """

    usd: Decimal
    levels: int
    public: float
    belief: float
    leak_t: float | None
    leak_llr: float


@dataclass(slots=True)
class World:
    """Markets, wallets and the full trade stream of one (spec, seed, horizon)."""

    spec: WorldSpec
    seed: int
    horizon_s: float
    markets: list[WorldMarket]
    wallets: list[Wallet]
    trades: list[WorldTrade] = field(default_factory=list)
    _tokens: dict[str, WorldMarket] = field(default_factory=dict)
    _wallets: dict[str, Wallet] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for m in self.markets:
            self._tokens[m.yes_token] = m
            self._tokens[m.no_token] = m
        self._wallets = {w.wallet: w for w in self.wallets}

    # --- what the public sees -------------------------------------------------------------------

    def market_of(self, token: str) -> WorldMarket | None:
        """The market a token belongs to, or None for an unknown token."""
        return self._tokens.get(token)

    def wallet(self, address: str) -> Wallet | None:
        """A wallet by address."""
        return self._wallets.get(address)

    def open_markets(self, t: float) -> list[WorldMarket]:
        """Markets that exist and have not ended at ``t``."""
        return [m for m in self.markets if m.is_open(t)]

    def listed_markets(self, t: float) -> list[WorldMarket]:
        """Markets that have started by ``t`` (open or already ended)."""
        return [m for m in self.markets if m.start_s <= t]

    def price(self, token: str, t: float) -> float:
        """Public probability that ``token`` wins at ``t``."""
        return self._tokens[token].token_price(token, t)

    def book(
        self, token: str, t: float
    ) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
        """(bids, asks) of ``token`` at ``t``, best first."""
        return self._tokens[token].book_at(token, t)

    def resolutions(self, t0: float, t1: float) -> list[WorldMarket]:
        """Markets whose end falls in (t0, t1], in end order."""
        return sorted((m for m in self.markets if t0 < m.end_s <= t1), key=lambda m: m.end_s)

    def trades_between(self, t0: float, t1: float) -> list[WorldTrade]:
        """Trades matched in (t0, t1]."""
        times = [tr.t for tr in self.trades]
        return self.trades[bisect_right(times, t0) : bisect_right(times, t1)]

    # --- the truth ------------------------------------------------------------------------------

    def expected_copy_price(self, trade: WorldTrade, delay: float) -> tuple[float, float]:
        """(E[best ask], E[taker fee per share]) of the trade's token ``delay`` s after it.

        The expectation is over the public information still to come, under the wallet's own
        information (its signal, and its leak when that is public by then); the book's impact
        at that instant is what the world's fills left there.
        """
        market = self.markets[trade.market]
        later = trade.t + delay
        side = market.side_of(trade.token_id)
        offset = market.book.levels_gone(side, market.yes_price(trade.t), later)
        is_yes = trade.token_id == market.yes_token
        extra = trade.leak_llr if trade.leak_t is not None and trade.leak_t <= later else 0.0
        belief_yes = trade.belief if is_yes else 1.0 - trade.belief

        def ask(p_yes: float) -> float:
            bid, base_ask = ImpactBook.base(p_yes)
            if is_yes:
                return min(MAX_PRICE, base_ask + offset * TICK)
            return 1.0 - max(MIN_PRICE, bid - offset * TICK)

        e_ask = market.path.expect(trade.t, delay, belief_yes, extra, ask)
        e_fee = (
            0.0
            if market.fee is None
            else market.path.expect(
                trade.t, delay, belief_yes, extra, lambda p: fee_per_share(market.fee, ask(p))
            )
        )
        return e_ask, e_fee

    def copy_edge(self, trade: WorldTrade, delay: float) -> float:
        """Expected payoff per share minus expected cost and fee, copying ``delay`` s late."""
        e_ask, e_fee = self.expected_copy_price(trade, delay)
        return trade.belief - e_ask - e_fee

    def truth(self, origin_unix: float | None = None) -> dict[str, Any]:
        """The truth JSON: winners, and per wallet its archetype, true edge and copy edge."""
        origin = 0.0 if origin_unix is None else origin_unix
        markets = [
            {
                "condition_id": m.condition_id,
                "winner_token_id": m.winner,
                "end": _iso(origin + m.end_s),
                "end_s": m.end_s,
                "question": m.question,
                "kind": m.group.name,
            }
            for m in self.markets
        ]
        by_wallet: dict[str, list[WorldTrade]] = {}
        for tr in self.trades:
            by_wallet.setdefault(tr.wallet, []).append(tr)
        wallets = []
        for w in self.wallets:
            trades = by_wallet.get(w.wallet, [])
            n = len(trades)
            true_edge = sum(tr.belief - tr.public for tr in trades) / n if n else 0.0
            copy = {
                _delay_key(d): (sum(self.copy_edge(tr, d) for tr in trades) / n if n else 0.0)
                for d in COPY_DELAYS
            }
            wallets.append(
                {
                    "wallet": w.wallet,
                    "alias": w.alias,
                    "archetype": w.archetype,
                    "watched": w.watched,
                    "trades": n,
                    "true_edge": round(true_edge, 6),
                    "copy_edge": {k: round(v, 6) for k, v in copy.items()},
                }
            )
        return {
            "world": self.spec.name,
            "seed": self.seed,
            "horizon_s": self.horizon_s,
            "markets": markets,
            "wallets": wallets,
        }


def _delay_key(d: float) -> str:
    return f"{d:g}"


def _iso(unix: float) -> str:
    return datetime.fromtimestamp(unix, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
