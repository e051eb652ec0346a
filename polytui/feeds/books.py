"""Order books per token: applies CLOB snapshots and level updates, answers price questions.

Wire facts relied on (PROTOCOL.md §1): levels arrive worst-first (bids ascending, asks
descending), so the best bid is the *highest* bid whatever the order on the wire; a
``price_change`` carries the new aggregate size at a level and ``"0"`` removes the level. Here
each side is a dict price → size; the best price of each side is kept (found by ``max``/``min``
again only when the best level goes), so wire order never matters.

``BookStore.apply_changes`` is the market channel's hottest loop; it lives here, beside the
state it writes, so no other module reaches into a book's dicts.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from polytui.feeds.wirenum import NumberCache
from polytui.model import ZERO, BookTop, PriceLevel, Side

# "Not known": the best price of a side is found again on the next question. Compared by
# identity; a real price is never this object.
_UNSET = Decimal(-1)
_NONE: list[OrderBook] = []  # what apply_changes returns when no book crossed; never mutated


class BookError(ValueError):
    """An update that cannot be applied (no snapshot yet, bad side)."""


class LevelChange(Protocol):
    """One ``price_change`` entry as the wire has it (PROTOCOL.md §1)."""

    @property
    def asset_id(self) -> Any:
        """The token whose book changes."""

    @property
    def side(self) -> Any:
        """``BUY`` (a bid) or ``SELL`` (an ask)."""

    @property
    def price(self) -> Any:
        """The level's price."""

    @property
    def size(self) -> Any:
        """The new aggregate size at the level; ``"0"`` removes it."""


@dataclass(frozen=True, slots=True)
class Walk:
    """Result of walking the book for a number of shares."""

    shares: Decimal
    cost_usd: Decimal
    levels: tuple[PriceLevel, ...]
    complete: bool

    @property
    def avg_price(self) -> Decimal | None:
        """Volume-weighted average price of the walk."""
        return None if self.shares == 0 else self.cost_usd / self.shares

    @property
    def worst_price(self) -> Decimal | None:
        """The last (worst) level touched."""
        return self.levels[-1].price if self.levels else None


class OrderBook:
    """One token's book. Mutated only by the feed that owns it."""

    __slots__ = (
        "_ask_sorted",
        "_asks",
        "_bid_sorted",
        "_bids",
        "_top_ask",
        "_top_bid",
        "condition_id",
        "hash",
        "last_trade_price",
        "stale",
        "tick_size",
        "token_id",
        "updated_at",
    )

    def __init__(self, token_id: str, condition_id: str = "") -> None:
        self.token_id = token_id
        self.condition_id = condition_id
        self._bids: dict[Decimal, Decimal] = {}
        self._asks: dict[Decimal, Decimal] = {}
        self._bid_sorted: list[Decimal] | None = None
        self._ask_sorted: list[Decimal] | None = None
        self._top_bid: Decimal | None = None  # the best price of each side; None: side empty
        self._top_ask: Decimal | None = None
        # A book is stale until its first snapshot and again whenever the feed loses it.
        self.stale = True
        self.updated_at: datetime | None = None
        self.tick_size: Decimal | None = None
        self.last_trade_price: Decimal | None = None
        self.hash = ""

    @classmethod
    def from_levels(
        cls,
        token_id: str,
        bids: Iterable[tuple[Decimal | str, Decimal | str]],
        asks: Iterable[tuple[Decimal | str, Decimal | str]],
        *,
        condition_id: str = "",
        at: datetime | None = None,
    ) -> OrderBook:
        """Build a fresh (non-stale) book from (price, size) pairs in any order."""
        book = cls(token_id, condition_id)
        book.apply_snapshot(
            [PriceLevel(Decimal(p), Decimal(s)) for p, s in bids],
            [PriceLevel(Decimal(p), Decimal(s)) for p, s in asks],
            at=at,
        )
        return book

    # --- mutation -------------------------------------------------------------------------

    def apply_snapshot(
        self,
        bids: Iterable[PriceLevel],
        asks: Iterable[PriceLevel],
        *,
        at: datetime | None = None,
        hash_: str = "",
    ) -> None:
        """Replace both sides with a full snapshot; the book becomes trustworthy."""
        self._bids = {lvl.price: lvl.size for lvl in bids if lvl.size > 0}
        self._asks = {lvl.price: lvl.size for lvl in asks if lvl.size > 0}
        self._bid_sorted = None
        self._ask_sorted = None
        self._top_bid = self._top_ask = _UNSET
        self.stale = False
        self.updated_at = at
        self.hash = hash_

    def apply_level(
        self, side: Side, price: Decimal, size: Decimal, *, at: datetime | None = None
    ) -> None:
        """Set the aggregate size at one level; size 0 removes it (PROTOCOL.md §1)."""
        buy = side is Side.BUY
        levels = self._bids if buy else self._asks
        if size == 0:
            if levels.pop(price, None) is None:
                return
            self._removed(buy, price)
        else:
            existed = price in levels
            levels[price] = size
            if not existed:
                self._added(buy, price)
        if at is not None:
            self.updated_at = at

    def _added(self, buy: bool, price: Decimal) -> None:
        """A new price level: the side's sorted cache goes; the best price may be this one."""
        if buy:
            self._bid_sorted = None
            top = self._top_bid
            if top is not _UNSET and (top is None or price > top):
                self._top_bid = price
        else:
            self._ask_sorted = None
            top = self._top_ask
            if top is not _UNSET and (top is None or price < top):
                self._top_ask = price

    def _removed(self, buy: bool, price: Decimal) -> None:
        """A level gone: the side's sorted cache goes, and the best price if it was this one."""
        if buy:
            self._bid_sorted = None
            if price == self._top_bid:
                self._top_bid = _UNSET
        else:
            self._ask_sorted = None
            if price == self._top_ask:
                self._top_ask = _UNSET

    def crossed(self) -> bool:
        """Best bid at or above best ask: a book the exchange never shows (a bad frame or a gap);
        the feed marks it stale until a snapshot or the REST refill rebuilds it."""
        bid, ask = self.best_bid, self.best_ask
        return bid is not None and ask is not None and bid >= ask

    def mark_stale(self) -> None:
        """The feed lost continuity (disconnect, gap): keep levels but stop trusting them."""
        self.stale = True

    # --- queries --------------------------------------------------------------------------

    def _bid_prices(self) -> list[Decimal]:
        if self._bid_sorted is None:
            self._bid_sorted = sorted(self._bids, reverse=True)
        return self._bid_sorted

    def _ask_prices(self) -> list[Decimal]:
        if self._ask_sorted is None:
            self._ask_sorted = sorted(self._asks)
        return self._ask_sorted

    @property
    def best_bid(self) -> Decimal | None:
        """Highest bid price (the last bid on the wire)."""
        top = self._top_bid
        if top is _UNSET:
            top = self._top_bid = max(self._bids) if self._bids else None
        return top

    @property
    def best_ask(self) -> Decimal | None:
        """Lowest ask price (the last ask on the wire)."""
        top = self._top_ask
        if top is _UNSET:
            top = self._top_ask = min(self._asks) if self._asks else None
        return top

    @property
    def mid(self) -> Decimal | None:
        """Midpoint of best bid and best ask, when both exist."""
        bid, ask = self.best_bid, self.best_ask
        return None if bid is None or ask is None else (bid + ask) / 2

    @property
    def spread(self) -> Decimal | None:
        """Best ask minus best bid, when both exist."""
        bid, ask = self.best_bid, self.best_ask
        return None if bid is None or ask is None else ask - bid

    def bids(self) -> list[PriceLevel]:
        """Bid levels, best (highest) first."""
        return [PriceLevel(p, self._bids[p]) for p in self._bid_prices()]

    def asks(self) -> list[PriceLevel]:
        """Ask levels, best (lowest) first."""
        return [PriceLevel(p, self._asks[p]) for p in self._ask_prices()]

    def depth(self, side: Side) -> Decimal:
        """Total shares resting on one side (BUY = bids, SELL = asks)."""
        return sum((self._bids if side is Side.BUY else self._asks).values(), ZERO)

    def size_at(self, side: Side, price: Decimal) -> Decimal:
        """Aggregate size at one price on one side (0 if absent)."""
        return (self._bids if side is Side.BUY else self._asks).get(price, ZERO)

    def walk(self, side: Side, shares: Decimal, limit_price: Decimal | None = None) -> Walk:
        """Walk the opposite side for ``shares``: BUY lifts asks, SELL hits bids.

        Stops at ``limit_price`` (a BUY never pays above it, a SELL never sells below it).
        """
        levels = self.asks() if side is Side.BUY else self.bids()
        remaining = shares
        cost = ZERO
        touched: list[PriceLevel] = []
        for level in levels:
            if remaining <= 0:
                break
            if limit_price is not None and (
                (side is Side.BUY and level.price > limit_price)
                or (side is Side.SELL and level.price < limit_price)
            ):
                break
            take = min(remaining, level.size)
            cost += take * level.price
            remaining -= take
            touched.append(PriceLevel(level.price, take))
        filled = shares - remaining
        return Walk(filled, cost, tuple(touched), remaining <= 0)

    def cost_to_buy(self, shares: Decimal) -> Decimal | None:
        """USD to buy ``shares`` now by lifting asks; None if the book is too thin."""
        walk = self.walk(Side.BUY, shares)
        return walk.cost_usd if walk.complete else None

    def proceeds_to_sell(self, shares: Decimal) -> Decimal | None:
        """USD received for selling ``shares`` now into bids; None if the book is too thin."""
        walk = self.walk(Side.SELL, shares)
        return walk.cost_usd if walk.complete else None

    def top(self) -> BookTop:
        """An immutable summary for consumers outside the feed."""
        return BookTop(
            token_id=self.token_id,
            best_bid=self.best_bid,
            best_ask=self.best_ask,
            bid_depth=self.depth(Side.BUY),
            ask_depth=self.depth(Side.SELL),
            stale=self.stale,
            updated_at=self.updated_at,
        )


class BookStore:
    """All books the CLOB feed maintains, by token id."""

    def __init__(self) -> None:
        self._books: dict[str, OrderBook] = {}

    def get(self, token_id: str) -> OrderBook | None:
        """The book for a token, if one exists."""
        return self._books.get(token_id)

    def ensure(self, token_id: str, condition_id: str = "") -> OrderBook:
        """The book for a token, created empty (and stale) if new."""
        book = self._books.get(token_id)
        if book is None:
            book = self._books[token_id] = OrderBook(token_id, condition_id)
        elif condition_id and not book.condition_id:
            book.condition_id = condition_id
        return book

    def apply_changes(
        self,
        changes: Sequence[LevelChange],
        tokens: Container[str],
        price_of: NumberCache,
        size_of: NumberCache,
    ) -> tuple[dict[str, OrderBook], list[OrderBook]]:
        """Apply one ``price_change`` frame's level updates to subscribed ``tokens``' books
        (``price_of`` / ``size_of`` parse wire numbers through their caches); returns the books
        touched and those now crossed or locked (best bid >= best ask; stale ones not judged).

        Hundreds of thousands of levels a minute go through here, so ``apply_level``'s common
        cases are inlined. A bad change after good ones raises with the good ones applied: the
        books touched are marked stale until a snapshot or the REST refill rebuilds them.
        """
        get_book = self._books.get  # the dict's own get: no Python-level call per token
        prices, sizes = price_of.cache, size_of.cache
        touched: dict[str, OrderBook] = {}
        suspects: list[OrderBook] | None = None  # made when one is found (most frames: none)
        change: LevelChange | None = None
        try:
            for change in changes:
                token = change.asset_id
                # The feed keeps a book only for a subscribed token, so one lookup answers
                # both; ``tokens`` is asked only to name what is wrong.
                book = get_book(token)
                if book is None or (book.stale and book.updated_at is None):
                    if token not in tokens:
                        raise BookError("unsubscribed token" if token else "missing asset_id")
                    raise BookError("price_change before snapshot")
                touched[token] = book
                side = change.side
                if side == "BUY" or side == "buy":
                    levels, buy = book._bids, True
                elif side == "SELL" or side == "sell":
                    levels, buy = book._asks, False
                else:
                    raise BookError("bad side")
                # An unhashable wire value raises TypeError here: a malformed frame.
                raw_price = change.price
                price = prices.get(raw_price) or price_of(raw_price)  # (a price of 0 is parsed)
                raw_size = change.size
                size = sizes.get(raw_size)
                if size is None:
                    size = size_of(raw_size)
                if size:  # _added / _removed inlined: the common case is a size changing
                    if price in levels:
                        levels[price] = size
                        continue
                    levels[price] = size
                    # Only a new level can cross a book the feed trusts (it marks a crossed one
                    # stale): one at or through the other side's best (or where that is not
                    # known) is judged after the frame.
                    if buy:
                        book._bid_sorted = None
                        top, other = book._top_bid, book._top_ask
                        if top is not _UNSET and (top is None or price > top):
                            book._top_bid = price
                        if other is _UNSET or (other is not None and price >= other):
                            suspects = [book] if suspects is None else [*suspects, book]
                    else:
                        book._ask_sorted = None
                        top, other = book._top_ask, book._top_bid
                        if top is not _UNSET and (top is None or price < top):
                            book._top_ask = price
                        if other is _UNSET or (other is not None and price <= other):
                            suspects = [book] if suspects is None else [*suspects, book]
                elif levels.pop(price, None) is not None:
                    book._removed(buy, price)
        except Exception:
            if touched and change is not changes[0]:
                for book in touched.values():
                    book.mark_stale()
            raise
        if suspects is None:
            return touched, _NONE
        return touched, [b for b in dict.fromkeys(suspects) if b.crossed() and not b.stale]

    def discard(self, token_id: str) -> None:
        """Forget a token's book (unsubscribed)."""
        self._books.pop(token_id, None)

    def mark_all_stale(self) -> None:
        """Connection lost: every book is untrusted until its next snapshot."""
        for book in self._books.values():
            book.mark_stale()

    def tokens(self) -> list[str]:
        """Token ids with a book."""
        return list(self._books)

    def __len__(self) -> int:
        return len(self._books)

    def __contains__(self, token_id: object) -> bool:
        return token_id in self._books
