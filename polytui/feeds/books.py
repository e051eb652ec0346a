"""Order books per token: applies CLOB snapshots and level updates, answers price questions.

Wire facts relied on (PROTOCOL.md §1): levels arrive worst-first (bids ascending, asks
descending), so the best bid is the *highest* bid whatever the order on the wire; a
``price_change`` carries the new aggregate size at a level and ``"0"`` removes the level. Here
each side is a dict price → size and the best price is found by ``max``/``min`` on a cached key
list, so wire order never matters.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from polytui.model import ZERO, BookTop, PriceLevel, Side


class BookError(ValueError):
    """An update that cannot be applied (no snapshot yet, bad side)."""


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
        self.stale = False
        self.updated_at = at
        self.hash = hash_

    def apply_level(
        self, side: Side, price: Decimal, size: Decimal, *, at: datetime | None = None
    ) -> None:
        """Set the aggregate size at one level; size 0 removes it (PROTOCOL.md §1)."""
        levels = self._bids if side is Side.BUY else self._asks
        if size == 0:
            if levels.pop(price, None) is None:
                return
        else:
            existed = price in levels
            levels[price] = size
            if existed:
                if at is not None:
                    self.updated_at = at
                return
        # The set of prices changed: drop the sorted cache of that side.
        if side is Side.BUY:
            self._bid_sorted = None
        else:
            self._ask_sorted = None
        if at is not None:
            self.updated_at = at

    def crossed(self) -> bool:
        """Best bid at or above best ask: a book the exchange never shows (a bad frame or a gap);
        the feed marks it stale until a snapshot or the REST refill rebuilds it."""
        return bool(self._bids) and bool(self._asks) and max(self._bids) >= min(self._asks)

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
        prices = self._bid_prices()
        return prices[0] if prices else None

    @property
    def best_ask(self) -> Decimal | None:
        """Lowest ask price (the last ask on the wire)."""
        prices = self._ask_prices()
        return prices[0] if prices else None

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
