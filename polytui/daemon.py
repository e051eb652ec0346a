"""``polytui --daemon``: the engine without a UI, for a VPS under systemd or by hand.

The same engine the console hosts runs under ``asyncio.run``, with the control socket beside
it. The daemon owns the data directory through a pidfile lock, logs one JSON object per line
(``timestamp``, ``level``, ``component``, ``event``, ``message``, ``fields``; secrets scrubbed by
``polytui.redaction``), and answers signals the way systemd expects:

* SIGTERM / SIGINT: graceful stop within ``[daemon] stop_timeout_s`` — new entries stop, orders
  in flight finish, the journal is flushed and closed, clients get a goodbye. A second signal
  stops at once.
* SIGHUP: reload config.toml (risk limits, whales, approval policy, strategy, log level)
  without dropping a feed. The new file is validated whole, as at start-up, before any of it
  is applied: a bad file is logged and every running setting is kept.

Exit codes: 0 clean stop, 1 runtime failure (data dir in use, socket, journal, engine crash),
78 (EX_CONFIG) configuration the daemon cannot run with — systemd's ``RestartPreventExitStatus``
keeps it from restarting into the same mistake.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import logging.handlers
import os
import signal
import sqlite3
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from polytui import __version__, redaction
from polytui.daemon_log import EventLog, set_log_level, setup_logging

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CONFIG = 78  # sysexits.h EX_CONFIG
LOG_BACKLOG = 5_000
# What SIGHUP cannot change: these are read once, when feeds, broker, journal and socket start.
RESTART_SECTIONS = ("mode", "feeds", "storage", "paper", "live", "telegram", "metrics")
RESTART_KEYS = ("daemon.socket_path", "daemon.log_file", "daemon.stop_timeout_s")


def _fail(message: str, code: int, event: str) -> int:
    """Say why the daemon cannot run: one plain line on stderr and a JSON log record."""
    print(f"polytui --daemon: {message}", file=sys.stderr)
    log.error(message, extra={"event": event, "fields": {"exit_code": code}})
    return code


# --- the daemon ---------------------------------------------------------------------------


class Daemon:
    """Runs one engine and its control server until a signal says stop."""

    def __init__(self, loaded: Any, engine: Any, socket_path: Path, services: Any = None) -> None:
        self.loaded = loaded
        self.engine = engine
        self.services = services  # polytui.remote: the Telegram bot and /metrics, if configured
        self.socket_path = socket_path
        self.stop_timeout_s = float(loaded.settings.daemon.stop_timeout_s)
        self.server: Any = None
        self._stop: asyncio.Event | None = None
        self._engine_task: asyncio.Task[None] | None = None
        self._signal = ""
        self.reloads = 0

    async def run(self) -> int:
        """Start engine and socket, wait for a stop signal (or an engine crash), stop cleanly."""
        from polytui.control import ControlError, ControlServer

        loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.request_stop, sig.name)
        loop.add_signal_handler(signal.SIGHUP, self.reload)
        engine = self.engine
        engine_task = asyncio.create_task(engine.run(), name="engine")
        self._engine_task = engine_task
        # engine.run() restores the journal's state before its first await: yield once so the
        # first client's snapshot already holds the restored positions and queue.
        await asyncio.sleep(0)
        settings = self.loaded.settings
        info = {
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "data_dir": str(_data_dir(settings)),
            "journal": str(getattr(engine, "journal_path", "") or ""),
            "config": str(self.loaded.path or ""),
        }
        self.server = ControlServer(engine, self.socket_path, info=info)
        events = EventLog(engine.subscribe(LOG_BACKLOG), lambda: self.server.clients)
        log_task = asyncio.create_task(events.run(), name="daemon:events")
        code = EXIT_OK
        try:
            await self.server.start()
        except ControlError as exc:
            code = _fail(str(exc), EXIT_ERROR, "socket_failed")
            self._stop.set()
        else:
            log.info(
                "daemon started: pid %d, %s mode, socket %s",
                os.getpid(),
                engine.mode,
                self.socket_path,
                extra={
                    "event": "started",
                    "fields": {"pid": os.getpid(), "version": __version__, **info},
                },
            )
            if self.services is not None:
                await self.services.start()
        stop_wait = asyncio.create_task(self._stop.wait())
        await asyncio.wait({engine_task, stop_wait}, return_when=asyncio.FIRST_COMPLETED)
        stop_wait.cancel()
        if engine_task.done() and not self._stop.is_set():
            code = self._engine_ended(engine_task)
        else:
            code = max(code, await self._stop_engine(engine_task))
        if self.services is not None:
            await self.services.stop()
        await self.server.close("daemon stopping")
        log_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await log_task
        try:
            engine.journal.close()
        except Exception:
            log.exception("closing the journal failed")
            code = EXIT_ERROR
        return code

    def request_stop(self, signame: str = "SIGTERM") -> None:
        """Signal handler: first signal stops gracefully, a second one at once."""
        assert self._stop is not None
        if self._stop.is_set():
            log.warning("%s again: stopping now", signame, extra={"event": "stop_forced"})
            if self._engine_task is not None:
                self._engine_task.cancel()
            return
        self._signal = signame
        log.info(
            "%s: stopping (new entries stop, orders in flight finish)",
            signame,
            extra={"event": "stopping", "fields": {"signal": signame}},
        )
        if self.server is not None:
            self.server.stopping = True
        self._stop.set()

    async def _stop_engine(self, engine_task: asyncio.Task[None]) -> int:
        started = time.monotonic()
        await self.engine.stop()
        code = EXIT_OK
        try:
            await asyncio.wait_for(asyncio.shield(engine_task), self.stop_timeout_s)
        except TimeoutError:
            log.error(
                "the engine did not stop within %.0f s; cancelling it",
                self.stop_timeout_s,
                extra={"event": "stop_timeout"},
            )
            engine_task.cancel()
            await asyncio.gather(engine_task, return_exceptions=True)
            code = EXIT_ERROR
        except asyncio.CancelledError:
            code = EXIT_ERROR  # a second signal cancelled it
        except Exception:
            log.exception("the engine failed while stopping")
            code = EXIT_ERROR
        elapsed = time.monotonic() - started
        log.info(
            "stopped in %.2f s",
            elapsed,
            extra={"event": "stopped", "fields": {"stop_s": round(elapsed, 3), "exit_code": code}},
        )
        return code

    def _engine_ended(self, engine_task: asyncio.Task[None]) -> int:
        error = None if engine_task.cancelled() else engine_task.exception()
        if error is not None:
            log.error(
                "the engine stopped: %s",
                error,
                exc_info=error,
                extra={"event": "engine_failed"},
            )
        else:
            log.error("the engine stopped by itself", extra={"event": "engine_failed"})
        return EXIT_ERROR

    # --- SIGHUP -------------------------------------------------------------------------------

    def reload(self) -> None:
        """SIGHUP handler: reload, and never let a failure escape into the event loop."""
        try:
            self._reload()
        except Exception:
            log.exception(
                "config reload failed, keeping the running settings",
                extra={"event": "reload_failed"},
            )

    def _reload(self) -> None:
        """Reload config.toml: risk limits, whales, approval policy, strategy, log level.

        Feeds keep their connections. A file that does not load is logged and ignored, so a
        typo never stops a running daemon. Sections that only take effect at start (feeds,
        storage, paper, live, mode, socket, log file) keep their running values; a change there
        is logged as needing a restart.
        """
        from polytui.config import ConfigError, load_settings, settings_to_dict

        path = self.loaded.path
        if path is None:
            log.warning(
                "SIGHUP: running on defaults, there is no config file to reload",
                extra={"event": "reload_skipped"},
            )
            return
        try:
            new = load_settings(path).settings
        except ConfigError as exc:
            log.error(
                "config reload failed, keeping the running settings: %s",
                exc,
                extra={"event": "reload_failed", "fields": {"config": str(path)}},
            )
            return
        old = self.engine.settings
        before = _flatten(settings_to_dict(old))
        wanted = _flatten(settings_to_dict(new))
        restart_only = sorted(
            key
            for key in set(before) | set(wanted)
            if (key.split(".")[0] in RESTART_SECTIONS or key in RESTART_KEYS)
            and before.get(key) != wanted.get(key)
        )
        for section in RESTART_SECTIONS:
            if section != "mode":
                setattr(new, section, getattr(old, section))
        new.mode = old.mode
        for key in RESTART_KEYS:
            section, name = key.split(".")
            setattr(getattr(new, section), name, getattr(getattr(old, section), name))
        after = _flatten(settings_to_dict(new))
        changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
        # The engine checks the new settings whole before it swaps any of them in; only then
        # do the secrets filter, the whale feeds and the log level follow.
        self.engine.reload(new)
        redaction.install(new)
        self.engine.watch_wallets(new.whales.wallets)
        set_log_level(new.daemon.log_level)
        self.reloads += 1
        log.info(
            "config reloaded from %s: %s",
            path,
            ", ".join(changed) or "no changes",
            extra={
                "event": "reloaded",
                "fields": {"config": str(path), "changed": changed, "needs_restart": restart_only},
            },
        )
        if restart_only:
            log.warning(
                "these settings only take effect after a restart: %s",
                ", ".join(restart_only),
                extra={"event": "reload_needs_restart", "fields": {"keys": restart_only}},
            )


def _flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, dict) and value and all(isinstance(k, str) for k in value):
            if key in ("aliases", "per_wallet"):
                flat[f"{prefix}{key}"] = value
            else:
                flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _data_dir(settings: Any) -> Path:
    from polytui.config import data_dir

    return data_dir(settings)


def run_daemon(loaded: Any, live: bool, yes_live: bool) -> int:
    """Entry point of ``polytui --daemon``; returns the process exit code."""
    from polytui.control import socket_path_for
    from polytui.datadir import DataDirError
    from polytui.journal import JournalError
    from polytui.pidlock import DataDirLock, LockHeld
    from polytui.wiring import EngineBuildError, build_engine

    settings = loaded.settings
    # Until the loop's handler is installed a SIGHUP (an early `systemctl reload`) would kill
    # the process with the default action; there is nothing to reload yet, so ignore it.
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    # A file-size limit (ulimit -f) must fail the write like a full disk, not kill the daemon
    # before it can halt entries and save the kill switch.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    try:
        setup_logging(settings)
    except OSError as exc:
        print(
            f"polytui --daemon: cannot open the log file {settings.daemon.log_file}: "
            f"{exc.strerror}",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    for note in getattr(loaded, "notes", ()):
        log.info(note, extra={"event": "config_note"})
    if live and not yes_live:
        # The command line asks for --yes-live too; this keeps the rule true for any caller.
        return _fail(
            "live trading in the daemon needs --yes-live (there is no prompt to confirm it)",
            EXIT_CONFIG,
            "live_unconfirmed",
        )
    directory = _data_dir(settings)
    lock = DataDirLock(directory, "daemon")
    try:
        lock.acquire()
    except LockHeld as exc:
        return _fail(f"{exc}; {exc.advice()}", EXIT_ERROR, "data_dir_locked")
    except DataDirError as exc:
        return _fail(str(exc), EXIT_ERROR, "data_dir")
    except OSError as exc:
        return _fail(f"cannot use the data dir {directory}: {exc.strerror}", EXIT_ERROR, "data_dir")
    try:
        try:
            engine = build_engine(loaded, live=live)
        except EngineBuildError as exc:
            return _fail(f"cannot start the engine: {exc}", EXIT_CONFIG, "engine_refused")
        except (JournalError, DataDirError) as exc:
            return _fail(f"cannot open the journal: {exc}", EXIT_ERROR, "journal_failed")
        except sqlite3.DatabaseError as exc:
            return _fail(
                f"cannot open the journal in {directory}: {exc}", EXIT_ERROR, "journal_failed"
            )
        except OSError as exc:
            return _fail(f"cannot start the engine: {exc}", EXIT_ERROR, "engine_failed")
        from polytui.remote.services import RemoteError, remote_services

        try:
            services = remote_services(settings, engine)
        except RemoteError as exc:
            return _fail(str(exc), EXIT_CONFIG, "remote_refused")
        daemon = Daemon(loaded, engine, socket_path_for(settings), services)
        return asyncio.run(daemon.run())
    finally:
        lock.release()
