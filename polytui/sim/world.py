"""The simulated world every part of the simulator reads: scenario, clock, blocks, books.

One object, so the exchange, the market channel, the chain and the REST routes share the same
time and the same raw books without holding (or reaching into) the server. What happens is a
pure function of (scenario, seed, sim time); the only mutable state here is the start instant and
the set of markets already resolved.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from typing import Any

from polytui.sim.onchain import BLOCK_S, FIRST_BLOCK
from polytui.sim.scenario import Scenario, SimMarket, dated_question, scenario_token_price
from polytui.sim.wire import book_event, stable_hash
from polytui.sim.worlds.legacy import world_book

__all__ = ["BLOCK_S", "FIRST_BLOCK", "SimWorld"]


class SimWorld:
    """Scenario, sim clock (``speed`` × wall time), block numbering, resolved set, raw books."""

    def __init__(self, scenario: Scenario, speed: float = 1.0) -> None:
        self.scenario = scenario
        self.speed = speed
        self.t0 = time.monotonic()
        # A market that ended before the start (a world's past) is already settled.
        self.resolved: set[int] = {m.index for m in scenario.markets if m.end_s <= 0}
        # Markets served as Polymarket Protocol V2 (Gamma version "v2", traded by position id,
        # settled through ExchangeV3): condition ids.
        self.protocol_v2: set[str] = set()
        self._templates = [m.question for m in scenario.markets]
        self._wall0 = 0.0
        self.wall0 = time.time()

    @property
    def wall0(self) -> float:
        """Wall-clock unix time of sim time 0."""
        return self._wall0

    @wall0.setter
    def wall0(self, value: float) -> None:
        # Questions that name their end ("... on {end_date}?") follow the clock they run on:
        # the demo's start, or a backtest's epoch.
        self._wall0 = value
        self.scenario.markets = [
            replace(m, question=dated_question(template, self.wall(m.end_s)))
            for m, template in zip(self.scenario.markets, self._templates, strict=True)
        ]
        self._tokens = self.scenario.token_index()

    def start(self) -> None:
        """Sim time 0 is now."""
        self.t0 = time.monotonic()
        self.wall0 = time.time()

    # --- time -----------------------------------------------------------------------------------

    def now(self) -> float:
        """Sim seconds since start."""
        return (time.monotonic() - self.t0) * self.speed

    def wall(self, sim_t: float) -> float:
        """Wall-clock unix time of sim time ``sim_t``."""
        return self.wall0 + sim_t / self.speed

    def ms(self, sim_t: float) -> int:
        """Wall-clock unix milliseconds of sim time ``sim_t``."""
        return int(self.wall(sim_t) * 1000)

    async def sleep(self, sim_seconds: float) -> None:
        """Sleep ``sim_seconds`` of sim time."""
        await asyncio.sleep(sim_seconds / self.speed)

    # --- blocks ---------------------------------------------------------------------------------

    @staticmethod
    def step(t: float) -> int:
        """The book step (block count since start) at sim time ``t``."""
        return int(t // BLOCK_S)

    def first_block(self) -> int:
        """The block number at sim time 0 (a trade's block is the one mined at its time)."""
        trades = self.scenario.trades
        return trades[0].block - self.step(trades[0].t) if trades else FIRST_BLOCK

    def head_block(self) -> int:
        """The chain head now."""
        return self.first_block() + self.step(self.now())

    def block_time(self, number: int) -> float:
        """Sim time of block ``number`` (never before 0)."""
        return max(0.0, (number - self.first_block()) * BLOCK_S)

    def block_hash(self, number: int) -> str:
        """The deterministic hash of block ``number``."""
        return f"0x{stable_hash('block', number, self.scenario.seed):064x}"

    # --- markets --------------------------------------------------------------------------------

    def token(self, token: str) -> tuple[SimMarket, bool] | None:
        """(market, is_yes) of a token id, or None when the scenario has no such token."""
        return self._tokens.get(token)

    def is_resolved(self, market: SimMarket) -> bool:
        """Whether the market has resolved (the tick loop marks it at ``end_s``)."""
        return market.index in self.resolved

    def raw_book(self, token: str, t: float) -> dict[str, Any]:
        """The scenario's ``book`` event for a known token at sim time ``t`` (nothing consumed)."""
        market, is_yes = self._tokens[token]
        mid = scenario_token_price(market, is_yes, t)
        event = book_event(market, token, mid, self.step(t), self.ms(t))
        levels = world_book(market, token, self.step(t) * BLOCK_S)
        if levels is not None:  # a world's book: what its fills consumed, refilling over time
            event["bids"] = [{"price": p, "size": s} for p, s in levels[0]]
            event["asks"] = [{"price": p, "size": s} for p, s in levels[1]]
        return event
