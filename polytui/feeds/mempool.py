"""Pending ``matchOrders`` transactions → tentative whale trades, ~0.65 s after the match.

The operator's settlement transaction is in the public mempool about 0.65 s after the CLOB
match (92-94 % of trades; HISTORY-MEMPOOL-REMOTE.md §2.2), well before RTDS (~1.9 s) and the
``OrderFilled`` log (~2.2 s). ``eth_subscribe("newPendingTransactions", true)`` on the user's
Polygon node sends every pending transaction as a full object; the ones sent to a V2 exchange
with the ``matchOrders`` selector are decoded (:mod:`polytui.feeds.matchorders`) and each
watched owner's order becomes a trade marked ``pending_tx``.

A pending trade is tentative. The chain source's logs of the same transaction confirm it (in the
merged stream); this feed follows each transaction it emitted until that happens and retracts
its trades, with the reason, when the transaction is replaced (another pending transaction with
the same sender and nonce, or that nonce mined in another transaction), dropped from the pool,
reverted (a receipt with status 0) or not mined within ``max_pending_blocks`` blocks. A node
that refuses the subscription turns the source off with a notice; nothing else depends on it.

Frames are parsed as JSON (orjson) straight off the socket: no web3 formatting on this path.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson

from polytui.feeds.chain import redact_url
from polytui.feeds.connection import WsFeed
from polytui.feeds.matchorders import (
    CalldataError,
    decode_match_orders,
    is_match_orders,
    pending_trades,
)
from polytui.model import FeedState, FeedStatus, WhaleTrade

log = logging.getLogger(__name__)

PENDING_SUB_ID = 1
HEADS_SUB_ID = 2
REQUEST_TIMEOUT_S = 5.0
LOOKUPS_AT_ONCE = 16
TRACKED_MAX = 10_000


@dataclass(slots=True)
class _Tracked:
    """A transaction we emitted trades from, until it is mined or retracted."""

    tx_hash: str
    sender: str
    nonce: int
    seen_head: int


class MempoolFeed:
    """Full pending-transaction subscription on the exchanges, filtered to watched owners."""

    def __init__(
        self,
        url: str,
        *,
        addresses: list[str],
        wallets: set[str] | None,
        on_trade: Callable[[WhaleTrade], None],
        on_retract: Callable[[str, str], None],
        on_notice: Callable[[str, str], None] | None = None,
        discovery_min_usd: Decimal | None = None,
        silence_s: float = 60.0,
        backoff_initial_s: float = 0.5,
        backoff_cap_s: float = 30.0,
        check_every_s: float = 2.0,
        max_pending_blocks: int = 30,
        monotonic: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        tap: Callable[[str], None] | None = None,
    ) -> None:
        self.name = "mempool"
        # A recording keeps what this source acted on (each matchOrders transaction it read and
        # each retraction), not the whole mempool, so a replay needs no node.
        self.tap = tap
        self.exchanges = {a.lower() for a in addresses}
        self.wallets = {w.lower() for w in wallets or set()}
        self.on_trade = on_trade
        self.on_retract = on_retract
        self.on_notice = on_notice
        self.discovery_min_usd = discovery_min_usd
        self.check_every_s = check_every_s
        self.max_pending_blocks = max_pending_blocks
        self.monotonic = monotonic
        self.wall_clock = wall_clock
        self.ws = WsFeed(
            "mempool",
            url,
            on_frame=self.handle_frame,
            subscribe_messages=self._subscribe_messages,
            # The node's heads (every ~2 s) are the data that proves liveness; no text keepalive.
            ping_interval_s=3600.0,
            ping_text=_request(0, "net_version", []),
            silence_s=silence_s,
            backoff_initial_s=backoff_initial_s,
            backoff_cap_s=backoff_cap_s,
            monotonic=monotonic,
            redacted_url=redact_url(url),
        )
        self._subs: dict[str, int] = {}
        self._tracked: dict[str, _Tracked] = {}
        self._by_nonce: dict[tuple[str, int], str] = {}
        self._replies: dict[int, asyncio.Future[Any]] = {}
        self._ids = itertools.count(100)
        self._head = 0
        self._head_seen = asyncio.Event()
        self.refused = ""
        self.matches = 0  # matchOrders calls seen to the exchanges
        self.emitted = 0
        self.retracted: dict[str, int] = {}
        self.confirmed_mined = 0

    # --- wire -----------------------------------------------------------------------------------

    def _subscribe_messages(self) -> list[str]:
        self._subs.clear()
        return [
            _request(PENDING_SUB_ID, "eth_subscribe", ["newPendingTransactions", True]),
            _request(HEADS_SUB_ID, "eth_subscribe", ["newHeads"]),
        ]

    def handle_frame(self, frame: str) -> None:
        """One JSON-RPC frame: a subscription note or the answer to one of our requests."""
        try:
            message = orjson.loads(frame)
        except orjson.JSONDecodeError:
            self.ws.count_rejected("not JSON", frame)
            return
        if not isinstance(message, dict):
            self.ws.count_rejected("not an object", frame)
            return
        params = message.get("params")
        if message.get("method") == "eth_subscription" and isinstance(params, dict):
            kind = self._subs.get(str(params.get("subscription")))
            result = params.get("result")
            if kind == PENDING_SUB_ID:
                self.handle_pending(result)
            elif kind == HEADS_SUB_ID and isinstance(result, dict):
                self._on_head(result)
            return
        rid = message.get("id")
        if rid in (PENDING_SUB_ID, HEADS_SUB_ID):
            self._on_subscribed(int(rid), message)
        elif isinstance(rid, int):
            future = self._replies.pop(rid, None)
            if future is not None and not future.done():
                future.set_result(message)

    def _on_subscribed(self, rid: int, message: dict[str, Any]) -> None:
        if "result" in message:
            self._subs[str(message["result"])] = rid
            return
        error = message.get("error")
        text = error.get("message") if isinstance(error, dict) else error
        if rid == PENDING_SUB_ID:
            self._refuse(f"the node refuses newPendingTransactions subscriptions ({text})")
        else:
            self.ws.count_rejected("newHeads refused", str(text))

    def _refuse(self, why: str) -> None:
        """Turn the source off for this run: a clear notice, and the other sources go on."""
        if self.refused:
            return
        self.refused = f"mempool source off: {why}"
        log.warning("%s", self.refused)
        if self.on_notice is not None:
            self.on_notice("warning", self.refused)
        with contextlib.suppress(RuntimeError):
            asyncio.get_running_loop().create_task(self.ws.stop())

    def _on_head(self, head: dict[str, Any]) -> None:
        with contextlib.suppress(TypeError, ValueError):
            self._head = max(self._head, int(str(head.get("number")), 16))
        for tracked in self._tracked.values():
            if not tracked.seen_head:  # seen before the first head: counted from this one
                tracked.seen_head = self._head
        self._head_seen.set()

    def handle_pending(self, tx: object) -> None:
        """One pending transaction (a full object): the subscription's, or a backtest's."""
        if isinstance(tx, str):
            self._refuse("the node sends transaction hashes only, not full transactions")
            return
        if not isinstance(tx, dict):
            self.ws.count_rejected("pending tx not an object", repr(tx))
            return
        try:
            tx_hash = str(tx["hash"]).lower()
            sender = str(tx["from"]).lower()
            nonce = int(str(tx["nonce"]), 16)
        except (KeyError, TypeError, ValueError):
            self.ws.count_rejected("pending tx without hash/from/nonce", repr(tx)[:200])
            return
        earlier = self._by_nonce.get((sender, nonce))
        if earlier is not None and earlier != tx_hash:
            self._retract(earlier, f"replaced by transaction {tx_hash[:12]}… (same nonce)")
        to = tx.get("to")
        data = tx.get("input") or tx.get("data") or ""
        if not isinstance(to, str) or to.lower() not in self.exchanges:
            return
        if not isinstance(data, str) or not is_match_orders(data):
            return
        if tx_hash in self._tracked:
            return  # the same transaction again (a re-broadcast)
        if self.tap is not None:
            self.tap(orjson.dumps({"tx": tx}).decode())
        self.matches += 1
        self._emit(tx_hash, sender, nonce, data)

    def _emit(self, tx_hash: str, sender: str, nonce: int, data: str) -> None:
        received_at = self.wall_clock()
        try:
            match = decode_match_orders(bytes.fromhex(data[2:]))
        except (CalldataError, ValueError) as exc:
            self.ws.count_rejected("undecodable matchOrders", f"{tx_hash}: {exc}")
            return
        trades = [t for t in pending_trades(match, tx_hash, received_at) if self._wanted(t)]
        if not trades:
            return
        if len(self._tracked) >= TRACKED_MAX:
            oldest = next(iter(self._tracked))
            self._forget(oldest)
        self._tracked[tx_hash] = _Tracked(tx_hash, sender, nonce, self._head)
        self._by_nonce[(sender, nonce)] = tx_hash
        for trade in trades:
            self.ws.note_latency(trade.latency_ms)
            self.emitted += 1
            self.on_trade(trade)

    def _wanted(self, trade: WhaleTrade) -> bool:
        if trade.wallet in self.wallets:
            return True
        return self.discovery_min_usd is not None and trade.usd >= self.discovery_min_usd

    def _retract(self, tx_hash: str, reason: str) -> None:
        if self._forget(tx_hash) is None:
            return
        # Counted by the reason's first word: replaced, dropped, reverted, not (mined in time).
        kind = reason.split(" ", 1)[0]
        self.retracted[kind] = self.retracted.get(kind, 0) + 1
        log.info("mempool: transaction %s retracted: %s", tx_hash, reason)
        if self.tap is not None:
            self.tap(orjson.dumps({"retract": tx_hash, "reason": reason}).decode())
        self.on_retract(tx_hash, reason)

    def _forget(self, tx_hash: str) -> _Tracked | None:
        tracked = self._tracked.pop(tx_hash, None)
        if tracked is not None:
            self._by_nonce.pop((tracked.sender, tracked.nonce), None)
        return tracked

    def replay_item(self, data: str) -> None:
        """One recorded item (see ``tap``): a transaction read, or its retraction."""
        try:
            item = orjson.loads(data)
        except orjson.JSONDecodeError:
            self.ws.count_rejected("not JSON", data)
            return
        if isinstance(item, dict) and isinstance(item.get("tx"), dict):
            self.handle_pending(item["tx"])
        elif isinstance(item, dict) and isinstance(item.get("retract"), str):
            self._retract(item["retract"].lower(), str(item.get("reason", "retracted")))
        else:
            self.ws.count_rejected("not a recorded mempool item", data)

    # --- the fate of each emitted transaction ---------------------------------------------------

    async def _request(self, method: str, params: list[Any]) -> Any:
        """One JSON-RPC call on the live connection; its ``result`` (None when it failed)."""
        rid = next(self._ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._replies[rid] = future
        try:
            if not await self.ws.send(_request(rid, method, params)):
                return None
            reply = await asyncio.wait_for(future, REQUEST_TIMEOUT_S)
        except TimeoutError:
            return None
        finally:
            self._replies.pop(rid, None)
        if not isinstance(reply, dict) or "error" in reply:
            raise LookupError(str(reply.get("error") if isinstance(reply, dict) else reply))
        return reply.get("result")

    async def check(self) -> None:
        """Look up every tracked transaction once: mined, reverted, replaced, dropped or late.

        The lookups run concurrently (at most ``LOOKUPS_AT_ONCE``): over a remote node each
        is a round trip, and a busy discovery session tracks dozens at a time.
        """
        gate = asyncio.Semaphore(LOOKUPS_AT_ONCE)

        async def judge(tracked: _Tracked) -> None:
            async with gate:
                if not self.ws.connected or tracked.tx_hash not in self._tracked:
                    return
                try:
                    verdict = await self._fate(tracked)
                except LookupError as exc:
                    log.debug("mempool: lookup of %s failed: %s", tracked.tx_hash, exc)
                    return
            if verdict == "mined":
                self.confirmed_mined += 1
                self._forget(tracked.tx_hash)
            elif verdict:
                self._retract(tracked.tx_hash, verdict)

        await asyncio.gather(*(judge(t) for t in list(self._tracked.values())))

    async def _fate(self, tracked: _Tracked) -> str:
        """'' (still pending or unknown), 'mined', or the reason to retract."""
        receipt = await self._request("eth_getTransactionReceipt", [tracked.tx_hash])
        if isinstance(receipt, dict):
            status = str(receipt.get("status", "0x1"))
            return "reverted on chain" if int(status, 16) == 0 else "mined"
        found = await self._request("eth_getTransactionByHash", [tracked.tx_hash])
        if found is None:
            count = await self._request("eth_getTransactionCount", [tracked.sender, "latest"])
            if isinstance(count, str) and int(count, 16) > tracked.nonce:
                return "replaced (its nonce was mined in another transaction)"
            return "dropped from the mempool"
        if tracked.seen_head and self._head - tracked.seen_head > self.max_pending_blocks:
            return f"not mined within {self.max_pending_blocks} blocks"
        return ""

    async def _check_loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._head_seen.wait(), self.check_every_s)
            self._head_seen.clear()
            if self._tracked and self.ws.connected:
                try:
                    await self.check()
                except Exception:  # a lookup bug must not end the source
                    log.exception("mempool: checking pending transactions failed")

    # --- lifecycle ------------------------------------------------------------------------------

    async def run(self) -> None:
        """Subscribe, follow the emitted transactions, reconnect — until ``stop()``."""
        checker = asyncio.create_task(self._check_loop(), name="mempool:check")
        try:
            await self.ws.run()
        finally:
            checker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await checker

    async def stop(self) -> None:
        """End ``run()`` and close the connection."""
        await self.ws.stop()

    async def watch(self, wallets: set[str]) -> None:
        """Follow a new watch list (the filter is ours: no resubscribe)."""
        self.wallets = {w.lower() for w in wallets}

    @property
    def tracked(self) -> int:
        """Transactions emitted and not yet mined or retracted."""
        return len(self._tracked)

    def status(self) -> FeedStatus:
        """Counters (no I/O); DISABLED once the node refused the subscription."""
        base = self.ws.status()
        if self.refused:
            return replace(base, state=FeedState.DISABLED, connected=False, detail=self.refused)
        gone = ", ".join(f"{n} {k}" for k, n in sorted(self.retracted.items())) or "none"
        detail = base.detail or (
            f"{self.matches} matches; {self.tracked} pending; {self.confirmed_mined} mined; "
            f"retracted: {gone}"
        )
        return replace(base, detail=detail)


def _request(rid: int, method: str, params: list[Any]) -> str:
    return orjson.dumps({"jsonrpc": "2.0", "id": rid, "method": method, "params": params}).decode()
