"""The Whales screen over a real journal, a real config file and a loopback data-api."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from textual.app import App
from textual.widgets import DataTable, ProgressBar, Sparkline, Static

from polytui.config import load_settings
from polytui.journal import Journal
from polytui.model.history import PnlPoint
from polytui.tui.whales import LocalWhales, WhalesScreen
from polytui.whales.store import ProfileStore
from tests.feeds.history_server import serve_history
from tests.whales.helpers import wallet
from tests.whales.test_commands import write_config
from tests.whales.test_profile import _informed
from tests.whales.test_refresh import WHALE, make_world

NEW = "0x" + "cd" * 20


class Host(App[None]):
    def __init__(self, backend: Any) -> None:
        super().__init__()
        self.backend = backend

    def on_mount(self) -> None:
        self.push_screen(WhalesScreen(self.backend))


def seed_profile(tmp_path: Path) -> str:
    profile = _informed(wallet(3), fast=False, seed=5)
    journal = Journal.open(tmp_path / "data" / "paper.db", mode="paper")
    store = ProfileStore(journal)
    store.save_profile(profile)
    store.set_pnl(profile.wallet, [PnlPoint(1, 1), PnlPoint(2, 3)])
    journal.close()
    return profile.wallet


async def test_table_detail_add_policy_and_remove(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    profiled = seed_profile(tmp_path)
    backend = LocalWhales(load_settings(config))
    app = Host(backend)
    async with app.run_test(size=(140, 40)) as pilot:
        screen = app.screen
        assert isinstance(screen, WhalesScreen)
        table = screen.query_one(DataTable)
        assert table.row_count == 1 and screen.rows[0].wallet == profiled
        await pilot.press("enter")
        detail = app.screen.query_one("#whale-detail-text", Static)
        assert "copy edge by delay" in str(detail.render())
        await pilot.press("escape")
        await pilot.press("a")
        await pilot.press(*NEW, "enter", *"newbie", "enter")
        await pilot.press("y")
        settings = load_settings(config).settings
        assert NEW in settings.whales.wallets and settings.whales.aliases[NEW] == "newbie"
        assert [r.wallet for r in screen.rows][-1] == NEW
        table.move_cursor(row=len(screen.rows) - 1)
        await pilot.press("o", "y")
        assert load_settings(config).settings.approval.per_wallet[NEW] == "auto"
        await pilot.press("d", "y")
        assert NEW not in load_settings(config).settings.whales.wallets
        assert "# polytui configuration" in config.read_text()


async def test_refresh_fetches_with_a_progress_bar_and_updates_the_row(tmp_path: Path) -> None:
    async with serve_history(make_world()) as server:
        config = write_config(tmp_path, server.url)
        text = config.read_text().replace("wallets = []", f'wallets = ["{WHALE}"]')
        config.write_text(text)
        app = Host(LocalWhales(load_settings(config)))
        async with app.run_test(size=(140, 40)) as pilot:
            screen = app.screen
            assert isinstance(screen, WhalesScreen)
            assert screen.rows[0].profile is None
            server.hold = asyncio.Event()  # the fetch waits until the progress bar is checked
            await pilot.press("r")
            assert screen.refreshing
            assert not screen.query_one(ProgressBar).has_class("hidden")
            server.hold.set()
            for _ in range(1600):  # up to 80 s on a loaded machine
                await pilot.pause(0.05)
                if not screen.refreshing:
                    break
            assert not screen.refreshing
            await pilot.pause()
            row = screen.rows[0]
            assert row.profile is not None and row.profile.resolved == 40
            await pilot.press("enter")
            assert not app.screen.query(Sparkline)  # the loopback serves no P&L curve
