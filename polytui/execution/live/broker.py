"""``LiveBroker``: rules → sign → record → POST once → reconcile → follow → report.

The order-safety rules it keeps are numbered in the package docstring
(:mod:`polytui.execution.live`). This module only sequences them; the rules themselves, the
signing, the REST calls, the start-up checks and the user-channel state each have their own
module.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from decimal import Decimal
from typing import Any

import httpx

from polytui.clock import Clock
from polytui.execution.broker import ExecutionReport
from polytui.execution.live.allowances import AllowanceSync, allowance_refusal
from polytui.execution.live.cancels import Cancels
from polytui.execution.live.clob_rest import ClobRest, definite_refusal, error_of, json_or_none
from polytui.execution.live.credentials import LiveCredentials
from polytui.execution.live.errors import plain_error, short
from polytui.execution.live.heartbeat import Heartbeat
from polytui.execution.live.reconcile import RECONCILE_ERRORS, OrderLookup
from polytui.execution.live.signer import OrderSigner, PricedOrder, SignedOrder, price_order
from polytui.execution.live.startup import StartChecks, StartReport
from polytui.execution.live.tracking import OrderTracker, TrackedOrder
from polytui.feeds.user import user_channel
from polytui.model import (
    Fill,
    Market,
    Order,
    OrderStatus,
    OrderType,
    Side,
)
from polytui.settings import Settings

log = logging.getLogger(__name__)

# The CLOB ends a GTD order this long before its expiry (and wants it ≥ 3 minutes ahead).
GTD_SECURITY_S = 60

OrderHook = Callable[[Order], None]
FillHook = Callable[[Fill], None]
RecordHook = Callable[[str, str, dict[str, Any]], None]


class LiveBroker:
    """Executes orders on the CLOB V2 (see the package docstring for the whole lifecycle)."""

    name = "live"

    def __init__(
        self,
        settings: Settings,
        credentials: LiveCredentials,
        clock: Clock,
        *,
        http: httpx.AsyncClient | None = None,
        reconcile_looks: int = 3,
        reconcile_gap_s: float = 0.5,
        poll_s: float = 1.0,
    ) -> None:
        self.settings = settings
        self.live = settings.live
        self.clock = clock
        self.entry_order_type = OrderType(self.live.order_type)
        self.exit_order_type = OrderType(self.live.exit_order_type)
        self.poll_s = poll_s
        self._own_http = http is None
        http = http or httpx.AsyncClient(
            timeout=httpx.Timeout(settings.feeds.http_timeout_s),
            headers={"User-Agent": "polytui", "Accept": "application/json"},
        )
        self.signer = OrderSigner(self.live, credentials)
        self.clob = ClobRest(settings.feeds.clob_rest_url, http, self.signer)
        self._ready: asyncio.Event | None = None
        self._blocked: str | None = "live start-up checks have not run yet"
        self.tracker = OrderTracker(
            clock,
            emit=self._emit,
            record=self._record,
            late_fill=self._late_fill,
            broker_name=self.name,
        )
        self.on_order: OrderHook | None = None
        self.on_fill: FillHook | None = None
        self.on_record: RecordHook | None = None
        self.post_latencies_ms: list[float] = []
        # perf_counter() at: execute() entered, POST sent (signed), POST answered.
        self.timings: list[tuple[float, float, float]] = []
        self.feed = user_channel(
            settings.feeds, auth=self.signer.user_auth, on_event=self.tracker.on_event
        )
        self.lookup = OrderLookup(
            self.clob, self.tracker, looks=reconcile_looks, gap_s=reconcile_gap_s
        )
        self.cancels = Cancels(
            self.clob, self.tracker, self.lookup, emit=self._emit, record=self._record
        )
        self.allowances = AllowanceSync(self.clob, settings.feeds.http_timeout_s)
        self.heartbeat = Heartbeat(self.clob, self.live.heartbeat_s, settings.feeds.http_timeout_s)
        self._checks = StartChecks(
            self.live, self.clob, settings.feeds.data_api_url, self.tracker.applied, self.name
        )
        self._checks.allowances = self.allowances

    # --- wiring -------------------------------------------------------------------------------

    def bind(
        self,
        *,
        on_order: OrderHook | None = None,
        on_fill: FillHook | None = None,
        on_record: RecordHook | None = None,
    ) -> None:
        """Engine callbacks: journal a status change, apply a late fill, journal a record."""
        self.on_order = on_order
        self.on_fill = on_fill
        self.on_record = on_record

    @property
    def funder(self) -> str:
        """The address holding the funds: the proxy/safe, or the EOA itself."""
        return self.signer.funder

    @property
    def rest(self) -> str:
        """The CLOB REST base URL."""
        return self.clob.base

    @rest.setter
    def rest(self, url: str) -> None:
        self.clob.base = url.rstrip("/")

    def _ready_event(self) -> asyncio.Event:
        if self._ready is None:
            self._ready = asyncio.Event()
        return self._ready

    # --- start-up -------------------------------------------------------------------------------

    async def start(self, positions: Mapping[str, Decimal], journal: Any = None) -> StartReport:
        """Clock skew, balance and allowance, then open orders and positions vs the journal."""
        report = StartReport()
        ready = self._ready_event()
        try:
            await self._checks.run(report, positions, journal)
        except Exception as exc:  # any failure here means: do not trade
            log.debug("live start-up failed", exc_info=True)
            report.ok = False
            report.notices.append(("error", f"live start-up failed: {plain_error(exc)}"))
        self._blocked = None if report.ok else "live start-up checks failed (see notices)"
        if report.ok:
            self.heartbeat.start()  # from now on a crash cancels our resting orders in ~10 s
        if not report.ok and not any(level == "error" for level, _ in report.notices):
            report.notices.append(("error", "live orders refused until the checks pass"))
        ready.set()
        self._record("reconcile", "start", report.record())
        return report

    # --- execution ------------------------------------------------------------------------------

    async def execute(
        self,
        order: Order,
        market: Market | None,
        *,
        sized_price: Decimal,
        whale_price: Decimal,
        source: str = "",
    ) -> ExecutionReport:
        """Check, sign, POST once, then follow the trades to CONFIRMED or FAILED."""
        entered = time.perf_counter()
        exit_order = not order.intent_id
        order_type = self.exit_order_type if exit_order else self.entry_order_type
        order = replace(order, broker=self.name, order_type=order_type)
        history: list[Order] = []

        def refuse(reason: str) -> ExecutionReport:
            self._emit(replace(order, status=OrderStatus.REJECTED, reason=reason), history)
            return ExecutionReport(history, [], reason)

        ready = self._ready_event()
        if not ready.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(ready.wait(), timeout=self.settings.feeds.http_timeout_s)
        resting = exit_order and self.tracker.exit_resting(order.token_id)
        priced = self._blocked or price_order(order, market, exit_resting=resting)
        if isinstance(priced, str):
            return refuse(priced)
        assert market is not None  # price_order refuses an order without a market
        if order.side is Side.SELL:  # the CLOB's cache knows a token's approval once refreshed
            await self.allowances.before_sell(order.token_id)
        prices = (sized_price, whale_price, source)
        retry = exit_order and order.side is Side.SELL
        sent = await self._send(order, market, priced, history, entered, prices, retry)
        if sent is None:
            # An exit refused "not enough balance / allowance": the CLOB's cache may be stale.
            # Refreshed, then signed and sent once more (a refusal took nothing: no double).
            await self.allowances.refresh("CONDITIONAL", order.token_id)
            reason = "CLOB: not enough balance / allowance; allowance refreshed, sending again"
            self._emit(replace(order, status=OrderStatus.NEW, reason=reason), history)
            sent = await self._send(order, market, priced, history, entered, prices, False)
        assert sent is not None  # no second retry
        return sent

    async def _send(
        self,
        order: Order,
        market: Market,
        priced: PricedOrder,
        history: list[Order],
        entered: float,
        prices: tuple[Decimal, Decimal, str],
        may_retry: bool,
    ) -> ExecutionReport | None:
        """Sign, record, POST once and follow; None: refused for allowance, may be retried."""
        order_type = order.order_type
        sized_price, whale_price, source = prices

        def refuse(reason: str) -> ExecutionReport:
            self._emit(replace(order, status=OrderStatus.REJECTED, reason=reason), history)
            return ExecutionReport(history, [], reason)

        expiration = 0
        if order_type is OrderType.GTD:
            expiration = int(self.signer.now_s()) + GTD_SECURITY_S + self.live.exit_gtd_s
        try:
            signed = await asyncio.to_thread(
                self.signer.sign,
                order.side,
                order.token_id,
                priced.maker,
                priced.taker,
                market.neg_risk,
                expiration,
            )
        except Exception as exc:  # the signer's message never holds the key
            return refuse(f"signing failed: {type(exc).__name__}")
        signed.body["orderType"] = order_type.value
        order = replace(order, shares=priced.asked, limit_price=priced.limit)
        tracked = TrackedOrder(
            order=order,
            clob_id=signed.clob_id.lower(),
            market=market,
            signed_ms=signed.signed_ms,
            maker_amount=priced.maker,
            taker_amount=priced.taker,
            order_type=order_type,
            sized_price=sized_price,
            whale_price=whale_price,
            source=source,
            waiting=True,
            history=history,
        )
        self.tracker.forget_finished()
        self.tracker.track(tracked)
        self._record_signed(tracked, signed, priced)
        try:
            return await self._post_and_follow(tracked, signed, entered, may_retry)
        finally:
            tracked.waiting = False

    def _record_signed(
        self, tracked: TrackedOrder, signed: SignedOrder, priced: PricedOrder
    ) -> None:
        order = tracked.order
        self._record(
            "clob",
            order.id,
            {
                "event": "signed",
                "order_id": order.id,
                "clob_id": tracked.clob_id,
                "salt": signed.salt,
                "token_id": order.token_id,
                "side": order.side.value,
                "shares": str(priced.shares),
                "limit_price": str(priced.limit),
                "maker_amount": priced.maker,
                "taker_amount": priced.taker,
                "order_type": tracked.order_type.value,
                "signed_ms": signed.signed_ms,
            },
        )

    def _close(self, tracked: TrackedOrder, status: OrderStatus, reason: str) -> ExecutionReport:
        """The order is over without a fill: one last status, and the report."""
        self._emit(replace(tracked.order, status=status, reason=reason), tracked.history)
        tracked.closed = True
        return ExecutionReport(tracked.history, [], reason)

    async def _post_and_follow(
        self, tracked: TrackedOrder, signed: SignedOrder, entered: float, may_retry: bool
    ) -> ExecutionReport | None:
        text = json.dumps(signed.body, separators=(",", ":"))
        started = time.perf_counter()
        try:
            response = await self.clob.post_order(text, self.live.post_timeout_s)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            # No connection was made, so no byte of the order left: safe to say "not sent".
            reason = f"could not reach the CLOB ({type(exc).__name__}); nothing was sent"
            return self._close(tracked, OrderStatus.REJECTED, reason)
        except (httpx.TimeoutException, httpx.TransportError) as exc:
            # Sent, or maybe sent: the answer is lost. Ask the CLOB before anything else.
            return await self._reconciled(tracked, f"POST {type(exc).__name__}")
        answered = time.perf_counter()
        self.post_latencies_ms.append((answered - started) * 1000)
        self.timings.append((entered, started, answered))
        answer = json_or_none(response)
        if response.status_code != 200 or not isinstance(answer, dict):
            error = error_of(response)
            if definite_refusal(response.status_code, error):
                if may_retry and allowance_refusal(error):
                    tracked.closed = True  # refused: nothing of it is on the book
                    return None
                reason = f"CLOB refused the order: HTTP {response.status_code}: {error}"
                return self._close(tracked, OrderStatus.REJECTED, reason)
            # A 5xx (but the documented "order timed out"), a 425 or a 200 that is not JSON:
            # the order may have been taken. Reconciled by hash like a timeout, never resent.
            return await self._reconciled(tracked, f"POST HTTP {response.status_code}")
        return await self._follow(tracked, answer)

    async def _reconciled(self, tracked: TrackedOrder, why: str) -> ExecutionReport:
        """The POST's outcome is unknown: find the order by hash and follow it, or report it."""
        answer = await self._reconcile_lost_post(tracked, why)
        if answer is None:
            reason = (
                f"{why} and the CLOB has no record of {short(tracked.clob_id)} "
                "after reconciliation; not resent"
            )
            self._emit(
                replace(tracked.order, status=OrderStatus.REJECTED, reason=reason),
                tracked.history,
            )
            tracked.waiting = False
            return ExecutionReport(tracked.history, [], reason)
        return await self._follow(tracked, answer)

    async def _reconcile_lost_post(self, tracked: TrackedOrder, why: str) -> dict[str, Any] | None:
        order = tracked.order
        self._emit(
            replace(
                order,
                status=OrderStatus.UNKNOWN,
                reason=f"{why}; reconciling {short(tracked.clob_id)}",
            ),
            tracked.history,
        )
        answer = await self.lookup.find_order(tracked)
        self._record(
            "clob",
            order.id,
            {
                "event": "reconciled",
                "clob_id": tracked.clob_id,
                "found": answer is not None,
                "status": "" if answer is None else str(answer.get("status", "")),
            },
        )
        return answer

    async def _follow(self, tracked: TrackedOrder, answer: dict[str, Any]) -> ExecutionReport:
        order = tracked.order
        error = str(answer.get("errorMsg") or answer.get("error_msg") or answer.get("error") or "")
        if answer.get("success") is False or (error and not answer.get("orderID")):
            reason = f"CLOB refused the order: {error or 'no reason given'}"
            return self._close(tracked, OrderStatus.REJECTED, reason)
        status = str(answer.get("status", "")).lower()
        returned = str(answer.get("orderID") or "").lower()
        if returned and returned != tracked.clob_id:
            log.warning(
                "CLOB order id %s differs from the signed hash %s",
                short(returned),
                short(tracked.clob_id),
            )
            self.tracker.track(tracked, returned)
        tracked.expected_trades.update(str(t) for t in answer.get("tradeIDs") or [] if t)
        self._record(
            "clob",
            order.id,
            {
                "event": "posted",
                "clob_id": tracked.clob_id,
                "status": status,
                "trade_ids": sorted(tracked.expected_trades),
            },
        )
        if status == "canceled":  # (reconciliation: the CLOB closed it with nothing matched)
            reason = f"{tracked.order_type.value}: nothing matched at {order.limit_price} or better"
            return self._close(tracked, OrderStatus.CANCELLED, reason)
        # "unmatched": the docs say a marketable order whose taker delay ran out without a
        # match is *placed on the book*; the ts-sdk reads it as a rejection. The safer reading
        # wins: it may rest. Likewise a "delayed" order rests if its delayed match finds
        # nothing. Both are followed as resting (the duplicate-exit guard sees them, the
        # engine counts them in flight until this call returns, and they are cancelled at
        # ``confirm_timeout_s``), and an "unmatched" one is looked up by hash at once.
        tracked.resting = status in ("live", "unmatched", "delayed")
        if status == "unmatched":
            with contextlib.suppress(*RECONCILE_ERRORS):
                await self.lookup.refresh(tracked)
        self._emit(
            replace(
                order,
                status=OrderStatus.POSTED,
                reason=f"clob {short(tracked.clob_id)}: {status or 'accepted'}",
            ),
            tracked.history,
        )
        finished = await self._await_final(tracked)
        return self._final_report(tracked, finished)

    def _final_report(self, tracked: TrackedOrder, finished: bool) -> ExecutionReport:
        status, reason, fills = tracked.outcome(finished, self.live.confirm_timeout_s)
        self._emit(replace(tracked.order, status=status, reason=reason), tracked.history)
        return ExecutionReport(tracked.history, fills, reason)

    async def _await_final(self, tracked: TrackedOrder) -> bool:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.live.confirm_timeout_s
        last_news = loop.time()
        while not tracked.is_final():
            left = deadline - loop.time()
            if left <= 0:
                if tracked.resting and not tracked.closed and not tracked.cancel_tried:
                    await self._cancel_one(tracked)
                    continue
                return False
            tracked.changed.clear()
            try:
                await asyncio.wait_for(tracked.changed.wait(), timeout=min(left, self.poll_s))
                last_news = loop.time()
            except TimeoutError:
                pass
            if not self.feed.connected or loop.time() - last_news >= 2 * self.poll_s:
                # The user channel is down or has said nothing lately: ask the REST API.
                with contextlib.suppress(*RECONCILE_ERRORS):
                    await self.lookup.poll_trades(tracked)
                if tracked.resting and not tracked.closed:
                    with contextlib.suppress(*RECONCILE_ERRORS):
                        await self.lookup.refresh(tracked)
        return True

    async def _cancel_one(self, tracked: TrackedOrder) -> None:
        await self.cancels.cancel_one(tracked, self.live.confirm_timeout_s)

    # --- kill switch ----------------------------------------------------------------------------

    async def cancel_all(self) -> int:
        """``DELETE /cancel-all``: every open order of this account, ours or not."""
        return await self.cancels.cancel_all()

    # --- plumbing -------------------------------------------------------------------------------

    def _emit(self, order: Order, history: list[Order]) -> None:
        """One status change: journaled at once through the engine, or kept for the report."""
        if self.on_order is not None:
            self.on_order(order)
        else:
            history.append(order)

    def _record(self, kind: str, ref: str, payload: dict[str, Any]) -> None:
        if self.on_record is not None:
            self.on_record(kind, ref, payload)

    def _late_fill(self, fill: Fill) -> None:
        if self.on_fill is not None:
            self.on_fill(fill)

    async def close(self) -> None:
        """Stop the heartbeats and the user channel, and close the HTTP client."""
        await self.heartbeat.stop()
        await self.feed.stop()
        if self._own_http:
            await self.clob.http.aclose()
