"""Polygon chain logs: CLOB ``OrderFilled`` events → whale trades, with gap backfill and reorgs.

Filtering on the maker topic (topic 2, the order's owner: PROTOCOL.md §5) lets the node send
only watched wallets' fills; with ``discovery_min_usd`` set, every fill of the exchanges comes
and is decoded here. A log with ``removed: true`` (reorg) retracts its trade. After a reconnect,
``eth_getLogs`` from the last processed block fills the gap; (tx hash, log index) pairs already
processed are skipped, so nothing is doubled. After a restart the engine hands over the block
saved in the journal (``resume_block``) and a catch-up floor (``catch_up_since``): the first
connect backfills from that block, but no further back than the floor at Polygon's ~2 s a block,
and drops logs whose block time is older than the floor.

The hot path is the raw notification frame: orjson, then ``abi.decode_order_filled`` (eth_abi),
on web3's listener task as the frame arrives — a log that carries ``blockTimestamp`` (newer nodes
send it) is a trade before the next frame is read. web3's ``AsyncWeb3`` keeps the connection,
the subscriptions and the requests. A log without the stamp waits, in arrival order with every
log after it, for the session task to ask the node for its block's time.

web3 is imported inside the functions that need it, so the console starts fast.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import random
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from polytui.feeds.abi import (
    ORDER_FILLED_V1,
    ORDER_FILLED_V2,
    LogError,
    decode_order_filled,
    hex_int,
    hex_text,
)
from polytui.feeds.rpc_socket import notifying_provider
from polytui.model import FeedState, FeedStatus, WhaleTrade

__all__ = ["ChainFeed", "LogError", "decode_order_filled", "redact_url"]

log = logging.getLogger(__name__)

PROCESSED_KEPT = 100_000
BLOCK_S = 2.0  # Polygon's block time, to turn a catch-up window into a block range


def redact_url(url: str) -> str:
    """Scheme and host only: RPC URLs carry API keys in the path, query or userinfo."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable URL>"
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port else ""
    tail = "/…" if parts.path not in ("", "/") or parts.query else ""
    return f"{parts.scheme}://{host}{port}{tail}"


def _log_json(entry: dict[str, Any], block_time: datetime) -> str:
    plain = {
        key: hex_text(value) if isinstance(value, bytes | bytearray) else value
        for key, value in entry.items()
    }
    plain["topics"] = [hex_text(t) for t in entry.get("topics", [])]
    plain["blockTimestamp"] = hex(int(block_time.timestamp()))
    return json.dumps(plain, default=str)


class ChainFeed:
    """``eth_subscribe("logs")`` on the exchanges, filtered to watched makers."""

    def __init__(
        self,
        url: str,
        *,
        addresses: list[str],
        wallets: set[str] | None,
        on_trade: Callable[[WhaleTrade], None],
        on_retract: Callable[[object], None] | None = None,
        discovery_min_usd: Decimal | None = None,
        silence_s: float = 60.0,
        backoff_initial_s: float = 0.5,
        backoff_cap_s: float = 30.0,
        include_v1: bool = False,
        monotonic: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        tap: Callable[[str], None] | None = None,
        resume_block: int | None = None,
        catch_up_since: datetime | None = None,
    ) -> None:
        self.name = "chain"
        self.tap = tap
        self.url = url
        self.display_url = redact_url(url)
        self.addresses = list(addresses)
        self.exchanges = {a.lower() for a in addresses}
        self.wallets = {w.lower() for w in wallets or set()}
        self.on_trade = on_trade
        self.on_retract = on_retract
        self.discovery_min_usd = discovery_min_usd
        self.silence_s = silence_s
        self.backoff_initial_s = backoff_initial_s
        self.backoff_cap_s = backoff_cap_s
        self.topics0 = [ORDER_FILLED_V2] + ([ORDER_FILLED_V1] if include_v1 else [])
        self.monotonic = monotonic
        self.wall_clock = wall_clock
        self.last_block: int | None = resume_block
        # Until the first backfill after a restart is done, logs older than this are not replayed.
        self._catch_up_floor = catch_up_since if resume_block is not None else None
        self.catch_up_done = self._catch_up_floor is None
        self.caught_up = 0
        self.too_old = 0
        self._processed: OrderedDict[tuple[str, int], object] = OrderedDict()
        self._block_times: OrderedDict[int, datetime] = OrderedDict()
        self.messages = 0
        self.rejected = 0
        self.reconnects = 0
        self.connections = 0
        self.backfilled = 0
        self.emitted = 0
        self.retracted = 0
        self.last_data_at: float | None = None
        self.state = FeedState.CONNECTING
        self.detail = ""
        self._stopping = False
        self._attempt = 0
        self._w3: Any = None
        self._logs_sub: Any = None
        # Logs waiting for the session task (a block lookup, the backfill), in arrival order.
        self._pending: deque[dict[str, Any]] = deque()
        self._holding = False
        self._failure: Exception | None = None
        self._wake = asyncio.Event()
        # The last block stamp read and its time (a block's logs arrive together); the sentinel
        # equals no stamp.
        self._stamp: tuple[object, datetime] = (object(), datetime.fromtimestamp(0, tz=UTC))

    # --- filter ---------------------------------------------------------------------------------

    def log_filter(self) -> dict[str, Any]:
        """Exchange addresses and topics; topic 2 (maker) is the watch list unless discovering."""
        from eth_utils import to_checksum_address  # web3 refuses lower-case addresses

        topics: list[Any] = [self.topics0]
        if self.wallets and self.discovery_min_usd is None:
            topics += [None, ["0x" + w[2:].rjust(64, "0") for w in sorted(self.wallets)]]
        return {"address": [to_checksum_address(a) for a in self.addresses], "topics": topics}

    # --- processing -----------------------------------------------------------------------------

    async def _block_time(self, number: int) -> datetime:
        cached = self._block_times.get(number)
        if cached is not None:
            return cached
        # A node that stops answering is silence: the lookup gets the watchdog's budget, not
        # web3's 10 s request timeout, so a dead socket ends the session (reconnect, backfill)
        # instead of leaving the feed "live" on it while the lookup waits.
        try:
            block = await asyncio.wait_for(
                self._w3.eth.get_block(number), timeout=min(self.silence_s, 10.0)
            )
        except TimeoutError:
            raise TimeoutError(
                f"no answer for block {number} in {min(self.silence_s, 10.0):g} s"
            ) from None
        try:
            at = datetime.fromtimestamp(int(block["timestamp"]), tz=UTC)
        except (KeyError, TypeError, ValueError, OverflowError, OSError) as exc:
            # The node answered, with a time no datetime holds: bad input, not a lost node.
            raise LogError(f"block {number} has an unusable timestamp ({exc})") from None
        self._block_times[number] = at
        while len(self._block_times) > 256:
            self._block_times.popitem(last=False)
        return at

    async def handle_log(
        self, entry: dict[str, Any], *, not_before: datetime | None = None
    ) -> bool:
        """Decode, dedupe, attribute and emit (or retract) one log; True if it was new.

        A log whose block time is before ``not_before`` (the catch-up floor) is skipped.
        """
        taken = self._take(entry)
        if taken is None:
            return False
        key, block = taken
        if entry.get("blockTimestamp") is None and self._w3 is not None:
            try:
                await self._block_time(block)
            except LogError as exc:
                # Ending the session would read the same block again on every reconnect.
                self.rejected += 1
                log.debug("chain: dropped log: %s", exc)
                return False
            except Exception as exc:
                # The node did not answer: the log is not bad input, and dropping it would
                # lose the fill once a later block moved the cursor past it. The session ends
                # instead; the reconnect's backfill starts at ``last_block``, which this log's
                # block has not passed, and reads it again.
                raise ConnectionError(f"block {block} lookup failed: {exc}") from exc
        return self._finish(entry, key, block, not_before)

    def _take(self, entry: dict[str, Any]) -> tuple[tuple[str, int], int] | None:
        """Count one log; its (tx hash, log index) key and block, or None when it is done with
        here (a bad envelope, counted; a removal, applied; one already processed)."""
        self.messages += 1
        self.last_data_at = self.monotonic()
        try:
            key = (hex_text(entry["transactionHash"]).lower(), hex_int(entry["logIndex"]))
            block = hex_int(entry["blockNumber"])
        except (KeyError, ValueError, TypeError):
            self.rejected += 1
            return None
        if entry.get("removed"):
            trade_key = self._processed.pop(key, None)
            if trade_key is not None:
                self.retracted += 1
                if self.on_retract is not None:
                    self.on_retract(trade_key)
            return None
        if key in self._processed:
            return None  # the same log from the subscription and the backfill
        return key, block

    def _finish(
        self, entry: dict[str, Any], key: tuple[str, int], block: int, not_before: datetime | None
    ) -> bool:
        """Decode and emit a log whose block time is at hand (its stamp, or the looked-up one)."""
        try:
            stamp = entry.get("blockTimestamp")  # newer nodes include it; saves a round trip
            if stamp is None:
                block_time = self._block_times.get(block)
                if block_time is None:
                    raise LogError("no blockTimestamp and no node to ask for the block's time")
            elif stamp == self._stamp[0]:
                block_time = self._stamp[1]
            else:
                block_time = datetime.fromtimestamp(hex_int(stamp), tz=UTC)
                self._stamp = (stamp, block_time)
            if not_before is not None and block_time < not_before:
                self.too_old += 1
                return False
            trade = decode_order_filled(entry, self.exchanges, block_time, self.wall_clock())
            if self.tap is not None:
                # Captured with its block time, so a replay needs no node.
                self.tap(_log_json(entry, block_time))
        except Exception as exc:
            # Bad input of any shape (a topic list that is a number, a timestamp out of range):
            # counted and dropped. Only the node's lookup above ends the session.
            self.rejected += 1
            log.debug("chain: dropped log: %s", exc)
            return False
        self._processed[key] = trade.dedup_key
        if len(self._processed) > PROCESSED_KEPT:
            self._processed.popitem(last=False)
        if self.last_block is None or block > self.last_block:
            self.last_block = block
        wallet = trade.wallet
        if wallet in self.wallets or (
            self.discovery_min_usd is not None and trade.usd >= self.discovery_min_usd
        ):
            self.emitted += 1
            self.on_trade(trade)
        return True

    def _on_notification(self, message: dict[str, Any]) -> None:
        """A subscription frame, on web3's listener task as it arrives (see ``rpc_socket``).

        A log with its block's stamp is decoded and handed on here and now, unless earlier logs
        still wait for the session (then it queues behind them, so the order holds). A failure
        here (a callback that raised) is handed to the session, which ends; the listener goes on.
        """
        if self._failure is not None:
            return
        params = message.get("params")
        result = params.get("result") if type(params) is dict else None
        if type(result) is not dict:
            return
        try:
            if "topics" in result:
                self._attempt = 0
                if self._holding or self._pending or result.get("blockTimestamp") is None:
                    self._pending.append(result)
                    self._wake.set()
                    return
                taken = self._take(result)
                if taken is not None:
                    self._finish(result, taken[0], taken[1], None)
            elif "number" in result:
                self._attempt = 0
                self.last_data_at = self.monotonic()
        except Exception as exc:
            self._failure = exc
            self._wake.set()

    async def _drain(self) -> None:
        """Apply the logs that waited (during the backfill, or for a block lookup), in order;
        logs arriving meanwhile queue behind them, and once none is left they are applied as
        they come again."""
        self._holding = True
        while self._pending:
            await self.handle_log(self._pending.popleft())
        self._holding = False

    # --- connection -----------------------------------------------------------------------------

    async def run(self) -> None:
        """Subscribe, backfill gaps, reconnect with backoff — until ``stop()``."""
        self._attempt = 0
        self._stopping = False
        while not self._stopping:
            try:
                await self._session()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.detail = f"chain: cannot connect to {self.display_url}: {type(exc).__name__}"
                text = str(exc)
                if text and self.url not in text:
                    self.detail += f": {text[:120]}"
                log.info("%s", self.detail)
            finally:
                await self._close()
            if self._stopping:
                break
            # A session never returns normally, so the attempt count is reset by data arriving
            # (below); the exponent is capped, or a long outage overflowed the float and ended
            # run() for good.
            self._attempt += 1
            self.reconnects += 1
            self.state = FeedState.DOWN if self._attempt >= 3 else FeedState.DEGRADED
            exponent = min(self._attempt - 1, 30)
            ceiling = min(self.backoff_cap_s, self.backoff_initial_s * 2**exponent)
            await asyncio.sleep(random.uniform(0, ceiling))
        self.state = FeedState.DOWN

    async def _session(self) -> None:
        from web3 import AsyncWeb3

        self.state = FeedState.CONNECTING
        self._pending.clear()
        self._holding = True  # until the backfill is applied, live logs queue behind it
        self._failure = None
        self._wake = asyncio.Event()  # of this session's loop
        # Reconnects are ours (backoff, backfill); web3's own retries would hide a dead node.
        provider = notifying_provider(
            self.url, self._on_notification, max_connection_retries=1, request_timeout=10
        )
        w3 = AsyncWeb3(provider)
        await asyncio.wait_for(w3.provider.connect(), timeout=10)
        self._w3 = w3
        self.connections += 1
        # web3's listener ends quietly when the node closes the socket, and the session then
        # kept reporting fresh data with no connection (seen once in ~900 chaos cycles); a
        # finished listener wakes the session, which ends, so the reconnect and backfill follow.
        listener = getattr(w3.provider, "_message_listener_task", None)
        if listener is not None:
            listener.add_done_callback(lambda _task: self._wake.set())
        log_filter: Any = self.log_filter()
        self._logs_sub = await w3.eth.subscribe("logs", log_filter)
        # A heads subscription proves liveness while watched wallets are quiet.
        await w3.eth.subscribe("newHeads")
        await self.backfill()
        await self._drain()
        self.state = FeedState.LIVE
        self.detail = ""
        self.last_data_at = self.monotonic()
        while True:
            self._wake.clear()
            if self._failure is not None:
                raise self._failure
            if listener is not None and listener.done():
                raise ConnectionError("the node closed the connection")
            if self._pending:
                await self._drain()
                continue
            left = self.silence_s - (self.monotonic() - (self.last_data_at or 0))
            if left <= 0:
                raise TimeoutError(f"no blocks or logs for {self.silence_s:g} s")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=max(0.05, left))

    async def watch(self, wallets: set[str]) -> None:
        """Follow a new watch list without reconnecting (a config reload).

        With the node filtering on the maker topic, the live session swaps its logs
        subscription on the same connection: the new one is open before the old one closes, so
        no fill falls between them, and one delivered on both is processed once. A new wallet's
        earlier fills are not fetched (they are history, not signals). If the swap fails, the
        session is ended and the reconnect subscribes with the new list.
        """
        wallets = {w.lower() for w in wallets}
        if wallets == self.wallets:
            return
        self.wallets = wallets
        w3 = self._w3
        if w3 is None or self.discovery_min_usd is not None or self.state is not FeedState.LIVE:
            return  # discovery filters here; a session being set up subscribes with the new list
        old = self._logs_sub
        try:
            self._logs_sub = await w3.eth.subscribe("logs", self.log_filter())
            if old is not None:
                await w3.eth.unsubscribe(old)
        except Exception as exc:  # the reconnect subscribes with the new list and backfills
            log.warning("chain: could not swap the log filter (%s); reconnecting", exc)
            with contextlib.suppress(Exception):
                await w3.provider.disconnect()
            return
        log.info("chain: now watching %d wallet(s) on the node's filter", len(wallets))

    async def backfill(self) -> int:
        """``eth_getLogs`` from the last processed block to the head; returns logs applied.

        The first backfill after a restart is the catch-up: it starts no earlier than the floor
        (estimated at ``BLOCK_S`` a block, then checked against each log's block time).
        """
        if self.last_block is None:
            self.catch_up_done = True
            return 0
        head = await self._w3.eth.block_number
        floor = self._catch_up_floor
        start = self.last_block
        if floor is not None:
            behind_s = max(0.0, (self.wall_clock() - floor).total_seconds())
            start = max(start, head - math.ceil(behind_s / BLOCK_S))
        applied = 0
        if head >= start:
            flt = dict(self.log_filter(), fromBlock=start, toBlock=head)
            entries = await self._w3.eth.get_logs(flt)
            emitted = self.emitted
            for entry in sorted(
                entries, key=lambda e: (hex_int(e["blockNumber"]), hex_int(e["logIndex"]))
            ):
                applied += await self.handle_log(dict(entry), not_before=floor)
            if floor is not None:
                self.caught_up += self.emitted - emitted
        self.backfilled += applied
        if floor is not None:
            self._catch_up_floor = None
            self.catch_up_done = True
            log.info(
                "chain: catch-up read blocks %s to %s: %d watched fills, %d older than the window",
                start,
                head,
                self.caught_up,
                self.too_old,
            )
        return applied

    async def _close(self) -> None:
        w3, self._w3 = self._w3, None
        if w3 is None:
            return
        with contextlib.suppress(Exception):
            await asyncio.wait_for(w3.provider.disconnect(), timeout=2)
        # web3's disconnect re-raises the error that ended its listener (a garbage frame, say)
        # before it closes the socket; without this the old connection stayed open beside the
        # new one.
        ws = getattr(w3.provider, "_ws", None)
        if ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(), timeout=2)
        self.connections -= 1

    async def stop(self) -> None:
        """End ``run()`` and close the connection."""
        self._stopping = True
        await self._close()

    def status(self) -> FeedStatus:
        """Counters (no I/O)."""
        age = None if self.last_data_at is None else self.monotonic() - self.last_data_at
        return FeedStatus(
            name=self.name,
            state=self.state,
            connected=self._w3 is not None and self.state is FeedState.LIVE,
            last_data_age_s=age,
            messages=self.messages,
            rejected=self.rejected,
            reconnects=self.reconnects,
            connections=self.connections,
            detail=self.detail or f"block {self.last_block or '-'}; {self.backfilled} backfilled",
        )
