"""Catch-up after a restart: whale trades made while the app was down arrive once, if recent.

Each test runs a source, journals what it delivered and the cursor the engine saves, stops it,
lets watched-whale fills happen, then starts a new source from ``catch_up_plan`` over the same
journal (as ``wiring`` does) behind a ``WhaleStream`` seeded with the journal's signals.
Real servers on loopback: anvil for the chain, the simulator's ``/data/trades`` for the data-api.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from polytui.engine import CURSOR_KEY, catch_up_plan
from polytui.feeds.chain import ChainFeed
from polytui.feeds.dataapi import DataApiPoller
from polytui.feeds.history import HistoryClient
from polytui.feeds.stream import WhaleStream
from polytui.journal import Journal
from polytui.model import Market, Outcome, WhaleTrade
from polytui.sim.server import SimServer
from tests.anvil import Anvil, fill_v2, running_anvil

WHALE = "0x" + "ab" * 20


@pytest.fixture(scope="module")
def node() -> Iterator[Anvil]:
    with running_anvil() as anvil:
        yield anvil


async def any_market(token_id: str) -> Market:
    return Market("0xc", "Q?", "q", (Outcome(0, "Yes", token_id), Outcome(1, "No", "0")), None)


async def until(check: Any, timeout: float = 5.0) -> None:
    for _ in range(int(timeout / 0.02)):
        if check():
            return
        await asyncio.sleep(0.02)
    raise TimeoutError


def journal_signal(journal: Journal, trade: WhaleTrade) -> None:
    """The keys of the strategy's signal record that identify the fill."""
    journal.append(
        "signal",
        {
            "wallet": trade.wallet,
            "token_id": trade.token_id,
            "side": trade.side.value,
            "tx_hash": trade.tx_hash,
            "shares": trade.shares,
        },
    )


def save_cursor(
    journal: Journal, at: datetime, started: datetime | None = None, **marks: Any
) -> None:
    """What ``Engine._save_cursor`` writes (by default, a run that started a minute earlier)."""
    from_ = (started or at - timedelta(seconds=60)).isoformat()
    journal.set_state(CURSOR_KEY, dict(marks, at=at.isoformat(), **{"from": from_}))
    journal.flush()


class Run:
    """A stream and its output, seeded from a catch-up plan."""

    def __init__(self, seen: list[object] | None = None) -> None:
        self.out: list[WhaleTrade] = []
        self.stream = WhaleStream(any_market, self.out.append)
        if seen:
            self.stream.remember(seen)
        self.task = asyncio.create_task(self.stream.run())

    def tokens(self) -> list[str]:
        return [t.token_id for t in self.out]


def chain_feed(node: Anvil, run: Run, **kw: Any) -> ChainFeed:
    return ChainFeed(
        node.ws_url,
        addresses=[node.emitter],
        wallets={WHALE},
        on_trade=run.stream.offer,
        backoff_initial_s=0.02,
        backoff_cap_s=0.05,
        **kw,
    )


async def fill(node: Anvil, token: int) -> None:
    await fill_v2(node, WHALE, token)


async def test_chain_catches_up_missed_fills_exactly_once(node: Anvil, tmp_path: Path) -> None:
    journal = Journal.open(tmp_path / "paper.db", mode="paper", backup=False)
    first = Run()
    feed = chain_feed(node, first)
    task = asyncio.create_task(feed.run())
    await until(lambda: feed.status().connected)
    await fill(node, 20)
    await until(lambda: len(first.out) == 1)
    journal_signal(journal, first.out[0])
    save_cursor(journal, datetime.now(UTC), chain_block=feed.last_block)
    await feed.stop()
    await asyncio.wait_for(task, 5)

    for token in (21, 22):  # while down
        await fill(node, token)

    plan = catch_up_plan(journal, 600, datetime.now(UTC))
    assert plan is not None
    second = Run(plan.seen)
    feed = chain_feed(node, second, resume_block=plan.chain_block, catch_up_since=plan.chain_floor)
    assert not feed.catch_up_done
    task = asyncio.create_task(feed.run())
    await until(lambda: feed.catch_up_done and feed.status().connected)
    await fill(node, 23)  # live again
    await until(lambda: len(second.out) == 3)
    await asyncio.sleep(0.2)
    # 20 came back with the saved block and was known from the journal: merged, not copied.
    assert second.tokens() == ["21", "22", "23"]
    assert second.stream.duplicates == 1
    await feed.stop()
    task.cancel()
    for run in (first, second):
        run.task.cancel()
    journal.close()


async def test_chain_does_not_replay_fills_older_than_the_window(
    node: Anvil, tmp_path: Path
) -> None:
    journal = Journal.open(tmp_path / "paper.db", mode="paper", backup=False)
    first = Run()
    feed = chain_feed(node, first)
    task = asyncio.create_task(feed.run())
    await until(lambda: feed.status().connected)
    await fill(node, 30)
    await until(lambda: len(first.out) == 1)
    save_cursor(journal, datetime.now(UTC), chain_block=feed.last_block)  # 30 not journaled
    await feed.stop()
    await asyncio.wait_for(task, 5)

    await fill(node, 31)  # missed, but it will be too old by the restart
    await asyncio.to_thread(node.rpc, "evm_increaseTime", 1000)
    await fill(node, 32)  # missed, ~1000 s later on the chain's clock

    later = datetime.now(UTC) + timedelta(seconds=1000)
    plan = catch_up_plan(journal, 600, later)
    assert plan is not None and plan.since == later - timedelta(seconds=600)
    second = Run(plan.seen)
    feed = chain_feed(
        node,
        second,
        resume_block=plan.chain_block,
        catch_up_since=plan.chain_floor,
        wall_clock=lambda: datetime.now(UTC) + timedelta(seconds=1000),
    )
    task = asyncio.create_task(feed.run())
    await until(lambda: feed.catch_up_done)
    await until(lambda: len(second.out) == 1)
    await asyncio.sleep(0.2)
    assert second.tokens() == ["32"]
    assert feed.too_old == 2  # 30 (at the saved block) and 31
    assert second.out[0].latency_ms < 60_000  # matched ~now on the shifted clock
    await feed.stop()
    task.cancel()
    for run in (first, second):
        run.task.cancel()
    journal.close()


async def test_catch_up_off_or_first_start_plans_nothing(tmp_path: Path) -> None:
    journal = Journal.open(tmp_path / "paper.db", mode="paper", backup=False)
    now = datetime.now(UTC)
    assert catch_up_plan(journal, 600, now) is None  # nothing saved yet
    save_cursor(journal, now, chain_block=5)
    assert catch_up_plan(journal, 0, now) is None  # catch_up_s = 0
    journal.close()


def rows_to_trades(rows: list[WhaleTrade]) -> set[object]:
    return {t.dedup_key for t in rows}


@pytest.mark.parametrize("window_s", [600.0, 1.5])
async def test_dataapi_catches_up_fills_newer_than_the_saved_mark(
    tmp_path: Path, window_s: float
) -> None:
    journal = Journal.open(tmp_path / "paper.db", mode="paper", backup=False)
    rows: list[dict[str, Any]] = []
    recorder = record_trade_rows(rows)
    async with (
        SimServer("demo", seed=7, speed=40.0) as sim,
        httpx.AsyncClient(event_hooks={"response": [recorder]}) as http,
    ):
        client = HistoryClient(http, sim.urls["data_api_url"])
        wallets = set(sim.whale_wallets)
        await asyncio.sleep(0.5)  # history before the first start: never copied
        first = Run()
        poller = DataApiPoller(client, wallets, interval_s=1, on_trade=first.stream.offer)
        for _ in range(50):
            await asyncio.sleep(0.2)
            await poller.poll_once()
            if poller.newest is not None:
                break
        await until(lambda: first.stream.pending == 0)
        for trade in first.out:
            journal_signal(journal, trade)
        assert poller.newest is not None
        save_cursor(
            journal,
            datetime.now(UTC),
            started=poller.floor,
            dataapi_ts=int(poller.newest.timestamp()),
        )
        before = rows_to_trades(first.out)

        await asyncio.sleep(2.5)  # down: the whales keep trading

        now = datetime.now(UTC)
        plan = catch_up_plan(journal, window_s, now)
        assert plan is not None
        second = Run(plan.seen)
        poller = DataApiPoller(
            client,
            wallets,
            interval_s=1,
            on_trade=second.stream.offer,
            accept_since=plan.dataapi_floor,
        )
        assert not poller.catch_up_done
        rows.clear()
        await poller.poll_once()
        assert poller.catch_up_done
        await until(lambda: second.stream.pending == 0)
        # What the data-api listed to the new poller, parsed the same way: the ground truth.
        everything = [_parse(row) for row in rows]
        missed = {
            t.dedup_key
            for t in everything
            if plan.dataapi_floor <= t.match_time and t.dedup_key not in before
        }
        old = {
            t.dedup_key
            for t in everything
            if t.match_time < plan.dataapi_floor and t.dedup_key not in before
        }
        got = [t.dedup_key for t in second.out]
        assert len(got) == len(set(got))  # each once
        assert set(got) == missed and missed
        assert not set(got) & before  # what the first run handled is not copied again
        if window_s < 600:
            assert old, "the short window left nothing out; the test proved nothing"
        for run in (first, second):
            run.task.cancel()
    journal.close()


def record_trade_rows(rows: list[dict[str, Any]]) -> Any:
    """An HTTP response hook keeping every data-api trade row the poller was given, to hold
    its choices against."""

    async def hook(response: httpx.Response) -> None:
        if response.request.url.path.endswith("/trades") and response.status_code == 200:
            await response.aread()
            body = response.json()
            rows.extend(body if isinstance(body, list) else body.get("data", []))

    return hook


def _parse(row: dict[str, Any]) -> WhaleTrade:
    from polytui.feeds.dataapi import trade_from_dataapi

    return trade_from_dataapi(row, datetime.now(UTC))
