"""Profiles refreshed from a loopback data-api into a real journal, incrementally."""

from __future__ import annotations

import sqlite3
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest

from polytui.feeds.history import HistoryClient
from polytui.feeds.http import make_client
from polytui.journal import SCHEMA_VERSION, Journal
from polytui.model import Role
from polytui.whales.refresh import Refresher
from polytui.whales.store import ProfileStore
from tests.feeds.history_server import HistoryWorld, serve_history

WHALE = "0x" + "1f" * 20
OTHER = "0x" + "2e" * 20
T0 = 1_780_000_000


def cid(m: int) -> str:
    return f"0x{m:064x}"


def trade_row(
    who: str, m: int, ts: int, price: float, *, role: str = "taker", side: str = "BUY", n: int = 0
) -> dict[str, Any]:
    return {
        "proxyWallet": who,
        "side": side,
        "asset": f"{m}-0",
        "conditionId": cid(m),
        "size": 10,
        "price": price,
        "timestamp": ts,
        "title": f"Market {m}",
        "slug": f"m{m}",
        "eventSlug": f"e{m}",
        "outcome": "Yes",
        "outcomeIndex": 0,
        "transactionHash": f"0x{m:030x}{ts:020x}{n:014x}",
        "_role": role,
    }


def make_world(markets: int = 40, per_market: int = 3) -> HistoryWorld:
    world = HistoryWorld()
    for m in range(markets):
        for k in range(per_market):
            ts = T0 + m * 3600 + k * 60
            world.trades.append(trade_row(WHALE, m, ts, 0.40, role="maker" if k == 2 else "taker"))
            for j in range(1, 4):  # the market's tape after the whale's fill
                world.trades.append(trade_row(OTHER, m, ts + j * 3, 0.45, n=j))
        if m % 2 == 0:
            world.resolutions.append(
                {
                    "condition_id": cid(m),
                    "status": "resolved",
                    "payouts": [1000000, 0] if m % 4 == 0 else [0, 1000000],
                    "resolved_at": T0 + m * 3600 + 86400,
                }
            )
    world.activity.append(
        {
            "proxyWallet": WHALE,
            "type": "REDEEM",
            "timestamp": T0 + 90000,
            "conditionId": cid(0),
            "size": 30,
            "usdcSize": 30,
            "price": 0,
            "asset": "",
            "side": "",
            "outcomeIndex": 999,
            "transactionHash": "0xredeem",
        }
    )
    world.closed.append(
        {
            "proxyWallet": WHALE,
            "asset": "0-0",
            "conditionId": cid(0),
            "avgPrice": 0.4,
            "totalBought": 30,
            "realizedPnl": 18,
            "curPrice": 1,
            "timestamp": T0 + 90000,
            "outcomeIndex": 0,
            "title": "Market 0",
        }
    )
    return world


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def journal_at(tmp_path: Path) -> Journal:
    return Journal.open(tmp_path / "paper.db", mode="paper")


async def test_refresh_profiles_a_wallet_with_roles_settlements_redeems_and_tapes(
    tmp_path: Path,
) -> None:
    async with serve_history(make_world()) as server:
        journal = journal_at(tmp_path)
        history = HistoryClient(make_client(5.0), server.url, backoff_s=0.01)
        refresher = Refresher(history, ProfileStore(journal), now_s=Clock(T0 + 400_000))
        result = await refresher.refresh(WHALE)
        profile = result.profile
        assert profile.trades == 120 and result.new_fills == 120
        fills = ProfileStore(journal).fills(WHALE)
        assert sum(f.role is Role.MAKER for f in fills) == 40
        assert profile.resolved == 40  # 20 settled markets × (taker bet + maker bet)
        assert profile.redeems == 1
        assert profile.realized_pnl_usd == D("18.000000")
        assert profile.pnl_source == "closed positions"
        at2 = profile.copy_at(2.0)
        assert at2 is not None and at2.stat.n == 40  # every settled buy bet found a print
        assert at2.stat.edge == profile.record.edge - D("0.05")  # the tape printed 0.45
        saved = ProfileStore(journal).profiles()[WHALE]
        assert saved == profile
        journal.close()
        await history.client.aclose()


async def test_a_second_refresh_asks_only_for_what_is_new(tmp_path: Path) -> None:
    world = make_world()
    async with serve_history(world) as server:
        journal = journal_at(tmp_path)
        clock = Clock(T0 + 400_000)
        history = HistoryClient(make_client(5.0), server.url, backoff_s=0.01)
        refresher = Refresher(history, ProfileStore(journal), now_s=clock)
        await refresher.refresh(WHALE)
        world.trades.append(trade_row(WHALE, 99, T0 + 450_000, 0.3))
        clock.now = T0 + 500_000
        mark = len(server.requests)
        result = await refresher.refresh(WHALE)
        assert result.new_fills == 1 and result.profile.trades == 121
        later = [
            q
            for _, path, q in server.requests[mark:]
            if path == "/v2/trades" and q.get("user") == WHALE
        ]
        assert later and all(q["start"] == str(T0 + 400_000 - 1) for q in later)
        journal.close()
        await history.client.aclose()


class Interrupt(Exception):
    pass


async def test_an_interrupted_refresh_resumes_from_the_saved_cursor(tmp_path: Path) -> None:
    world = make_world(markets=500, per_market=3)  # 1,500 fills: two v2 pages per stream
    async with serve_history(world) as server:
        journal = journal_at(tmp_path)
        history = HistoryClient(make_client(5.0), server.url, backoff_s=0.01)

        def stop_after_first_page(stage: str, done: int, total: int | None) -> None:
            if stage.endswith("trades:all") and done == 1:
                raise Interrupt

        clock = Clock(T0 + 3_000_000)
        first = Refresher(
            history, ProfileStore(journal), now_s=clock, progress=stop_after_first_page
        )
        with pytest.raises(Interrupt):
            await first.refresh(WHALE)
        journal.close()
        journal = journal_at(tmp_path)  # a new process, the same file
        mark = len(server.requests)
        again = Refresher(history, ProfileStore(journal), now_s=clock)
        result = await again.refresh(WHALE)
        assert result.profile.trades == 1_500
        resumed = [
            q
            for _, path, q in server.requests[mark:]
            if path == "/v2/trades" and q.get("taker_only") == "false"
        ]
        assert "cursor" in resumed[0]  # picked up at page two, not from the start
        assert sum(f.role is Role.MAKER for f in ProfileStore(journal).fills(WHALE)) == 500
        journal.close()
        await history.client.aclose()


def test_a_version_2_journal_gains_the_whale_tables(tmp_path: Path) -> None:
    path = tmp_path / "paper.db"
    journal = Journal.open(path, mode="paper")
    journal.close()
    conn = sqlite3.connect(path)
    for table in ("history_rows", "history_cursors", "wallet_profiles"):
        conn.execute(f"DROP TABLE {table}")
    conn.execute("PRAGMA user_version = 2")
    conn.commit()
    conn.close()
    journal = Journal.open(path, mode="paper")
    assert SCHEMA_VERSION == 3
    journal.put_wallet_profile(WHALE, {"wallet": WHALE})
    journal.flush()
    assert journal.wallet_profiles() == {WHALE: {"wallet": WHALE}}
    journal.close()
