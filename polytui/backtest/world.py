"""The one seam between a backtest and the simulated world it runs in.

A backtest needs, from a world: its markets (tokens, end, winner), its whale trades in time
order, the wire frames the real feeds would receive (RTDS activity, CLOB ``book`` and
``market_resolved``, Gamma records), the raw ask side of a book at any instant, and the truth
about every wallet. :class:`ScenarioWorld` serves all of that from the simulator's scenario;
nothing else in :mod:`polytui.backtest` touches the simulator, except :mod:`.past`, which serves
a world's settled past on the simulator's own data-api routes before the run.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from polytui.sim.market_ws import RTDS_DELAY_S
from polytui.sim.pending import PENDING_DELAY_S, Mempool
from polytui.sim.rpc import CHAIN_DELAY_S
from polytui.sim.scenario import SCENARIOS, Scenario, SimMarket, build_scenario
from polytui.sim.wire import (
    EXCHANGE_V2,
    dumps,
    gamma_record,
    order_filled_log,
    resolved_event,
    rtds_frame,
)
from polytui.sim.world import SimWorld
from polytui.sim.worlds.legacy import world_book

# Copy-edge delays the truth is stated at (seconds after the whale's match).
TRUTH_DELAYS = (0.65, 2.0, 5.0, 15.0)
# Every backtest starts at this instant, so two runs of one world are byte-identical.
EPOCH_UNIX = 1_790_000_000.0  # 2026-09-21T13:33:20Z
ONE = Decimal(1)


class WorldError(ValueError):
    """A world that cannot be built (unknown name, unreadable file); the message says which."""


@dataclass(frozen=True, slots=True)
class WorldMarket:
    """What a backtest knows of one market."""

    condition_id: str
    tokens: tuple[str, str]
    end_s: float
    winner: str
    fee_rate: Decimal
    fee_exponent: int


@dataclass(frozen=True, slots=True)
class WorldTrade:
    """One whale fill: match time, wallet (lower case), token, price, shares."""

    index: int
    t: float
    wallet: str
    token_id: str
    condition_id: str
    price: Decimal
    shares: Decimal


@dataclass(frozen=True, slots=True)
class WalletTruth:
    """The truth about one wallet: archetype and expected edge per share (after taker fees for
    the copy edge, keyed by delay in seconds)."""

    wallet: str
    alias: str
    archetype: str
    watched: bool
    true_edge: Decimal
    copy_edge: dict[float, Decimal]


def fee_per_share(price: Decimal, rate: Decimal, exponent: int) -> Decimal:
    """The taker fee of one share at ``price`` (PROTOCOL.md §6)."""
    if rate <= 0:
        return Decimal(0)
    return rate * (price * (ONE - price)) ** exponent


class ScenarioWorld:
    """A backtest world served from :mod:`polytui.sim.scenario` (seeded, pure in sim time)."""

    rtds_delay_s = RTDS_DELAY_S
    pending_delay_s = PENDING_DELAY_S
    chain_delay_s = CHAIN_DELAY_S
    exchange = EXCHANGE_V2.lower()

    def __init__(
        self,
        scenario: Scenario,
        hours: float,
        *,
        name: str | None = None,
        honest: Any = None,
    ) -> None:
        self.scenario = scenario
        # A world of polytui.sim.worlds, served through the scenario shapes: its truth is the
        # model's expectation rather than a sample.
        self.honest = honest
        self.name = name or scenario.name
        self.seed = scenario.seed
        self.hours = hours
        self.horizon_s = hours * 3600.0
        self.sim = SimWorld(scenario, speed=1.0)
        self.sim.wall0 = EPOCH_UNIX
        self._markets = {m.condition_id: m for m in scenario.markets}
        self.markets = [self._view(m) for m in scenario.markets]
        self.markets_by_condition = {m.condition_id: m for m in self.markets}
        self.trades = [
            WorldTrade(
                i,
                tr.t,
                tr.wallet.lower(),
                tr.token_id,
                scenario.market(tr.market).condition_id,
                tr.price,
                tr.shares,
            )
            for i, tr in enumerate(scenario.trades)
            if tr.t < self.horizon_s
        ]
        self._truth: list[WalletTruth] | None = None
        self._mempool = Mempool(self.exchange)
        self._asks: dict[tuple[str, float], list[tuple[Decimal, Decimal]]] = {}
        self._edges: dict[tuple[str, float], Decimal] = {}

    @staticmethod
    def _view(m: SimMarket) -> WorldMarket:
        fee = m.fee or {}
        return WorldMarket(
            m.condition_id,
            (m.yes_token, m.no_token),
            m.end_s,
            m.winner,
            Decimal(str(fee.get("rate", 0))),
            int(str(fee.get("exponent", 1))),
        )

    # --- what the feeds receive --------------------------------------------------------------

    def rtds_frame(self, trade: WorldTrade, at: float) -> str:
        """The RTDS activity frame announcing ``trade``, sent at sim time ``at``."""
        raw = self.scenario.trades[trade.index]
        return dumps(rtds_frame(self.scenario, raw, self.sim.wall(raw.t), self.sim.ms(at)))

    def pending_tx(self, trade: WorldTrade) -> dict[str, Any]:
        """The full pending ``matchOrders`` transaction that settles ``trade``."""
        raw = self.scenario.trades[trade.index]
        return self._mempool.transaction(raw, trade.condition_id, self.sim.ms(raw.t))

    def order_filled(self, trade: WorldTrade) -> dict[str, Any]:
        """The ``OrderFilled`` log of ``trade``'s transaction, with its block's time."""
        raw = self.scenario.trades[trade.index]
        entry = order_filled_log(
            raw,
            exchange=self.exchange,
            block_hash=self.sim.block_hash(raw.block),
            log_index=trade.index,
        )
        return dict(entry, blockTimestamp=hex(int(self.sim.wall(raw.t))))

    def raw_book(self, token: str, t: float) -> dict[str, Any]:
        """The ``book`` event of ``token`` at sim time ``t``. A world's book is the one at that
        instant, as its truth prices a copy: the live simulator serves a block's book for the
        whole block, which would hide news (a fast wallet's leak) for up to a block."""
        event = self.sim.raw_book(token, t)
        if self.honest is not None:
            known = self.sim.token(token)
            levels = world_book(known[0], token, t) if known is not None else None
            if levels is not None:
                event["bids"] = [{"price": p, "size": q} for p, q in levels[0]]
                event["asks"] = [{"price": p, "size": q} for p, q in levels[1]]
        return event

    def book_frame(self, token: str, t: float) -> str:
        """The CLOB ``book`` event of ``token`` at sim time ``t``."""
        return dumps([self.raw_book(token, t)])

    def resolved_frame(self, condition_id: str, t: float) -> str:
        """The CLOB ``market_resolved`` event, sent at sim time ``t``."""
        return dumps([resolved_event(self._markets[condition_id], self.sim.ms(t))])

    def gamma(self, tokens: set[str], conditions: set[str], t: float) -> list[dict[str, Any]]:
        """Gamma ``/markets`` records matching the query, as of sim time ``t``."""
        out = []
        for m in self.scenario.markets:
            if tokens and not tokens & {m.yes_token, m.no_token}:
                continue
            if conditions and m.condition_id not in conditions:
                continue
            out.append(
                gamma_record(
                    m,
                    end_wall=self.sim.wall(m.end_s),
                    resolved=t >= m.end_s,
                    yes_mid=m.yes_price(t),
                )
            )
        return out

    def asks(self, token: str, t: float) -> list[tuple[Decimal, Decimal]]:
        """The ask side of ``token`` at ``t``, best first, as (price, shares)."""
        key = (token, t if self.honest is not None else self.sim.step(t))
        cached = self._asks.get(key)
        if cached is None:
            levels = self.raw_book(token, t)["asks"]
            cached = sorted((Decimal(lvl["price"]), Decimal(lvl["size"])) for lvl in levels)
            self._asks[key] = cached
        return cached

    def wall(self, t: float) -> float:
        """Unix time of sim time ``t``."""
        return self.sim.wall(t)

    # --- truth -------------------------------------------------------------------------------

    def truth(self) -> list[WalletTruth]:
        """Every wallet's truth. This scenario has no closed-form expectation, so the edges are
        the mean over the wallet's own trades in the horizon (win − price at its fill; win −
        best ask − fee at a copy ``delay`` later)."""
        if self._truth is not None:
            return self._truth
        if self.honest is not None:
            self._truth = self._honest_truth()
            return self._truth
        by_wallet: dict[str, list[WorldTrade]] = {}
        for trade in self.trades:
            by_wallet.setdefault(trade.wallet, []).append(trade)
        out = []
        for whale in self.scenario.whales:
            wallet = whale.wallet.lower()
            trades = by_wallet.get(wallet, [])
            out.append(
                WalletTruth(
                    wallet=wallet,
                    alias=whale.alias,
                    archetype=f"skill {whale.skill:.2f}",
                    watched=whale.watched,
                    true_edge=_mean([self._win(tr) - tr.price for tr in trades]),
                    copy_edge={d: self._copy_edge(trades, d) for d in TRUTH_DELAYS},
                )
            )
        self._truth = out
        return out

    def copy_edge(self, wallet: str, delay: float) -> Decimal:
        """A wallet's copy edge per share at ``delay`` seconds after its fills."""
        key = (wallet.lower(), delay)
        if key not in self._edges and self.honest is not None:
            mine = [
                tr
                for tr in self.honest.trades
                if tr.wallet.lower() == key[0] and 0 <= tr.t < self.horizon_s
            ]
            mean = sum(self.honest.copy_edge(tr, delay) for tr in mine) / len(mine) if mine else 0.0
            self._edges[key] = Decimal(repr(mean)).quantize(Decimal("0.0001"))
        if key not in self._edges:
            trades = [tr for tr in self.trades if tr.wallet == key[0]]
            self._edges[key] = self._copy_edge(trades, delay)
        return self._edges[key]

    def _honest_truth(self) -> list[WalletTruth]:
        out = []
        for w in self.honest.truth(self.sim.wall0)["wallets"]:
            wallet = str(w["wallet"]).lower()
            out.append(
                WalletTruth(
                    wallet=wallet,
                    alias=str(w["alias"]),
                    archetype=str(w["archetype"]),
                    watched=bool(w["watched"]),
                    true_edge=Decimal(repr(w["true_edge"])).quantize(Decimal("0.0001")),
                    copy_edge={d: self.copy_edge(wallet, d) for d in TRUTH_DELAYS},
                )
            )
        return out

    def _copy_edge(self, trades: list[WorldTrade], delay: float) -> Decimal:
        values = []
        for trade in trades:
            market = self._market_view(trade.condition_id)
            asks = self.asks(trade.token_id, trade.t + delay)
            if not asks:
                continue
            price = asks[0][0]
            fee = fee_per_share(price, market.fee_rate, market.fee_exponent)
            values.append(self._win(trade) - price - fee)
        return _mean(values)

    def _market_view(self, condition_id: str) -> WorldMarket:
        return self._view(self._markets[condition_id])

    def _win(self, trade: WorldTrade) -> Decimal:
        return ONE if self._markets[trade.condition_id].winner == trade.token_id else Decimal(0)

    def winner_of(self, condition_id: str) -> str:
        """The winning token of a market."""
        return self._markets[condition_id].winner

    def with_past(self) -> Any:
        """The honest world with its settled past (``history_hours`` of its spec) before sim
        time 0, the present unchanged; None when it has none."""
        if self.honest is None or not self.honest.spec.history_hours:
            return None
        from polytui.sim.worlds.past import build_world_with_past

        return build_world_with_past(self.honest.spec, seed=self.honest.seed, hours=self.hours)

    def watched(self) -> list[tuple[str, str]]:
        """(wallet, alias) of the wallets a default backtest copies."""
        return [(w.wallet.lower(), w.alias) for w in self.scenario.whales if w.watched]


def _mean(values: list[Decimal]) -> Decimal:
    if not values:
        return Decimal(0)
    return (sum(values, Decimal(0)) / len(values)).quantize(Decimal("0.0001"))


def builtin_worlds() -> tuple[str, ...]:
    """Names ``--scenario`` accepts (the honest worlds)."""
    from polytui.sim.worlds import builtin_names

    return builtin_names()


def open_world(name: str | None, path: Path | None, seed: int, hours: float) -> ScenarioWorld:
    """The world of ``--scenario NAME`` or ``--scenario-file F`` for ``seed`` and ``hours``."""
    from polytui.sim.worlds import SpecError, build_world, builtin_spec, load_spec
    from polytui.sim.worlds.legacy import scenario_of

    try:
        if path is not None:
            spec = load_spec(Path(path))
        elif name is not None:
            spec = builtin_spec(name)
        else:
            raise WorldError("give --scenario NAME or --scenario-file FILE")
    except SpecError as exc:
        raise WorldError(str(exc)) from None
    world = build_world(spec, seed=seed, hours=hours)
    return ScenarioWorld(scenario_of(world), hours, name=spec.name, honest=world)


def open_scenario(name: str, seed: int, hours: float) -> ScenarioWorld:
    """One of the simulator's classic scenarios (``demo``, ``quiet``, ``chaos``) as a world."""
    if name not in SCENARIOS:
        raise WorldError(f"unknown scenario {name!r}; choose one of {', '.join(SCENARIOS)}")
    return ScenarioWorld(build_scenario(name, seed, horizon_s=hours * 3600.0), hours)
