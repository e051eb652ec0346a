"""Paper broker fills against hand-computed books."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_DOWN
from decimal import Decimal as D

from polytui.clock import FakeClock
from polytui.execution.paper import PaperBroker
from polytui.execution.rules import round_to_tick
from polytui.feeds.books import BookStore, OrderBook
from polytui.model import (
    FeeSchedule,
    Market,
    Order,
    OrderStatus,
    OrderType,
    Outcome,
    Side,
)
from polytui.settings import PaperSettings

TOKEN = "111"


def market(**kw: object) -> Market:
    base: dict[str, object] = dict(
        condition_id="0xc",
        question="Will it?",
        slug="will-it",
        outcomes=(Outcome(0, "Yes", TOKEN), Outcome(1, "No", "222")),
        end_time=datetime(2026, 11, 25, tzinfo=UTC),
        tick_size=D("0.01"),
        min_order_size=D(5),
        fee_schedule=FeeSchedule(rate=D("0.07"), exponent=1),
    )
    base.update(kw)
    return Market(**base)  # type: ignore[arg-type]


def store() -> BookStore:
    books = BookStore()
    book = OrderBook.from_levels(
        TOKEN,
        [("0.48", "30"), ("0.49", "20"), ("0.50", "15")],
        [("0.54", "10"), ("0.53", "60"), ("0.52", "25")],
    )
    books._books[TOKEN] = book
    return books


def order(shares: str, limit: str, side: Side = Side.BUY, kind: OrderType = OrderType.FAK) -> Order:
    return Order(
        id="ord-1",
        intent_id="int-1",
        token_id=TOKEN,
        side=side,
        shares=D(shares),
        limit_price=D(limit),
        order_type=kind,
        created_at=datetime(2026, 11, 24, tzinfo=UTC),
    )


def broker(books: BookStore | None = None, **settings: object) -> PaperBroker:
    cfg = PaperSettings(latency_ms=0, slippage_cap=D("0.05"))
    for key, value in settings.items():
        setattr(cfg, key, value)
    return PaperBroker(cfg, books or store(), FakeClock())


def test_buy_walks_three_levels_and_charges_fee_per_level() -> None:
    report = broker().fill_now(
        order("90", "0.54"), market(), sized_price=D("0.52"), whale_price=D("0.50")
    )
    [fill] = report.fills
    assert fill.shares == D(90)
    # 25×.52 + 60×.53 + 5×.54 = 47.50 → avg 0.527777…
    assert fill.avg_price == D("0.527778")
    expected_fee = sum(
        (
            (D(n) * D("0.07") * D(p) * (1 - D(p))).quantize(D("0.00001"), ROUND_DOWN)
            for n, p in [(25, ".52"), (60, ".53"), (5, ".54")]
        ),
        D(0),
    )  # each level's fee at the venue's 5 decimals
    assert fill.fee_usd == expected_fee
    assert report.orders[-1].status is OrderStatus.FILLED
    assert fill.latency_tax_cents == (D("0.527778") - D("0.50")) * 100


def test_fak_keeps_a_partial_fill_at_the_limit() -> None:
    report = broker().fill_now(
        order("100", "0.53"), market(), sized_price=D("0.52"), whale_price=D("0.5")
    )
    assert report.fills[0].shares == D(85)
    assert report.orders[-1].status is OrderStatus.PARTIAL


def test_fok_rejects_when_book_too_thin() -> None:
    report = broker().fill_now(
        order("100", "0.53", kind=OrderType.FOK),
        market(),
        sized_price=D("0.52"),
        whale_price=D("0.5"),
    )
    assert not report.fills and "FOK" in report.reason


def test_limit_rounds_to_tick_and_shares_to_two_decimals() -> None:
    assert round_to_tick(D("0.5299"), D("0.01"), Side.BUY) == D("0.52")
    assert round_to_tick(D("0.4801"), D("0.01"), Side.SELL) == D("0.49")
    report = broker().fill_now(
        order("10.129", "0.5299"), market(), sized_price=D("0.52"), whale_price=D("0.5")
    )
    assert report.fills[0].shares == D("10.12")
    assert report.fills[0].avg_price == D("0.52")


def test_minimum_sizes_are_the_clobs() -> None:
    # A marketable buy needs 1 pUSD, not the share minimum (that is for orders that may rest).
    small = broker().fill_now(
        order("4", "0.60"), market(), sized_price=D("0.52"), whale_price=D("0.5")
    )
    assert small.fills and small.fills[0].shares == D(4), small.reason
    tiny = broker().fill_now(
        order("1.8", "0.53"), market(), sized_price=D("0.52"), whale_price=D("0.5")
    )
    assert not tiny.fills and "at least 1 pUSD" in tiny.reason
    sell = broker().fill_now(
        order("4", "0.40", Side.SELL), market(), sized_price=D("0.48"), whale_price=D("0.5")
    )
    assert not sell.fills and "minimum" in sell.reason


def test_slippage_over_the_cap_is_refused() -> None:
    report = broker(slippage_cap=D("0.005")).fill_now(
        order("90", "0.60"), market(), sized_price=D("0.52"), whale_price=D("0.5")
    )
    assert not report.fills and "slippage" in report.reason


def test_stale_book_and_closed_market_are_refused() -> None:
    books = store()
    books.get(TOKEN).mark_stale()  # type: ignore[union-attr]
    stale = broker(books).fill_now(
        order("10", "0.6"), market(), sized_price=D("0.52"), whale_price=D("0.5")
    )
    assert "stale" in stale.reason
    closed = broker().fill_now(
        order("10", "0.6"), market(closed=True), sized_price=D("0.52"), whale_price=D("0.5")
    )
    assert "closed" in closed.reason
    paused = broker().fill_now(
        order("10", "0.6"),
        market(accepting_orders=False),
        sized_price=D("0.52"),
        whale_price=D("0.5"),
    )
    assert "not accepting" in paused.reason


def test_sell_hits_bids_best_first() -> None:
    report = broker().fill_now(
        order("40", "0.40", side=Side.SELL), market(), sized_price=D("0.50"), whale_price=D("0.50")
    )
    fill = report.fills[0]
    assert fill.shares == D(40)
    assert fill.avg_price == (
        (D(15) * D("0.5") + D(20) * D("0.49") + D(5) * D("0.48")) / 40
    ).quantize(D("0.000001"))


async def test_latency_wait_fills_against_the_book_after_the_wait() -> None:
    books = store()

    async def sleep(_: float) -> None:
        # The market moves while our order is in flight: the .52 level is taken.
        books.get(TOKEN).apply_level(Side.SELL, D("0.52"), D(0))  # type: ignore[union-attr]

    paper = PaperBroker(
        PaperSettings(latency_ms=250, slippage_cap=D("0.05")), books, FakeClock(), sleep=sleep
    )
    report = await paper.execute(
        order("10", "0.60"), market(), sized_price=D("0.52"), whale_price=D("0.50")
    )
    assert report.fills[0].avg_price == D("0.53")
