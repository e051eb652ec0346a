"""Order books: worst-first wire order, level updates, walking the book."""

from decimal import Decimal as D

from polytui.feeds.books import OrderBook
from polytui.model import PriceLevel, Side


def docs_book() -> OrderBook:
    # The docs' book sample, worst-first: bids ascending, asks descending (PROTOCOL.md §1).
    return OrderBook.from_levels(
        "tok",
        [(".48", "30"), (".49", "20"), (".50", "15")],
        [(".54", "10"), (".53", "60"), (".52", "25")],
    )


def test_best_bid_is_highest_bid_whatever_wire_order() -> None:
    book = docs_book()
    assert book.best_bid == D("0.50")
    assert book.best_ask == D("0.52")
    assert book.mid == D("0.51")
    assert book.spread == D("0.02")


def test_price_change_size_zero_removes_level() -> None:
    book = docs_book()
    book.apply_level(Side.BUY, D("0.50"), D(0))
    assert book.best_bid == D("0.49")


def test_price_change_sets_aggregate_size_not_delta() -> None:
    book = docs_book()
    book.apply_level(Side.SELL, D("0.52"), D("5"))
    assert book.asks()[0] == PriceLevel(D("0.52"), D("5"))
    assert book.depth(Side.SELL) == D("75")


def test_walk_buys_across_three_levels() -> None:
    book = docs_book()
    # 25 @ .52 + 60 @ .53 + 5 @ .54 = 13 + 31.8 + 2.7
    assert book.cost_to_buy(D("90")) == D("47.50")
    assert book.cost_to_buy(D("96")) is None
    walk = book.walk(Side.SELL, D("40"))
    assert walk.cost_usd == D("15") * D("0.50") + D("20") * D("0.49") + D("5") * D("0.48")
    assert walk.worst_price == D("0.48")


def test_walk_respects_limit_price() -> None:
    walk = docs_book().walk(Side.BUY, D("90"), limit_price=D("0.52"))
    assert walk.shares == D("25") and not walk.complete


def test_new_book_is_stale_until_snapshot() -> None:
    book = OrderBook("t")
    assert book.stale
    book.apply_snapshot([], [])
    assert not book.stale
    book.mark_stale()
    assert book.top().stale
