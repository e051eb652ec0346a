"""The CLOB market channel (``/ws/market``: books, diffs, trades, resolutions) and RTDS (``/rtds``).

Both are fed by the tick loop from the scenario's trades; the market channel sends each
subscriber a full ``book`` first and then ``price_change`` diffs against what that subscriber
was last sent, so a client that applies every frame holds the same book as the REST route.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from aiohttp import web

from polytui.sim.hub import Client, Hub
from polytui.sim.scenario import SimMarket, SimTrade
from polytui.sim.wire import dumps, last_trade_event, price_change_event, resolved_event, rtds_frame
from polytui.sim.world import SimWorld

RTDS_DELAY_S = 1.9
STALL_ABOVE_ASSETS = 200

Book = Callable[[str, float], dict[str, Any]]
Levels = tuple[dict[str, str], dict[str, str]]


class MarketChannel:
    """Market-channel and RTDS subscribers, and what the scenario's clock sends them."""

    def __init__(self, world: SimWorld, hub: Hub, book: Book) -> None:
        self.world = world
        self.hub = hub
        self.book = book
        self.ground_truth: list[SimTrade] = []
        self.sent_trades = 0
        self.sent_rtds = 0
        # Like the real channel in early 2026: markets resolve but no market_resolved is sent.
        self.drop_resolved = False
        # Like RTDS activity/trades after it left the docs: sockets open, PING answered, no trades.
        self.rtds_trades_gone = False
        # Like the real channel: a connection holding more assets than this stalls silently —
        # the socket stays open and PING is answered, but no data frame comes (nautilus_trader
        # caps its connections at 200 for this reason). None: never.
        self.stall_above: int | None = STALL_ABOVE_ASSETS
        # Injected latency: a subscription is answered this long after it arrives, without
        # holding the socket's later messages (see SimServer.inject_latency).
        self.answer_delay_s = 0.0
        self._answers: set[asyncio.Task[None]] = set()

    def stalled(self, client: Client) -> bool:
        """Whether this market-channel connection holds too many assets to get data."""
        return self.stall_above is not None and len(client.tokens) > self.stall_above

    async def ws_clob(self, request: web.Request) -> web.WebSocketResponse:
        """``/ws/market``."""
        return await self.hub.accept(request, "clob", self._on_clob_message)

    async def ws_rtds(self, request: web.Request) -> web.WebSocketResponse:
        """``/rtds``; the first frame is empty (PROTOCOL.md §1c)."""
        return await self.hub.accept(request, "rtds", self._on_rtds_message, first="")

    # --- what the clock sends -------------------------------------------------------------------

    async def publish_trades(self, t: float) -> None:
        """``last_trade_price`` at trade time; the RTDS frame ``RTDS_DELAY_S`` later."""
        world, trades = self.world, self.world.scenario.trades
        while self.sent_trades < len(trades) and trades[self.sent_trades].t <= t:
            trade = trades[self.sent_trades]
            self.sent_trades += 1
            self.ground_truth.append(trade)
            market = world.scenario.market(trade.market)
            event = last_trade_event(market, trade, world.ms(trade.t))
            await self.broadcast([event], {trade.token_id})
        due: list[dict[str, Any]] = []
        while self.sent_rtds < len(trades) and trades[self.sent_rtds].t + RTDS_DELAY_S <= t:
            trade = trades[self.sent_rtds]
            self.sent_rtds += 1
            due.append(rtds_frame(world.scenario, trade, world.wall(trade.t), world.ms(t)))
        if not due or self.rtds_trades_gone:
            return
        # Messages due together go out as one array, as the official client expects RTDS to
        # batch them (rs-clob-client-v2 parse_messages reads arrays and single objects).
        text = dumps(due[0] if len(due) == 1 else due)
        for client in self.hub.of_kind("rtds"):
            await self.hub.send(client, text)

    async def publish_resolutions(self, t: float) -> None:
        """Mark markets past their end resolved and announce it."""
        for market in self.world.scenario.markets:
            if not self.world.is_resolved(market) and t >= market.end_s:
                self.world.resolved.add(market.index)
                if self.drop_resolved:
                    continue
                await self.broadcast(
                    [resolved_event(market, self.world.ms(t))],
                    {market.yes_token, market.no_token},
                )

    async def publish_book_updates(self, t: float) -> None:
        """One ``price_change`` per market per subscriber with what moved since its last frame."""
        for client in self.hub.of_kind("clob"):
            if self.stalled(client):
                continue
            by_market: dict[str, tuple[SimMarket, list[tuple[str, str, str, str]]]] = {}
            for token in sorted(client.tokens):
                found = self.world.token(token)
                if found is None or token not in client.sent_books:
                    continue
                new = levels_of(self.book(token, t))
                changes = diff(token, client.sent_books[token], new)
                client.sent_books[token] = new
                if changes:
                    by_market.setdefault(found[0].condition_id, (found[0], []))[1].extend(changes)
            for market, changes in by_market.values():
                event = price_change_event(market, changes, self.world.ms(t))
                await self.hub.send(client, dumps(event))

    async def broadcast(self, events: list[dict[str, Any]], tokens: set[str]) -> None:
        """Send events to every market-channel client subscribed to one of ``tokens``."""
        for client in self.hub.of_kind("clob"):
            if client.tokens & tokens and not self.stalled(client):
                await self.hub.send(client, dumps(events))

    # --- what clients send ----------------------------------------------------------------------

    async def _on_clob_message(self, client: Client, text: str) -> None:
        if text == "PING":
            if not self.hub.silent():
                await self.hub.send(client, "PONG")
            return
        try:
            message = json.loads(text)
        except ValueError:
            return
        if not isinstance(message, dict):
            return
        tokens = [str(t) for t in message.get("assets_ids") or []]
        if message.get("operation", "subscribe") == "unsubscribe":
            client.tokens.difference_update(tokens)
            for token in tokens:
                client.sent_books.pop(token, None)
            return
        new = [t for t in tokens if t not in client.tokens]
        client.tokens.update(new)
        if self.stalled(client):
            return
        initial = "operation" not in message
        if self.answer_delay_s <= 0:
            await self._answer(client, new, initial)
            return
        task = asyncio.create_task(self._answer(client, new, initial, self.answer_delay_s))
        self._answers.add(task)
        task.add_done_callback(self._answers.discard)

    async def _answer(
        self, client: Client, new: list[str], initial: bool, delay_s: float = 0.0
    ) -> None:
        if delay_s > 0:
            await asyncio.sleep(delay_s)
        if new:
            await self._send_books(client, new, self.world.now())
        elif initial:
            await self.hub.send(client, "[]")

    async def _send_books(self, client: Client, tokens: list[str], t: float) -> None:
        events = []
        for token in tokens:
            if self.world.token(token) is None:
                continue
            event = self.book(token, t)
            client.sent_books[token] = levels_of(event)
            events.append(event)
        await self.hub.send(client, dumps(events))

    async def _on_rtds_message(self, client: Client, text: str) -> None:
        if text == "PING" and not self.hub.silent():
            await self.hub.send(client, "")


def levels_of(event: dict[str, Any]) -> Levels:
    """(bids, asks) of a book event as price → size."""
    return (
        {lvl["price"]: lvl["size"] for lvl in event["bids"]},
        {lvl["price"]: lvl["size"] for lvl in event["asks"]},
    )


def diff(token: str, old: Levels, new: Levels) -> list[tuple[str, str, str, str]]:
    """The (token, price, size, side) changes from ``old`` to ``new`` (size "0" = level gone)."""
    changes: list[tuple[str, str, str, str]] = []
    for side, before, after in (("BUY", old[0], new[0]), ("SELL", old[1], new[1])):
        for price in sorted(set(before) | set(after)):
            size = after.get(price, "0")
            if before.get(price) != size:
                changes.append((token, price, size, side))
    return changes
