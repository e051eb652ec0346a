"""Hand-built domain objects for strategy tests."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal as D

from polytui.feeds.books import OrderBook
from polytui.model import FeeSchedule, Market, Outcome, Side, TradeSource, WhaleTrade
from polytui.settings import Settings

WHALE = "0x" + "a" * 40
WHALE2 = "0x" + "b" * 40
WHALE3 = "0x" + "c" * 40


def market(now: datetime, cid: str = "0xc1", yes: str = "y1", hours: float = 10) -> Market:
    return Market(
        cid,
        "Will it?",
        "will-it",
        (Outcome(0, "Yes", yes), Outcome(1, "No", yes + "n")),
        now + timedelta(hours=hours),
        fee_schedule=FeeSchedule(D("0.07"), 1),
    )


def book(token: str = "y1", ask: str = "0.50") -> OrderBook:
    a = D(ask)
    return OrderBook.from_levels(
        token,
        [(str(a - D("0.02")), "500"), (str(a - D("0.01")), "500")],
        [(str(a + D("0.02")), "500"), (str(a + D("0.01")), "500"), (str(a), "500")],
    )


def trade(
    now: datetime,
    wallet: str = WHALE,
    token: str = "y1",
    price: str = "0.50",
    usd: str = "1000",
    side: Side = Side.BUY,
    tx: str = "0x01",
) -> WhaleTrade:
    p = D(price)
    return WhaleTrade(
        wallet=wallet,
        token_id=token,
        side=side,
        price=p,
        shares=(D(usd) / p).quantize(D("0.01")),
        usd=D(usd),
        tx_hash=tx,
        source=TradeSource.ACTIVITY,
        match_time=now,
        received_at=now + timedelta(seconds=2),
        condition_id="0xc1",
        outcome="Yes",
    )


def settings(**risk: object) -> Settings:
    s = Settings()
    s.whales.wallets = [WHALE, WHALE2, WHALE3]
    s.strategy.min_confidence = D("0.5")
    s.strategy.max_bet_usd = D(20)
    s.paper.starting_balance_usd = D(1000)
    for key, value in risk.items():
        setattr(s.risk, key, value)
    return s


def proven(strategy: object, *wallets: str) -> None:
    """Give wallets a long winning record (20 of 20), so their trades have an edge."""
    for wallet in wallets or (WHALE, WHALE2, WHALE3):
        rec = strategy.scorer.record(wallet)  # type: ignore[attr-defined]
        rec.resolved, rec.wins = 20, 20
