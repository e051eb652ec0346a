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
    s.strategy.max_bet_usd = D(20)
    s.paper.starting_balance_usd = D(1000)
    for key, value in risk.items():
        setattr(s.risk, key, value)
    return s


_RECORDS: dict[tuple[int, int], dict[str, object]] = {}


def proven(strategy: object, *wallets: str, markets: int = 60, wins: int = 45) -> None:
    """Give wallets a long record built by the scorer itself: one buy at 0.50 in each of
    ``markets`` resolved markets, ``wins`` of them winners (edge +0.25 a share by default).
    The record is built once and restored into each wallet, as after a restart."""
    from dataclasses import replace
    from datetime import UTC, datetime

    from polytui.strategy.scoring import WalletRecord, WalletScorer

    key = (markets, wins)
    if key not in _RECORDS:
        scorer = WalletScorer(D(0), 10)
        at = datetime(2026, 1, 1, tzinfo=UTC)
        for i in range(markets):
            cid, token = f"0xh{i}", f"h{i}"
            scorer.observe(replace(trade(at, token=token), condition_id=cid))
            scorer.on_resolution(cid, token if i < wins else token + "n", at)
        _RECORDS[key] = scorer.record(WHALE).to_record()
    target = strategy.scorer  # type: ignore[attr-defined]
    for wallet in wallets or (WHALE, WHALE2, WHALE3):
        raw = {**_RECORDS[key], "wallet": wallet.lower()}
        target.records[wallet.lower()] = WalletRecord.from_record(raw)
    target.invalidate()
