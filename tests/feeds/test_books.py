"""Order books: worst-first wire order, level updates, walking the book."""

from decimal import Decimal as D

from hypothesis import given, settings
from hypothesis import strategies as st

from polytui.feeds.books import BookStore, OrderBook
from polytui.feeds.clob_wire import Change
from polytui.feeds.wirenum import NumberCache
from polytui.model import PriceLevel, Side, parse_price, parse_shares


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


# --- the kept best prices, under any sequence of updates -------------------------------------

PRICES = [f"0.{c:02d}" for c in range(40, 61)]
STEP = st.tuples(
    st.sampled_from(["level", "change", "snapshot", "ask"]),
    st.sampled_from(["BUY", "SELL"]),
    st.sampled_from(PRICES),
    st.sampled_from(["0", "5", "40"]),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(STEP, max_size=40))
def test_best_prices_and_crossing_match_the_levels_after_any_updates(
    steps: list[tuple[str, str, str, str]],
) -> None:
    # The best bid and ask are kept, not recomputed: after every update they must equal the
    # levels' max and min, and a frame that added a level reports its book if it is crossed.
    store = BookStore()
    book = store.ensure("tok")
    book.apply_snapshot([], [])
    price_of, size_of = NumberCache(parse_price), NumberCache(parse_shares)
    for kind, side, price, size in steps:
        if kind == "level":
            book.apply_level(Side(side), D(price), D(size))
        elif kind == "snapshot":
            book.apply_snapshot([PriceLevel(D(price), D(size))], [])
        elif kind == "ask":  # a question in between fills the kept value
            assert book.best_ask == (min(book._asks) if book._asks else None)
        else:
            change = Change(asset_id="tok", price=price, size=size, side=side)  # type: ignore[arg-type]
            levels = book._bids if side == "BUY" else book._asks
            new_level = size != "0" and D(price) not in levels
            was_crossed = book.crossed()
            _, crossed = store.apply_changes([change], {"tok"}, price_of, size_of)
            # Only a new level can cross a book, so only a frame that added one reports it (the
            # feed marks a crossed book stale, so a frame never starts on one it judges).
            if not was_crossed:
                assert crossed == ([book] if new_level and book.crossed() else [])
        bids, asks = book._bids, book._asks
        assert book.best_bid == (max(bids) if bids else None)
        assert book.best_ask == (min(asks) if asks else None)
        assert book.crossed() == (bool(bids) and bool(asks) and max(bids) >= min(asks))
