"""The console hosting the real engine with every whale source unreachable: the health pane
and the toasts follow the feeds' real state (a closed loopback port refuses each connection)."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

from polytui.config import LoadedConfig, apply_overrides
from polytui.settings import Settings
from polytui.tui.app import PolytuiApp
from polytui.wiring import build_engine
from tests.tui.screen_text import screen_text

WALLET = "0x" + "ab" * 20


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def unreachable_settings(data_dir: Path) -> Settings:
    base = f"127.0.0.1:{closed_port()}"
    settings = apply_overrides(
        Settings(),
        {
            "feeds": {
                "clob_ws_url": f"ws://{base}/ws/market",
                "rtds_ws_url": f"ws://{base}/rtds",
                "gamma_url": f"http://{base}/gamma",
                "data_api_url": f"http://{base}/data",
                "clob_rest_url": f"http://{base}/clob",
                "clob_user_ws_url": f"ws://{base}/ws/user",
                "chain_enabled": False,
                "backoff_initial_s": 0.1,
                "backoff_cap_s": 0.5,
                "dataapi_poll_s": 1.0,
            },
            "whales": {"wallets": [WALLET]},
        },
    )
    settings.storage.data_dir = data_dir
    return settings


async def test_the_whale_stream_reads_down_while_every_source_is_down(tmp_path: Path) -> None:
    # Was: "stream  live" (later "stale") while activity and dataapi were down.
    engine = build_engine(LoadedConfig(unreachable_settings(tmp_path), None))
    app = PolytuiApp(engine, run_engine=engine.run)
    try:
        async with app.run_test(size=(160, 48)) as pilot:
            try:
                table = app.pane("health").table
                keys = [column.key for column in table._columns]

                def state_of(feed: str) -> str:
                    if feed not in table.keys:
                        return ""
                    return dict(zip(keys, table.cells(feed), strict=True))["state"]

                deadline = asyncio.get_running_loop().time() + 20
                failing = ("down", "degraded")  # the data-api poller degrades, never "down"
                while state_of("activity") != "down" or state_of("dataapi") not in failing:
                    assert asyncio.get_running_loop().time() < deadline, screen_text(app)
                    await pilot.pause(0.2)
                await pilot.pause(1.5)  # the next health publication (once a second)
                app.pump_now()
                # As healthy as its healthiest source, and saying which they are.
                stream = next(f for f in app.state.feeds if f.name == "stream")
                sources = {f.name: f.state.value for f in app.state.feeds}
                assert state_of("stream") == sources["dataapi"], screen_text(app)
                assert f"activity down, dataapi {sources['dataapi']}" in stream.detail
                # Below 44 rows there is no log pane: a source going down is a toast too.
                toasts = [n.message for n in app._notifications]
                assert any(t.startswith("activity down") for t in toasts), toasts
            finally:
                await pilot.press("q")
                for _ in range(75):
                    if not app.is_running:
                        break
                    await asyncio.sleep(0.2)
    finally:
        engine.journal.close()


def test_the_stream_is_live_while_one_source_is_and_down_without_any() -> None:
    from polytui.engine import merged_stream_status
    from polytui.model import FeedState, FeedStatus

    def status(name: str, state: FeedState) -> FeedStatus:
        return FeedStatus(name, state, state is FeedState.LIVE, None, 0, 0, 0, 0)

    stream = status("stream", FeedState.LIVE)
    chain_live = [status("activity", FeedState.DOWN), status("chain", FeedState.LIVE)]
    assert merged_stream_status(stream, chain_live).state is FeedState.LIVE
    off = [status("activity", FeedState.DISABLED), status("clob", FeedState.LIVE)]
    merged = merged_stream_status(stream, off)
    assert merged.state is FeedState.DOWN and "no whale source runs" in merged.detail
