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
import json
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

from polytui import __version__, display, redaction
from polytui import events as ev
from polytui.bus import Subscription
from polytui.model import FeedState, IntentStatus

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CONFIG = 78  # sysexits.h EX_CONFIG
LOG_BACKLOG = 5_000
QUIET_LOGGERS = ("websockets", "httpx", "httpcore", "web3", "asyncio")
# What SIGHUP cannot change: these are read once, when feeds, broker, journal and socket start.
RESTART_SECTIONS = ("mode", "feeds", "storage", "paper", "live", "telegram", "metrics")
RESTART_KEYS = ("daemon.socket_path", "daemon.log_file", "daemon.stop_timeout_s")


# --- logging ------------------------------------------------------------------------------


class JsonFormatter(logging.Formatter):
    """One JSON object per record: timestamp, level, component, event, message, fields.

    ``component`` is the logger name without the ``polytui.`` prefix; ``event`` and ``fields``
    come from ``extra={"event": …, "fields": {…}}`` (``log`` when a record has none). The whole
    line passes through the redaction filter, so a secret in a field or a traceback never lands
    in a log file.
    """

    def format(self, record: logging.LogRecord) -> str:
        fields = dict(getattr(record, "fields", None) or {})
        if record.exc_info:
            fields["error"] = self.formatException(record.exc_info)
        name = record.name
        component = name.removeprefix("polytui.") if name != "polytui" else name
        document = {
            "timestamp": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "component": component,
            "event": getattr(record, "event", None) or "log",
            "message": record.getMessage(),
            "fields": fields,
        }
        return redaction.redact(json.dumps(document, default=str, ensure_ascii=False))


def setup_logging(settings: Any) -> logging.Handler:
    """JSON lines to ``[daemon] log_file`` (mode 0600, reopened after logrotate) or stderr."""
    redaction.install(settings)
    daemon = settings.daemon
    handler: logging.Handler
    if daemon.log_file is not None:
        path = Path(daemon.log_file).expanduser()
        path.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600))
        handler = logging.handlers.WatchedFileHandler(path, encoding="utf-8")
    else:
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    set_log_level(daemon.log_level)
    web3_manager = logging.getLogger("web3.manager.RequestManager")
    if not any(isinstance(f, _SubscriptionEnd) for f in web3_manager.filters):
        web3_manager.addFilter(_SubscriptionEnd())
    return handler


class _SubscriptionEnd(logging.Filter):
    """web3 logs the end of a subscription's message stream at error level, also when the chain
    feed closes it on a clean stop; the feed reports its own state (and a lost node as "down"),
    so the line is debug detail, not an error."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.getMessage().startswith("Stopping message stream"):
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            return logging.getLogger("web3").isEnabledFor(logging.DEBUG)
        return True


def set_log_level(level: str) -> None:
    """Apply ``[daemon] log_level``; chatty libraries stay at WARNING unless DEBUG is asked."""
    root = logging.getLogger()
    root.setLevel(level.upper())
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel("DEBUG" if level.upper() == "DEBUG" else "WARNING")


def _fail(message: str, code: int, event: str) -> int:
    """Say why the daemon cannot run: one plain line on stderr and a JSON log record."""
    print(f"polytui --daemon: {message}", file=sys.stderr)
    log.error(message, extra={"event": event, "fields": {"exit_code": code}})
    return code


# --- events worth a log line --------------------------------------------------------------


class EventLog:
    """Turns the engine's bus into structured log lines.

    Logged: every intent transition (pending, approved, rejected, expired — the TTL expiries of
    approvals nobody answered —, filled, failed), fills, engine flag changes, feed state
    changes and resolutions. Notices are logged by the engine itself.
    """

    def __init__(self, sub: Subscription, clients: Any = None) -> None:
        self.sub = sub
        self.clients = clients or (lambda: 0)
        self._intent_status: dict[str, str] = {}
        self._feed_state: dict[str, FeedState] = {}
        self._flags: tuple[bool, bool, bool] | None = None
        self.logger = logging.getLogger("polytui.engine.events")

    async def run(self) -> None:
        """Log events until cancelled."""
        while not self.sub.closed:
            for event in await self.sub.wait():
                try:
                    self.log(event)
                except Exception:  # a logging bug must not stop the daemon
                    log.exception("cannot log %s", type(event).__name__)

    def log(self, event: ev.Event) -> None:
        """One event → at most one log line."""
        if isinstance(event, ev.IntentUpdated):
            self._intent(event)
        elif isinstance(event, ev.FillReceived):
            fill = event.fill
            self._emit(
                logging.INFO,
                "fill",
                "filled " + display.trade(fill.side.value, fill.shares, "", fill.avg_price),
                id=fill.id,
                order_id=fill.order_id,
                intent_id=fill.intent_id,
                token_id=fill.token_id,
                side=fill.side.value,
                shares=fill.shares,
                avg_price=fill.avg_price,
                fee_usd=fill.fee_usd,
                whale_price=fill.whale_price,
                broker=fill.broker,
            )
        elif isinstance(event, ev.OrderUpdated):
            order = event.order
            self._emit(
                logging.DEBUG,
                "order",
                f"order {order.id} {order.status.value}",
                id=order.id,
                intent_id=order.intent_id,
                status=order.status.value,
                reason=order.reason,
            )
        elif isinstance(event, ev.EngineStateChanged):
            state = event.state
            flags = (state.paused, state.killed, state.halted)
            if flags != self._flags:
                self._flags = flags
                self._emit(
                    logging.WARNING if state.killed or state.halted else logging.INFO,
                    "engine_state",
                    f"engine {_state_word(state)}",
                    paused=state.paused,
                    killed=state.killed,
                    halted=state.halted,
                    halt_reason=state.halt_reason,
                )
        elif isinstance(event, ev.FeedStatusChanged):
            for feed in event.feeds:
                if self._feed_state.get(feed.name) is not feed.state:
                    self._feed_state[feed.name] = feed.state
                    bad = feed.state in (FeedState.DOWN, FeedState.DEGRADED)
                    self._emit(
                        logging.WARNING if bad else logging.INFO,
                        "feed_state",
                        f"feed {feed.name} {feed.state.value}",
                        feed=feed.name,
                        state=feed.state.value,
                        reconnects=feed.reconnects,
                        detail=feed.detail,
                    )
        elif isinstance(event, ev.MarketResolved):
            self._emit(
                logging.INFO,
                "market_resolved",
                "market resolved",
                condition_id=event.condition_id,
                winning_token_id=event.winning_token_id,
            )

    def _intent(self, event: ev.IntentUpdated) -> None:
        intent = event.intent
        status = intent.status.value
        if self._intent_status.get(intent.id) == status:
            return
        self._intent_status[intent.id] = status
        if len(self._intent_status) > 5_000:
            self._intent_status.pop(next(iter(self._intent_status)))
        fields: dict[str, Any] = {
            "id": intent.id,
            "status": status,
            "side": intent.side.value,
            "shares": intent.shares,
            "outcome": intent.outcome,
            "limit_price": intent.limit_price,
            "usd": intent.usd,
            "wallet": intent.wallet,
            "token_id": intent.token_id,
            "reason": intent.reason,
        }
        if intent.status is IntentStatus.PENDING:
            fields["expires_at"] = intent.expires_at.isoformat()
            message = f"intent {intent.id} waits for approval until {intent.expires_at:%H:%M:%S}"
        elif intent.status is IntentStatus.EXPIRED:
            fields["clients_attached"] = self.clients()
            message = f"intent {intent.id} expired unanswered (approval TTL passed)"
        else:
            message = f"intent {intent.id} {status}"
        self._emit(logging.INFO, f"intent_{status}", message, **fields)

    def _emit(self, level: int, event: str, message: str, **fields: Any) -> None:
        self.logger.log(level, message, extra={"event": event, "fields": fields})


# --- the daemon ---------------------------------------------------------------------------


class Daemon:
    """Runs one engine and its control server until a signal says stop."""

    def __init__(
        self, loaded: Any, engine: Any, socket_path: Path, services: Any = None
    ) -> None:
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
        _watch_wallets(self.engine, new)
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


def _state_word(state: Any) -> str:
    if state.killed:
        return "killed"
    if state.halted:
        return "halted"
    return "paused" if state.paused else "running"


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


_watch_tasks: set[asyncio.Task[None]] = set()


def _watch_wallets(engine: Any, settings: Any) -> None:
    """Point the running whale feeds at the reloaded wallet list (no reconnect).

    RTDS and the data-api filter on our side, so they follow at once; the chain feed swaps
    its node-side topic filter on the same connection.
    """
    wallets = {w.lower() for w in settings.whales.wallets}
    for name, feed in engine.feeds.items():
        if name == "chain" and hasattr(feed, "watch"):
            task = asyncio.get_running_loop().create_task(feed.watch(set(wallets)))
            _watch_tasks.add(task)
            task.add_done_callback(_watch_tasks.discard)
        elif name == "activity" and hasattr(feed, "wallets"):
            feed.wallets = set(wallets)
        elif name == "dataapi" and hasattr(feed, "wallets"):
            feed.wallets = sorted(wallets)


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
