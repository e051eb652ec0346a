"""A world: markets with hidden outcomes, wallets of known archetypes, and their trades.

Everything is a pure function of (spec, seed, horizon): :func:`build_world` draws the markets and
outcomes, runs every wallet over the whole horizon in time order, walks the books with their fills
and lets fast traders react. The result answers, at any sim time ``t`` (seconds since start):
the public price of a token, its book, which markets have resolved, and — what no trader sees —
the truth (winners, each wallet's expected edge and the edge a copier would get).
"""

from __future__ import annotations

import hashlib
import heapq
import random
from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from polytui.sim.worlds.book import MAX_PRICE, MIN_PRICE, TICK, Fill, ImpactBook
from polytui.sim.worlds.fees import FEE_SCHEDULES, FeeSchedule, fee_per_share
from polytui.sim.worlds.info import PricePath, posterior, signal_llr
from polytui.sim.worlds.spec import CLUSTERS, INFORMED, MarketGroup, WhaleGroup, WorldSpec

COPY_DELAYS = (0.65, 2.0, 5.0, 15.0)
FIRST_BLOCK = 84_950_000
BLOCK_S = 2.0
PRICE_Q = Decimal("0.0001")
SHARES_Q = Decimal("0.01")


@dataclass(slots=True)
class WorldMarket:
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

    @property
    def winner(self) -> str:
        """Token id of the outcome that wins."""
        return self.yes_token if self.yes_wins else self.no_token

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
class WorldTrade:
    """One wallet buy, as matched at sim time ``t``.

    ``price`` is the volume-weighted price the fill paid walking the book; ``public`` the public
    probability of the token just before it, ``belief`` what the wallet's information implies
    (equal to ``public`` for a wallet without information).
    """

    t: float
    wallet: str
    market: int
    token_id: str
    outcome: str
    outcome_index: int
    side: str
    price: Decimal
    shares: Decimal
    usd: Decimal
    levels: int
    public: float
    belief: float
    leak_t: float | None
    leak_llr: float
    tx_hash: str
    order_hash: str
    block: int


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


# --- building a world ---------------------------------------------------------------------------


def _hex(rng: random.Random, nbytes: int) -> str:
    return "0x" + rng.getrandbits(nbytes * 8).to_bytes(nbytes, "big").hex()


def _token(rng: random.Random) -> str:
    return str(rng.randrange(10**75, 10**77))


def build_world(spec: WorldSpec, seed: int | None = None, hours: float | None = None) -> World:
    """The world of ``spec`` for ``seed`` (default: the spec's), trading for ``hours``."""
    seed = spec.seed if seed is None else seed
    horizon = 3600.0 * (spec.hours if hours is None else hours)
    rng = random.Random(f"{spec.name}:{seed}")
    markets = _markets(spec, rng, horizon)
    wallets = _wallets(spec, rng)
    world = World(spec, seed, horizon, markets, wallets)
    world.trades = _Trader(world, rng).run()
    return world


def _markets(spec: WorldSpec, rng: random.Random, horizon: float) -> list[WorldMarket]:
    out: list[WorldMarket] = []
    for group in spec.markets:
        for slot in range(group.count):
            lo, hi = group.duration_s
            life = rng.uniform(lo, hi)
            # Rolling slots start part-way through their first market, so ends are spread out.
            start = -rng.uniform(0.0, 0.8) * life if group.rolling else 0.0
            while True:
                out.append(_market(spec, group, slot, rng, len(out), start, start + life))
                if not group.rolling or start + life >= horizon:
                    break
                start += life
                life = rng.uniform(lo, hi)
    return out


def _market(
    spec: WorldSpec,
    group: MarketGroup,
    slot: int,
    rng: random.Random,
    index: int,
    start: float,
    end: float,
) -> WorldMarket:
    p0 = rng.uniform(*group.prior)
    yes_wins = rng.random() < p0
    n = index + 1
    cid = _hex(rng, 32)
    return WorldMarket(
        index=index,
        group=group,
        slot=slot,
        condition_id=cid,
        question_id=_hex(rng, 32),
        question=group.question.replace("{n}", str(n)),
        slug=f"{group.name}-{n}",
        yes_token=_token(rng),
        no_token=_token(rng),
        start_s=start,
        end_s=end,
        yes_wins=yes_wins,
        fee=FEE_SCHEDULES[group.fee],
        path=PricePath(
            p0=p0,
            yes_wins=yes_wins,
            start_s=start,
            end_s=end,
            kappa=group.info,
            seed=rng.getrandbits(64),
            step_s=spec.step_s,
        ),
        book=ImpactBook(group.depth, group.refill_s, rng.getrandbits(32)),
    )


def _wallets(spec: WorldSpec, rng: random.Random) -> list[Wallet]:
    out: list[Wallet] = []
    cluster = 0
    for gi, group in enumerate(spec.whales):
        if group.archetype in CLUSTERS:
            for c in range(group.count):
                for k in range(group.members):
                    alias = f"{group.alias}-{c + 1}{chr(ord('a') + k % 26)}"
                    out.append(
                        Wallet(_hex(rng, 20), alias, group.archetype, group.watched, gi, cluster)
                    )
                cluster += 1
        else:
            for k in range(group.count):
                alias = group.alias if group.count == 1 else f"{group.alias}-{k + 1}"
                out.append(Wallet(_hex(rng, 20), alias, group.archetype, group.watched, gi))
    return out


class _Trader:
    """Runs every wallet over the horizon in time order against the books."""

    def __init__(self, world: World, rng: random.Random) -> None:
        self.world = world
        self.rng = rng
        self.spec = world.spec
        self.trades: list[WorldTrade] = []
        # Each slot's markets follow one another in time: "what is open at t" is a bisection.
        self.slots: dict[str, list[tuple[list[float], list[WorldMarket]]]] = {}
        chains: dict[tuple[str, int], list[WorldMarket]] = {}
        for m in world.markets:
            chains.setdefault((m.group.name, m.slot), []).append(m)
        for (name, _), chain in chains.items():
            chain.sort(key=lambda m: m.start_s)
            self.slots.setdefault(name, []).append(([m.start_s for m in chain], chain))
        self._chains: dict[int, list[tuple[list[float], list[WorldMarket]]]] = {}
        self.signals: dict[tuple[object, int], bool] = {}  # (actor, market) → names YES
        self.seq = 0

    def run(self) -> list[WorldTrade]:
        heap: list[tuple[float, int, str, object]] = []
        actors: list[tuple[WhaleGroup, list[Wallet], object]] = []
        wallets = self.world.wallets
        for gi, group in enumerate(self.spec.whales):
            members = [w for w in wallets if w.group == gi]
            if group.archetype in CLUSTERS:
                ids = sorted({w.cluster for w in members if w.cluster is not None})
                for cid in ids:
                    actors.append((group, [w for w in members if w.cluster == cid], ("c", cid)))
            else:
                for w in members:
                    actors.append((group, [w], w.wallet))
        for ai, (group, _, _) in enumerate(actors):
            t = self.rng.expovariate(1.0 / group.every_s)
            while t < self.world.horizon_s:
                self._push(heap, t, "decide", ai)
                t += self.rng.expovariate(1.0 / group.every_s)
        while heap:
            t, _, kind, payload = heapq.heappop(heap)
            if kind == "decide":
                assert isinstance(payload, int)
                group, members, key = actors[payload]
                self._decide(heap, t, group, members, key)
            else:
                assert isinstance(payload, tuple)
                self._fill(t, *payload)
        return self.trades

    def _push(
        self, heap: list[tuple[float, int, str, object]], t: float, kind: str, payload: object
    ) -> None:
        self.seq += 1
        heapq.heappush(heap, (t, self.seq, kind, payload))

    def _current(
        self, chain: tuple[list[float], list[WorldMarket]], t: float
    ) -> WorldMarket | None:
        starts, markets = chain
        i = bisect_right(starts, t) - 1
        if i < 0:
            return None
        m = markets[i]
        margin = min(60.0, 0.1 * (m.end_s - m.start_s))
        return m if t < m.end_s - margin else None

    def _open(self, group: WhaleGroup, t: float) -> list[WorldMarket]:
        out = []
        for name in group.markets or tuple(self.slots):
            for chain in self.slots[name]:
                m = self._current(chain, t)
                if m is not None:
                    out.append(m)
        return out

    def _pick(self, group: WhaleGroup, t: float) -> WorldMarket | None:
        """A market open at ``t``, chosen uniformly over the slots with one open."""
        chains = self._chains.get(id(group))
        if chains is None:
            names = group.markets or tuple(self.slots)
            chains = self._chains[id(group)] = [c for name in names for c in self.slots[name]]
        for _ in range(8):
            m = self._current(self.rng.choice(chains), t)
            if m is not None:
                return m
        markets = self._open(group, t)
        return self.rng.choice(markets) if markets else None

    def _decide(
        self,
        heap: list[tuple[float, int, str, object]],
        t: float,
        group: WhaleGroup,
        members: list[Wallet],
        key: object,
    ) -> None:
        rng = self.rng
        if group.archetype == "longshot":
            markets = self._open(group, t)
            cheap = [m for m in markets if min(q := m.yes_price(t), 1.0 - q) < group.max_price]
            if not cheap:
                return
            market = rng.choice(cheap)
            p = market.yes_price(t)
        else:
            picked = self._pick(group, t)
            if picked is None:
                return
            market = picked
            p = market.yes_price(t)
            if not 0.02 < p < 0.98:
                return  # nothing left to trade on there
        if group.archetype == "longshot":
            names_yes = p < 0.5
            accuracy = None
        elif group.archetype in INFORMED:
            accuracy = group.accuracy
            fresh = group.archetype == "informed_fast"  # news it sees first, new each time
            sig_key = (key, market.index)
            if fresh or sig_key not in self.signals:
                right = rng.random() < accuracy
                self.signals[sig_key] = market.yes_wins if right else not market.yes_wins
            names_yes = self.signals[sig_key]
        else:
            names_yes = rng.random() < 0.5
            accuracy = None
        token = market.yes_token if names_yes else market.no_token
        leak_t = None
        if group.archetype == "informed_fast":
            leak_t = t + rng.uniform(*group.reveal_s)
            llr = signal_llr(group.accuracy)
            market.path.leak(leak_t, llr if names_yes else -llr)
        offsets = (
            [0.0] if len(members) == 1 else sorted(rng.uniform(0, group.window_s) for _ in members)
        )
        for wallet, dt in zip(members, offsets, strict=True):
            usd = rng.uniform(*group.usd)
            self._push(
                heap, t + dt, "fill", (wallet, group, market.index, token, usd, accuracy, leak_t)
            )

    def _fill(
        self,
        t: float,
        wallet: Wallet,
        group: WhaleGroup,
        index: int,
        token: str,
        usd: float,
        accuracy: float | None,
        leak_t: float | None,
    ) -> None:
        market = self.world.markets[index]
        if not market.start_s <= t < market.end_s:
            return
        is_yes = token == market.yes_token
        public = market.token_price(token, t)
        if accuracy is None:
            belief = public
            llr = 0.0
        else:
            # The wallet's signal, minus whatever of it is already public (a fast wallet's leak).
            leaked = leak_t is not None and leak_t <= t
            belief = public if leaked else posterior(public, True, accuracy)
            llr = signal_llr(accuracy) * (1 if is_yes else -1)
            if belief - public < group.min_edge:
                return  # an informed wallet does not buy what it thinks is fairly priced
        ask = market.best_ask(token, t)
        shares = (Decimal(usd) / Decimal(ask)).quantize(SHARES_Q, rounding=ROUND_FLOOR)
        if shares <= 0:
            return
        p_yes = market.yes_price(t)
        side = market.side_of(token)
        fill: Fill = market.book.walk(side, p_yes, t, float(shares))
        g = market.group
        if g.frontrun > 0 and usd >= g.large_usd:
            market.book.record(side, t + self.rng.uniform(*g.react_s), g.frontrun * float(shares))
        price = Decimal(repr(fill.vwap)).quantize(PRICE_Q)
        digest = hashlib.sha256(
            f"{self.world.seed}:{t!r}:{wallet.wallet}:{len(self.trades)}".encode()
        ).hexdigest()
        self.trades.append(
            WorldTrade(
                t=t,
                wallet=wallet.wallet,
                market=index,
                token_id=token,
                outcome="Yes" if is_yes else "No",
                outcome_index=0 if is_yes else 1,
                side="BUY",
                price=price,
                shares=shares,
                usd=(price * shares).quantize(Decimal("0.000001")),
                levels=fill.levels,
                public=public,
                belief=belief,
                leak_t=leak_t,
                leak_llr=llr if leak_t is not None else 0.0,
                tx_hash="0x" + digest,
                order_hash="0x" + hashlib.sha256(digest.encode()).hexdigest(),
                block=FIRST_BLOCK + int(t // BLOCK_S),
            )
        )
