"""Starts the remote services a config asks for beside a running engine, and stops them with it.

The daemon and the console that hosts its own engine both call ``remote_services`` before the
engine starts (so a missing token is refused at once, with the variable's name) and run the
engine through ``RemoteServices.run``. An attached console runs none: the daemon it is attached
to already does, and two pollers of one bot token would take each other's updates.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Awaitable, Callable
from typing import Any

from polytui.api import EngineAPI
from polytui.remote.errors import RemoteError
from polytui.settings import Settings

__all__ = ["RemoteError", "RemoteServices", "remote_services"]

log = logging.getLogger(__name__)


class RemoteServices:
    """The Telegram bot and the metrics endpoint of one engine (either may be absent)."""

    def __init__(self, engine: EngineAPI, settings: Settings, token: str | None) -> None:
        self.engine = engine
        self.settings = settings
        self.bot: Any = None
        self.metrics: Any = None
        if token is not None:
            from polytui.remote.telegram import TelegramBot

            self.bot = TelegramBot(engine, settings.telegram, token)
        if settings.metrics.listen:
            from polytui.remote.metrics import MetricsServer

            self.metrics = MetricsServer(engine, settings.metrics.listen, bot=self.bot)
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def empty(self) -> bool:
        """Nothing configured: ``run`` is the engine alone."""
        return self.bot is None and self.metrics is None

    async def start(self) -> bool:
        """Open the metrics port and start the bot; False (logged) when the port cannot be had.

        A service that cannot start never stops trading: the engine goes on without it.
        """
        ok = True
        if self.metrics is not None:
            try:
                await self.metrics.start()
            except RemoteError as exc:
                ok = False
                self.metrics = None
                log.error("%s; trading goes on without it", exc, extra={"event": "remote_failed"})
        if self.bot is not None:
            self._tasks.append(asyncio.create_task(self._run_bot(), name="remote:telegram"))
        return ok

    async def _run_bot(self) -> None:
        try:
            await self.bot.run()
        except asyncio.CancelledError:
            raise
        except Exception:  # the engine keeps trading without its bot
            log.exception("the telegram bot stopped", extra={"event": "telegram_failed"})

    async def stop(self) -> None:
        """Stop the bot and close the metrics port."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        if self.metrics is not None:
            with contextlib.suppress(Exception):
                await self.metrics.stop()

    def wrap(self, run_engine: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
        """``run_engine`` with the services started before it and stopped after it."""
        if self.empty:
            return run_engine

        async def run() -> None:
            await self.start()
            try:
                await run_engine()
            finally:
                await self.stop()

        return run


def remote_services(settings: Settings, engine: EngineAPI) -> RemoteServices:
    """The services ``settings`` turn on; refuses an enabled bot without its token."""
    token: str | None = None
    telegram = settings.telegram
    if telegram.enabled:
        token = os.environ.get(telegram.bot_token_env, "").strip()
        if not token:
            raise RemoteError(
                f"[telegram] is enabled but the environment variable {telegram.bot_token_env} "
                "(telegram.bot_token_env) holding the bot token is not set"
            )
        from polytui import redaction

        redaction.register_secrets([token, token.partition(":")[2]])
    return RemoteServices(engine, settings, token)
