"""The order desk: orders from intents and exits, in flight, and their exposure meanwhile.

It builds each ``Order``, sends it to the broker in a task of its own, counts a buy's money
against the limits until the broker reports, keeps one exit per token at a time, and turns a
broker exception into a failed order. It writes nothing: the engine journals and applies what
the desk hands back.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any, NamedTuple

from polytui.clock import Clock
from polytui.engine.ports import AsyncReports, Broker, ExecutionReport, Journal
from polytui.model import (
    Market,
    Order,
    OrderStatus,
    OrderType,
    PortfolioView,
    Side,
    TradeIntent,
    new_id,
)
from polytui.settings import Settings

log = logging.getLogger(__name__)


class PendingBuy(NamedTuple):
    """A buy sent and not yet reported: its money is exposure already."""

    condition_id: str
    token_id: str
    usd: Decimal


@dataclass(frozen=True, slots=True)
class OrderTypes:
    """The order types a broker sends: ``entry`` None takes ``[paper] order_type`` as it is
    now; ``exit`` None keeps the exit's own (the portfolio's FAK)."""

    entry: OrderType | None = None
    exit: OrderType | None = None


def with_pending_buys(view: PortfolioView, pending: list[PendingBuy]) -> PortfolioView:
    """``view`` with the buys on their way counted as cash spent and exposure taken."""
    if not pending:
        return view
    by_market = dict(view.exposure_by_market)
    new_tokens: set[str] = set()
    for condition, token, usd_amount in pending:
        by_market[condition] = by_market.get(condition, Decimal(0)) + usd_amount
        if view.shares_by_token.get(token, Decimal(0)) <= 0:
            new_tokens.add(token)
    extra = sum((buy.usd for buy in pending), Decimal(0))
    return replace(
        view,
        cash_usd=view.cash_usd - extra,
        total_exposure_usd=view.total_exposure_usd + extra,
        exposure_by_market=by_market,
        open_positions=view.open_positions + len(new_tokens),
    )


class OrderDesk:
    """Orders in flight: the tasks sending them and the buys not yet reported."""

    def __init__(
        self, broker: Broker, settings: Settings, clock: Clock, types: OrderTypes | None = None
    ) -> None:
        self.broker = broker
        self.settings = settings
        self.clock = clock
        self.types = types or OrderTypes()
        self.in_flight: set[asyncio.Task[None]] = set()
        self._pending_buys: dict[str, PendingBuy] = {}

    def reload(self, settings: Settings) -> None:
        """The settings a reload brought (the paper order type among them)."""
        self.settings = settings

    # --- building orders ------------------------------------------------------------------

    def entry_order(self, intent: TradeIntent) -> Order:
        """The order an approved intent sends."""
        entry = self.types.entry or OrderType(self.settings.paper.order_type)
        return Order(
            id=new_id("ord"),
            intent_id=intent.id,
            token_id=intent.token_id,
            side=intent.side,
            shares=intent.shares,
            limit_price=intent.limit_price,
            order_type=entry,
            created_at=self.clock.now(),
            broker=self.broker.name,
        )

    def exit_order(self, order: Order, why: str) -> Order | None:
        """The exit to send for ``order``, or None while an exit of that token is in flight:
        a second close would sell shares that are already being sold."""
        if any(t.get_name() == f"exit:{order.token_id}" for t in self.in_flight):
            return None
        return replace(
            order,
            id=new_id("ord"),
            broker=self.broker.name,
            reason=why,
            order_type=self.types.exit or order.order_type,
        )

    # --- sending --------------------------------------------------------------------------

    def launch(self, work: Coroutine[Any, Any, None], name: str) -> None:
        """Run ``work`` (one order's whole path) as a task the engine waits for at stop."""
        task = asyncio.create_task(work, name=name)
        self.in_flight.add(task)
        task.add_done_callback(self.in_flight.discard)

    async def execute(
        self, order: Order, market: Market | None, *, sized_price: Decimal, whale_price: Decimal
    ) -> ExecutionReport:
        """Send one order; a broker exception comes back as the order, failed."""
        if order.side is Side.BUY:
            # Until the broker reports, the order's money counts against the limits: a live
            # fill reaches the portfolio only at CONFIRMED, seconds after the match.
            condition = market.condition_id if market is not None else order.token_id
            cost = order.shares * order.limit_price
            self._pending_buys[order.id] = PendingBuy(condition, order.token_id, cost)
        try:
            return await self.broker.execute(
                order, market, sized_price=sized_price, whale_price=whale_price
            )
        except Exception as exc:  # a broker bug must not kill the engine
            log.exception("broker failed on %s", order.id)
            failed = replace(order, status=OrderStatus.FAILED, reason=f"broker error: {exc}")
            return ExecutionReport(orders=[failed])
        finally:
            self._pending_buys.pop(order.id, None)

    async def start(
        self, reports: AsyncReports, positions: Mapping[str, Decimal], journal: Journal
    ) -> tuple[list[tuple[str, str]], Decimal | None]:
        """A live broker's start-up checks: the notices to show, and the exchange's balance
        (None unless the checks passed). A start-up bug is a notice, never a crash."""
        try:
            report = await reports.start(positions, journal)
        except Exception as exc:  # a start-up bug must not kill the engine
            log.exception("broker start-up failed")
            return [("error", f"broker start-up failed: {type(exc).__name__}")], None
        return list(report.notices), report.balance_usd if report.ok else None

    async def wait(self, timeout_s: float) -> None:
        """Wait (at most ``timeout_s``) for the orders in flight to finish."""
        if self.in_flight:
            await asyncio.wait(self.in_flight, timeout=timeout_s)

    # --- views ----------------------------------------------------------------------------

    def pending_buys(self) -> list[PendingBuy]:
        """Buys sent and not yet reported."""
        return list(self._pending_buys.values())

    def view(self, view: PortfolioView) -> PortfolioView:
        """``view`` with the buys in flight counted (see :func:`with_pending_buys`)."""
        return with_pending_buys(view, self.pending_buys())
