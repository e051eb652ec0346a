"""Shared set-up for the live-broker tests: a simulator account, settings pointing at it, and a
live broker bound to a real journal (``Harness``) with the orders the tests send."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from polytui import events as ev
from polytui.bus import Subscription
from polytui.clock import SystemClock
from polytui.config import apply_overrides
from polytui.execution.broker import ExecutionReport
from polytui.execution.live import LiveBroker, LiveCredentials, StartReport
from polytui.feeds.gamma import MarketDirectory
from polytui.feeds.http import make_client
from polytui.journal import Journal
from polytui.model import IntentStatus, Market, Order, OrderType, Side, TradeIntent
from polytui.settings import Settings
from polytui.sim.server import SimServer

# A throwaway test key (anvil's first account); no real funds anywhere.
PRIVATE_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
ADDRESS = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"


def live_settings(sim: SimServer, data_dir: Path, policy: str = "manual") -> Settings:
    """Live mode against the simulator; fast settlement so a test takes seconds."""
    s = apply_overrides(Settings(), sim.settings_overrides())
    s.mode = "live"
    s.feeds.clob_user_ws_url = sim.urls["clob_user_ws_url"]
    s.storage.data_dir = data_dir
    s.approval.policy = policy
    s.strategy.prior_edge, s.strategy.confidence_z = Decimal("0.2"), Decimal(0)
    s.live.post_timeout_s = 2.0
    s.live.confirm_timeout_s = 15.0
    sim.exchange.mined_after_s = 0.6
    sim.exchange.confirmed_after_s = 1.2
    sim.exchange.retry_after_s = 0.6
    return s


def live_env(sim: SimServer) -> dict[str, str]:
    """The four secrets, as `polytui keys derive` would export them for the simulator."""
    creds = sim.exchange.api_key(ADDRESS)
    return {
        "POLYTUI_PRIVATE_KEY": PRIVATE_KEY,
        "POLYTUI_API_KEY": creds.key,
        "POLYTUI_API_SECRET": creds.secret,
        "POLYTUI_API_PASSPHRASE": creds.passphrase,
    }


async def wait_until(check: Callable[[], bool], timeout: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        if loop.time() > deadline:
            raise TimeoutError("condition not reached")
        await asyncio.sleep(0.05)


async def first_pending(sub: Subscription, timeout: float = 20) -> TradeIntent:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        for event in await sub.wait(0.5):
            if isinstance(event, ev.IntentUpdated) and event.intent.status is IntentStatus.PENDING:
                return event.intent
    raise TimeoutError("no pending intent from the simulator's whales")


class Harness:
    """A live broker bound to a real journal, its feed running, like the engine does it.

    ``channel=False`` leaves the user channel down (the broker then learns of fills from REST
    alone). Leaving the block closes the broker and the journal.
    """

    def __init__(
        self, sim: SimServer, tmp_path: Path, *, channel: bool = True, **settings: Any
    ) -> None:
        self.sim = sim
        self.channel = channel
        self.settings = live_settings(sim, tmp_path)
        for key, value in settings.items():
            setattr(self.settings.live, key, value)
        self.journal = Journal.open(tmp_path / "live.db", mode="live")
        creds = LiveCredentials.from_env(self.settings, live_env(sim))
        self.broker = LiveBroker(
            self.settings, creds, SystemClock(), reconcile_gap_s=0.3, poll_s=0.5
        )
        self.statuses: list[Order] = []
        self.late: list[Any] = []
        self.broker.bind(
            on_order=self.statuses.append,
            on_fill=self.late.append,
            on_record=lambda kind, ref, payload: self.journal.append(
                kind, payload, ref=ref, durable=True
            ),
        )
        self.markets = MarketDirectory(make_client(), self.settings.feeds.gamma_url)
        self._feed: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Harness:
        if self.channel:
            self._feed = asyncio.create_task(self.broker.feed.run())
            await wait_until(lambda: self.broker.feed.connected, 5)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.broker.close()
        if self._feed is not None:
            self._feed.cancel()
        self.journal.close()

    async def start(self) -> StartReport:
        """The broker's start-up checks with nothing held."""
        return await self.broker.start({}, self.journal)

    async def market(self, index: int = 0) -> tuple[Market, str, Decimal]:
        """(market, its YES token, the token's best ask) of scenario market ``index``."""
        m = self.sim.scenario.markets[index]
        market = await self.markets.get_by_token(m.yes_token)
        assert market is not None
        book = self.sim.rest_book(m.yes_token)
        assert book is not None
        return market, m.yes_token, Decimal(book["asks"][-1]["price"])

    def order(
        self, token: str, side: Side, shares: str, price: Decimal, intent: str = "int-1"
    ) -> Order:
        return Order(
            id=f"ord-{len(self.statuses)}",
            intent_id=intent,
            token_id=token,
            side=side,
            shares=Decimal(shares),
            limit_price=price,
            order_type=OrderType.FAK,
            created_at=datetime.now().astimezone(),
        )

    async def buy(
        self,
        market: Market,
        token: str,
        ask: Decimal,
        shares: str = "10",
        over: Decimal = Decimal("0.02"),
    ) -> ExecutionReport:
        """An entry for ``shares`` limited ``over`` above the ask it was sized on."""
        order = self.order(token, Side.BUY, shares, ask + over)
        return await self.broker.execute(order, market, sized_price=ask, whale_price=ask)

    async def bought(self, market: Market, token: str, ask: Decimal, shares: str = "10") -> None:
        """An entry that must fill whole."""
        entry = await self.buy(market, token, ask, shares)
        assert entry.filled_shares == Decimal(shares), entry.reason

    def sell(
        self, market: Market, token: str, ask: Decimal, price: Decimal = Decimal("0.99")
    ) -> Coroutine[Any, Any, ExecutionReport]:
        """An exit (no intent) of 10 shares at ``price``, far above the book unless it moves."""
        order = self.order(token, Side.SELL, "10", price, intent="")
        return self.broker.execute(order, market, sized_price=ask, whale_price=ask)

    async def resting_sell(self) -> Any:
        """The one sell of ours resting on the simulator's book, once it rests."""
        await wait_until(lambda: any(self._resting_sells()), 5)
        (resting,) = self._resting_sells()
        return resting

    def _resting_sells(self) -> list[Any]:
        return [o for o in self.sim_orders() if o.side == "SELL" and o.status == "LIVE"]

    def sim_orders(self) -> list[Any]:
        return [o for o in self.sim.exchange.orders.values() if o.maker.lower() == ADDRESS.lower()]


async def buy_from_funder(
    sim: SimServer, tmp_path: Path, signature_type: str, funder: str
) -> Harness:
    """A key trading for a wallet it owns (proxy, Safe or deposit wallet) that holds 250 pUSD:
    the start-up checks see the wallet, and 10 shares bought land in it, not in the key's EOA.
    Returns the (closed) harness."""
    sim.exchange.link_wallet(ADDRESS, funder)
    sim.exchange.set_balance(funder, 250)
    async with Harness(sim, tmp_path, signature_type=signature_type, funder=funder) as h:
        report = await h.start()
        assert report.ok and report.funder == funder and report.balance_usd == Decimal(250)
        market, token, ask = await h.market()
        result = await h.buy(market, token, ask)
        assert result.filled_shares == Decimal(10), result.reason
        held = {r["asset"]: r["size"] for r in sim.exchange.positions(funder)}
        assert held == {token: Decimal("10")} and sim.exchange.positions(ADDRESS) == []
    return h
