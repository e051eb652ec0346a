"""Building a world: its markets, its wallets, and every wallet's trades over the horizon.

:func:`build_world` is a pure function of (spec, seed, horizon). The markets and wallets are drawn
from one seeded generator in a fixed order; ``_Trader`` then runs every wallet in time order
against the books (a wallet's decision, then its fill after its cluster's window), walking each
book with the fill and letting fast traders react to large ones.
"""

from __future__ import annotations

import heapq
import random
from bisect import bisect_right
from decimal import ROUND_FLOOR, Decimal

from polytui.sim.onchain import block_at, token_id, trade_hashes
from polytui.sim.worlds.book import Fill, ImpactBook
from polytui.sim.worlds.fees import FEE_SCHEDULES
from polytui.sim.worlds.info import PricePath, posterior, signal_llr
from polytui.sim.worlds.spec import CLUSTERS, INFORMED, MarketGroup, WhaleGroup, WorldSpec
from polytui.sim.worlds.world import Wallet, World, WorldMarket, WorldTrade

PRICE_Q = Decimal("0.0001")
SHARES_Q = Decimal("0.01")


def _hex(rng: random.Random, nbytes: int) -> str:
    return "0x" + rng.getrandbits(nbytes * 8).to_bytes(nbytes, "big").hex()


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
        yes_token=token_id(rng),
        no_token=token_id(rng),
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
        # The impact book is a float model of depth and refill (like the price path), not a
        # ledger: it takes the shares as a float, and the trade's price, shares and usd below stay
        # Decimal.
        fill: Fill = market.book.walk(side, p_yes, t, float(shares))
        g = market.group
        if g.frontrun > 0 and usd >= g.large_usd:
            market.book.record(side, t + self.rng.uniform(*g.react_s), g.frontrun * float(shares))
        price = Decimal(repr(fill.vwap)).quantize(PRICE_Q)
        tx_hash, order_hash = trade_hashes(
            f"{self.world.seed}:{t!r}:{wallet.wallet}:{len(self.trades)}"
        )
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
                tx_hash=tx_hash,
                order_hash=order_hash,
                block=block_at(t),
            )
        )
