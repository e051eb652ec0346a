"""Shared set-up for the live-broker tests: a simulator account and settings pointing at it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

from polytui import events as ev
from polytui.bus import Subscription
from polytui.config import apply_overrides
from polytui.model import IntentStatus, TradeIntent
from polytui.settings import Settings
from polytui.sim.server import SimServer

# A throwaway test key (anvil's first account); no real funds anywhere.
PRIVATE_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
ADDRESS = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"


def live_settings(sim: SimServer, data_dir: Path, policy: str = "manual") -> Settings:
    """Live mode against the simulator; fast settlement so a test takes seconds."""
    s = apply_overrides(Settings(), sim.settings_overrides())
    s.mode = "live"
    s.feeds.clob_user_ws_url = sim.urls["clob_user_ws_url"]
    s.storage.data_dir = data_dir
    s.approval.policy = policy
    s.strategy.prior_edge, s.strategy.confidence_z = Decimal("0.2"), Decimal(0)
    s.live.post_timeout_s = 2.0
    s.live.confirm_timeout_s = 15.0
    sim.exchange.mined_after_s = 0.6
    sim.exchange.confirmed_after_s = 1.2
    sim.exchange.retry_after_s = 0.6
    return s


def live_env(sim: SimServer) -> dict[str, str]:
    """The four secrets, as `polytui keys derive` would export them for the simulator."""
    creds = sim.exchange.api_key(ADDRESS)
    return {
        "POLYTUI_PRIVATE_KEY": PRIVATE_KEY,
        "POLYTUI_API_KEY": creds.key,
        "POLYTUI_API_SECRET": creds.secret,
        "POLYTUI_API_PASSPHRASE": creds.passphrase,
    }


async def wait_until(check: Callable[[], bool], timeout: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        if loop.time() > deadline:
            raise TimeoutError("condition not reached")
        await asyncio.sleep(0.05)


async def first_pending(sub: Subscription, timeout: float = 20) -> TradeIntent:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        for event in await sub.wait(0.5):
            if isinstance(event, ev.IntentUpdated) and event.intent.status is IntentStatus.PENDING:
                return event.intent
    raise TimeoutError("no pending intent from the simulator's whales")
