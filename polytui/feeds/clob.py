"""CLOB market channel: applies ``book`` / ``price_change`` / … frames to order books.

Wire facts (PROTOCOL.md §1): subscribe with ``{"assets_ids": [...], "type": "market",
"custom_feature_enabled": true}``; add or drop tokens later with ``{"operation": "subscribe" |
"unsubscribe", ...}`` on the same connection. A frame is one event, a JSON array of events, or
``[]``. ``price_change`` has two schemas: since 2025-09-15 a ``price_changes[]`` list with
``asset_id`` per entry; before that a top-level ``asset_id`` with ``changes[]``. ``size`` is the new
aggregate at a level and ``"0"`` removes it. Bad frames are counted and dropped; the feed goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import msgspec
import orjson

from polytui.feeds.books import BookError, BookStore, LevelChange, OrderBook
from polytui.feeds.clob_pool import (
    MAX_ASSETS_PER_CONNECTION,
    Shard,
    ShardPool,
    combined_status,
)
from polytui.feeds.clob_wire import WireChange, decode_price_change
from polytui.feeds.connection import WsFeed
from polytui.feeds.wirenum import NumberCache, ms_time
from polytui.model import (
    ZERO,
    BadValue,
    FeedStatus,
    PriceLevel,
    Side,
    parse_price,
    parse_shares,
)

log = logging.getLogger(__name__)

SIDES = {"BUY": Side.BUY, "SELL": Side.SELL, "buy": Side.BUY, "sell": Side.SELL}
REST_REFILL_AFTER_S = 3.0
PRUNE_EVERY_S = 30.0
LATENCY_EVERY = 16


class FrameError(ValueError):
    """A frame that cannot be applied; the message names the kind for the counters."""


class ClobMarketFeed:
    """Market-channel client keeping one order book per subscribed token."""

    def __init__(
        self,
        url: str,
        books: BookStore,
        *,
        on_book_changed: Callable[[str], None] | None = None,
        on_trade_price: Callable[[str, Decimal, Decimal, str, datetime | None], None] | None = None,
        on_tick_size: Callable[[str, Decimal], None] | None = None,
        on_market_resolved: Callable[[str, str, datetime | None], None] | None = None,
        on_new_market: Callable[[dict[str, Any]], None] | None = None,
        ping_interval_s: float = 10.0,
        silence_s: float = 60.0,
        backoff_initial_s: float = 0.5,
        backoff_cap_s: float = 30.0,
        rest_url: str | None = None,
        http_client: Any = None,
        tap: Callable[[str], None] | None = None,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        max_assets_per_connection: int = MAX_ASSETS_PER_CONNECTION,
        idle_unsubscribe_s: float | None = None,
        keep: Callable[[], set[str]] | None = None,
        closed: Callable[[str], bool] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.books = books
        self.on_book_changed = on_book_changed
        self.on_trade_price = on_trade_price
        self.on_tick_size = on_tick_size
        self.on_market_resolved = on_market_resolved
        self.on_new_market = on_new_market
        self.rest_url = rest_url
        self.http_client = http_client
        self.wall_clock = wall_clock
        # Relevance (see prune): a token nobody asked for in idle_unsubscribe_s, that is not in
        # keep() (held, ordered, awaiting approval), or whose market closed() is unsubscribed.
        self.idle_unsubscribe_s = idle_unsubscribe_s
        self.keep = keep
        self.closed = closed
        self.monotonic = monotonic
        self.wanted_at: dict[str, float] = {}
        self.unsubscribed = 0
        self._last_prune = monotonic()
        self.tokens: set[str] = set()
        self.unknown_events = 0
        self.events = 0
        # Books found crossed or locked (best bid >= best ask), marked stale until rebuilt.
        self.crossed_books = 0
        self._frames = 0  # counts down to the next frame whose timestamp is converted
        self._sampled = 0
        self._price = NumberCache(parse_price)
        self._size = NumberCache(parse_shares)

        def make_ws(shard: Shard) -> WsFeed:
            return WsFeed(
                shard.name,
                url,
                on_frame=lambda frame: self._frame_on(shard, frame),
                subscribe_messages=lambda: self._subscribe_messages(shard),
                ping_interval_s=ping_interval_s,
                silence_s=silence_s,
                backoff_initial_s=backoff_initial_s,
                backoff_cap_s=backoff_cap_s,
                on_connect=lambda: self._on_connect(shard),
                on_disconnect=lambda: self._on_disconnect(shard),
                tap=tap,
                expect_data=lambda: bool(shard.tokens),
            )

        self.pool = ShardPool("clob", make_ws, max_assets=max_assets_per_connection)
        # The first connection: frames handed in directly (tests, the backtest) count here.
        self.ws = self.pool.shards[0].ws
        self._active = self.ws

    # --- lifecycle ------------------------------------------------------------------------------

    async def run(self) -> None:
        """Run every connection, the REST refill of stale books and the pruning."""
        refill = asyncio.create_task(self._refill_loop())
        try:
            await self.pool.run()
        finally:
            refill.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await refill

    async def stop(self) -> None:
        """Close every connection."""
        await self.pool.stop()

    def statuses(self) -> tuple[FeedStatus, ...]:
        """One health row per connection (no I/O)."""
        return tuple(shard.ws.status() for shard in self.pool.shards)

    def status(self) -> FeedStatus:
        """Every connection's counters summed into one row (no I/O)."""
        return combined_status("clob", self.statuses())

    # --- subscriptions --------------------------------------------------------------------------

    def _subscribe_messages(self, shard: Shard) -> list[str]:
        if not shard.tokens:
            return []
        body = {
            "assets_ids": sorted(shard.tokens),
            "type": "market",
            "custom_feature_enabled": True,
        }
        return [orjson.dumps(body).decode()]

    def _on_connect(self, shard: Shard) -> None:
        shard.connected_at = shard.ws.monotonic()

    def _on_disconnect(self, shard: Shard) -> None:
        # Only this connection's books are untrusted; the others still get their frames.
        for token in shard.tokens:
            book = self.books.get(token)
            if book is not None:
                book.mark_stale()

    def subscribe(self, tokens: list[str]) -> None:
        """Watch tokens without reconnecting (a token already watched is wanted again now)."""
        now = self.monotonic()
        for token in tokens:
            self.wanted_at[token] = now
        new = [t for t in dict.fromkeys(tokens) if t not in self.tokens]
        if not new:
            return
        self.tokens.update(new)
        for token in new:
            self.books.ensure(token)
        for shard, added in self.pool.add(new):
            body = {"operation": "subscribe", "assets_ids": added, "custom_feature_enabled": True}
            shard.ws.send_soon(orjson.dumps(body).decode())

    def unsubscribe(self, tokens: list[str]) -> None:
        """Stop watching tokens without reconnecting."""
        gone = [t for t in dict.fromkeys(tokens) if t in self.tokens]
        if not gone:
            return
        self.tokens.difference_update(gone)
        self.unsubscribed += len(gone)
        for token in gone:
            self.books.discard(token)
            self.wanted_at.pop(token, None)
        for shard, left in self.pool.remove(gone):
            body = {"operation": "unsubscribe", "assets_ids": left, "custom_feature_enabled": True}
            shard.ws.send_soon(orjson.dumps(body).decode())

    def prune(self) -> list[str]:
        """Unsubscribe what is no longer relevant: tokens of closed markets, and tokens nobody
        asked for in ``idle_unsubscribe_s`` that ``keep()`` does not hold. Returns them."""
        now = self.monotonic()
        keep = self.keep() if self.keep is not None else set()
        idle_s = self.idle_unsubscribe_s
        gone = [
            token
            for token in sorted(self.tokens)
            if (self.closed is not None and self.closed(token))
            or (
                idle_s is not None
                and token not in keep
                and now - self.wanted_at.get(token, now) > idle_s
            )
        ]
        if gone:
            log.info("clob: unsubscribed %d tokens no longer relevant", len(gone))
            self.unsubscribe(gone)
        return gone

    # --- frames ---------------------------------------------------------------------------------

    def _frame_on(self, shard: Shard, frame: str) -> None:
        self._active = shard.ws  # rejects and latency count on the connection that sent it
        try:
            self.handle_frame(frame)
        finally:
            self._active = self.ws

    def handle_frame(self, frame: str) -> None:
        """Apply one text frame (one event, an array of events, or ``[]``)."""
        try:
            # Most frames are one new-schema price_change: decoded straight into typed changes,
            # skipping the fields not used (hash, best_bid, best_ask). Anything else (another
            # event, an array, the legacy schema, a value of another type) fails here at once
            # and takes the generic path below, which judges it as before.
            typed = decode_price_change(frame)
        except msgspec.DecodeError:
            pass
        else:
            self.events += 1
            try:
                self._apply_changes(typed.price_changes, typed.timestamp)
            except (FrameError, BookError, BadValue) as exc:
                self._active.count_rejected(str(exc).split(":")[0], frame)
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                self._active.count_rejected(f"malformed {type(exc).__name__}", frame)
            return
        try:
            data = orjson.loads(frame)
        except orjson.JSONDecodeError:
            self._active.count_rejected("malformed JSON", frame)
            return
        items = data if type(data) is list else (data,)
        for item in items:
            try:
                if type(item) is dict and item.get("event_type") == "price_change":
                    self.events += 1  # the hot path skips the dispatch in _apply
                    self._price_change(item)
                else:
                    self._apply(item)
            except (FrameError, BookError, BadValue) as exc:
                self._active.count_rejected(str(exc).split(":")[0], frame)
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                self._active.count_rejected(f"malformed {type(exc).__name__}", frame)

    def _apply(self, event: Any) -> None:
        if not isinstance(event, dict):
            raise FrameError("not an object")
        kind = event.get("event_type")
        self.events += 1
        if kind == "price_change":  # by far the most frequent
            self._price_change(event)
        elif kind == "book":
            self._book(event)
        elif kind == "last_trade_price":
            self._last_trade(event)
        elif kind == "tick_size_change":
            token = self._token(event)
            tick = self._price(event["new_tick_size"])
            book = self.books.get(token)
            if book is not None:
                book.tick_size = tick
            if self.on_tick_size is not None:
                self.on_tick_size(token, tick)
        elif kind == "best_bid_ask":
            self._token(event)
        elif kind == "market_resolved":
            winner = event.get("winning_asset_id")
            market = event.get("market")
            if not isinstance(winner, str) or not isinstance(market, str) or not winner:
                raise FrameError("market_resolved without market or winner")
            if self.on_market_resolved is not None:
                self.on_market_resolved(market, winner, ms_time(event.get("timestamp")))
        elif kind == "new_market":
            if self.on_new_market is not None:
                self.on_new_market(event)
        else:
            self.unknown_events += 1
            raise FrameError(f"unknown event type {str(kind)[:40]}")

    def _token(self, event: dict[str, Any]) -> str:
        token = event.get("asset_id")
        if not isinstance(token, str) or not token:
            raise FrameError("missing asset_id")
        if token not in self.tokens:
            raise FrameError("unsubscribed token")
        return token

    def _levels(self, raw: Any) -> list[PriceLevel]:
        if not isinstance(raw, list):
            raise FrameError("levels not a list")
        return [PriceLevel(self._price(lvl["price"]), self._size(lvl["size"])) for lvl in raw]

    def _book(self, event: dict[str, Any]) -> None:
        token = self._token(event)
        at = ms_time(event.get("timestamp"))
        bids, asks = self._levels(event.get("bids")), self._levels(event.get("asks"))
        book = self.books.ensure(token, str(event.get("market") or ""))
        book.apply_snapshot(bids, asks, at=at, hash_=str(event.get("hash") or ""))
        self._refuse_crossed(book)
        tick = event.get("tick_size")
        if tick:
            book.tick_size = self._price(tick)
        self._note_latency(at)
        if self.on_book_changed is not None:
            self.on_book_changed(token)

    def _price_change(self, event: dict[str, Any]) -> None:
        # The generic path: the legacy schema, arrays, and frames the typed decoder refused.
        changes = event.get("price_changes")
        if changes is None:  # legacy schema (before 2025-09-15)
            token = self._token(event)
            legacy = event.get("changes")
            if not isinstance(legacy, list):
                raise FrameError("price_change without changes")
            changes = [dict(change, asset_id=token) for change in legacy]
        if not isinstance(changes, list):
            raise FrameError("price_changes not a list")
        self._apply_changes([WireChange(change) for change in changes], event.get("timestamp"))

    def _apply_changes(self, changes: Sequence[LevelChange], raw_ts: object) -> None:
        touched, crossed = self.books.apply_changes(changes, self.tokens, self._price, self._size)
        for book in crossed:
            self._refuse_crossed(book)
        # Converting the wire's epoch-ms to a datetime costs more than applying a level, so
        # the conversion and the latency sample happen for one frame in LATENCY_EVERY.
        frames = self._frames = self._frames - 1
        if frames <= 0:
            self._sample(touched, raw_ts)
        on_changed = self.on_book_changed
        if on_changed is not None:
            for token in touched:
                on_changed(token)

    def _sample(self, touched: dict[str, OrderBook], raw_ts: object) -> None:
        # The first LATENCY_EVERY frames are all sampled so a new feed shows latency at once.
        self._sampled += 1
        self._frames = LATENCY_EVERY if self._sampled >= LATENCY_EVERY else 1
        at = ms_time(raw_ts)
        if at is not None:
            for book in touched.values():
                book.updated_at = at
        self._note_latency(at)

    def _refuse_crossed(self, book: OrderBook) -> bool:
        """A crossed or locked book (best bid >= best ask) is never traded on or marked: it is
        counted, marked stale, and rebuilt by the next snapshot or the REST refill."""
        if not book.crossed():
            return False
        book.mark_stale()
        self.crossed_books += 1
        self._active.count_rejected(
            "crossed book", f"{book.token_id}: bid {book.best_bid} >= ask {book.best_ask}"
        )
        return True

    def _last_trade(self, event: dict[str, Any]) -> None:
        token = self._token(event)
        price = self._price(event["price"])
        # The wire sends "" for an absent value ([TS] parses size as optional): no size, not a
        # bad frame — the price is still the last trade's.
        raw_size = event.get("size", "")
        size = ZERO if raw_size == "" else self._size(raw_size)
        book = self.books.get(token)
        if book is not None:
            book.last_trade_price = price
        if self.on_trade_price is not None:
            side = str(event.get("side", ""))
            self.on_trade_price(token, price, size, side, ms_time(event.get("timestamp")))

    def _note_latency(self, at: datetime | None) -> None:
        if at is not None:
            self._active.note_latency((self.wall_clock().timestamp() - at.timestamp()) * 1000)

    # --- REST fallback --------------------------------------------------------------------------

    async def _refill_loop(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            if self.monotonic() - self._last_prune >= PRUNE_EVERY_S:
                self._last_prune = self.monotonic()
                self.prune()
            if self.http_client is None or self.rest_url is None:
                continue
            stale: list[str] = []
            for shard in self.pool.shards:
                at = shard.connected_at
                if at is None or shard.ws.monotonic() - at < REST_REFILL_AFTER_S:
                    continue
                stale += [
                    t for t in shard.tokens if (b := self.books.get(t)) is not None and b.stale
                ]
            if stale:
                await self.refill(stale)

    async def refill(self, tokens: list[str]) -> int:
        """Rebuild books from ``POST /books``; returns how many were refilled."""
        if self.http_client is None or self.rest_url is None:
            return 0
        try:
            response = await self.http_client.post(
                f"{self.rest_url.rstrip('/')}/books", json=[{"token_id": t} for t in tokens]
            )
            response.raise_for_status()
            payload = orjson.loads(response.content)
        except Exception as exc:
            log.info("clob: REST book refill failed: %s", exc)
            return 0
        done = 0
        for raw in payload if isinstance(payload, list) else []:
            try:
                token = str(raw["asset_id"])
                if token not in self.tokens:
                    continue
                book: OrderBook = self.books.ensure(token, str(raw.get("market", "")))
                book.apply_snapshot(
                    self._levels(raw["bids"]),
                    self._levels(raw["asks"]),
                    at=ms_time(raw["timestamp"]),
                )
                if self._refuse_crossed(book):
                    continue
                done += 1
                if self.on_book_changed is not None:
                    self.on_book_changed(token)
            except (KeyError, TypeError, ValueError, FrameError, BadValue):
                self._active.count_rejected("bad REST book", str(raw)[:200])
        return done
