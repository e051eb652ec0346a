"""The daemon's log: JSON lines (secrets scrubbed) and the bus events worth a line.

``setup_logging`` sends one JSON object per record (``timestamp``, ``level``, ``component``,
``event``, ``message``, ``fields``) to ``[daemon] log_file`` or stderr; ``EventLog`` turns the
engine's bus into those records (intent transitions, fills, flags, feed states, resolutions).
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from polytui import display, redaction
from polytui import events as ev
from polytui.bus import Subscription
from polytui.model import FeedState, IntentStatus

log = logging.getLogger(__name__)

QUIET_LOGGERS = ("websockets", "httpx", "httpcore", "web3", "asyncio")


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


def _state_word(state: Any) -> str:
    if state.killed:
        return "killed"
    if state.halted:
        return "halted"
    return "paused" if state.paused else "running"
