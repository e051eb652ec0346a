"""The daemon's JSON log lines, the events it turns into them, its lock and its refusals."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from polytui import events as ev
from polytui import redaction
from polytui.bus import EventBus
from polytui.clock import FakeClock
from polytui.daemon_log import EventLog, JsonFormatter
from polytui.model import FeedState, IntentStatus
from polytui.pidlock import DataDirLock, LockHeld, owner_pid
from polytui.tui.fixtures import SCENARIO_START, build_scenario
from tests.daemon.harness import CLI


def record(message: str, **extra: object) -> logging.LogRecord:
    logger = logging.getLogger("polytui.feeds.clob")
    return logger.makeRecord(
        logger.name, logging.WARNING, __file__, 1, message, (), None, extra=extra
    )


def test_json_line_has_timestamp_level_component_event_message_fields() -> None:
    line = JsonFormatter().format(record("feed down", event="feed_state", fields={"feed": "clob"}))
    doc = json.loads(line)
    assert doc["timestamp"].endswith("Z") and "T" in doc["timestamp"]
    assert doc["level"] == "warning"
    assert doc["component"] == "feeds.clob"
    assert doc["event"] == "feed_state"
    assert doc["message"] == "feed down"
    assert doc["fields"] == {"feed": "clob"}
    assert json.loads(JsonFormatter().format(record("plain")))["event"] == "log"


def test_secrets_are_scrubbed_from_fields_and_tracebacks() -> None:
    secret = "wss://rpc.example/v2/abcdef0123456789secret"
    redaction.register_secrets([secret])
    try:
        raise ConnectionError(f"cannot reach {secret}")
    except ConnectionError:
        rec = record("boom", fields={"url": secret})
        rec.exc_info = sys.exc_info()
    line = JsonFormatter().format(rec)
    assert "abcdef0123456789secret" not in line
    assert "[redacted]" in line
    assert "0x" + "ab" * 32 not in JsonFormatter().format(record("key 0x" + "ab" * 32))


def test_event_log_records_each_intent_transition_once_and_expiries_with_clients(
    caplog: pytest.LogCaptureFixture,
) -> None:
    engine = build_scenario(FakeClock(SCENARIO_START))
    intent = engine.snapshot().intents[0]
    events = EventLog(EventBus().subscribe(), clients=lambda: 0)
    caplog.set_level(logging.DEBUG, logger="polytui.engine.events")
    expired = replace(intent, status=IntentStatus.EXPIRED)
    for event in (ev.IntentUpdated(intent), ev.IntentUpdated(intent), ev.IntentUpdated(expired)):
        events.log(event)
    logged = [(r.event, r.fields["id"]) for r in caplog.records]  # type: ignore[attr-defined]
    assert logged == [("intent_pending", intent.id), ("intent_expired", intent.id)]
    assert caplog.records[-1].fields["clients_attached"] == 0  # type: ignore[attr-defined]
    assert "expired unanswered" in caplog.records[-1].getMessage()


def test_event_log_reports_feed_state_changes_only(caplog: pytest.LogCaptureFixture) -> None:
    feeds = build_scenario(FakeClock(SCENARIO_START)).snapshot().feeds
    events = EventLog(EventBus().subscribe())
    caplog.set_level(logging.INFO, logger="polytui.engine.events")
    events.log(ev.FeedStatusChanged(feeds))
    first = len(caplog.records)
    events.log(ev.FeedStatusChanged(feeds))
    assert len(caplog.records) == first == len(feeds)
    down = (replace(feeds[0], state=FeedState.DOWN), *feeds[1:])
    events.log(ev.FeedStatusChanged(down))
    assert caplog.records[-1].levelno == logging.WARNING
    assert caplog.records[-1].fields["state"] == "down"  # type: ignore[attr-defined]


def test_the_lock_names_its_owner_and_a_dead_owner_never_blocks(tmp_path: Path) -> None:
    code = (
        "import sys, time; from pathlib import Path; from polytui.pidlock import DataDirLock; "
        "DataDirLock(Path(sys.argv[1])).acquire(); print('locked', flush=True); time.sleep(60)"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        assert owner_pid(tmp_path) == holder.pid
        with pytest.raises(LockHeld, match=f"pid {holder.pid}"):
            DataDirLock(tmp_path).acquire()
    finally:
        holder.kill()  # like SIGKILL: no cleanup, the pidfile stays
        holder.wait()
    assert (tmp_path / "daemon.pid").exists()
    assert owner_pid(tmp_path) is None
    lock = DataDirLock(tmp_path)
    lock.acquire()
    assert (tmp_path / "daemon.pid").read_text().split() == [str(os.getpid()), "daemon"]
    assert owner_pid(tmp_path) is None  # our own lock does not block our own engine
    lock.release()
    assert not (tmp_path / "daemon.pid").exists()


def test_a_live_daemon_the_engine_refuses_exits_78_with_one_line(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'mode = "live"\n[storage]\ndata_dir = "{tmp_path / "data"}"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POLYTUI_API", "POLYTUI_PRIV"))}
    env["XDG_RUNTIME_DIR"] = str(tmp_path)
    out = subprocess.run(
        [*CLI, "--daemon", "--live", "--yes-live", "--config", str(config)],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 78
    assert "polytui --daemon: cannot start the engine:" in out.stderr
    assert "Traceback" not in out.stderr
    assert not (tmp_path / "data" / "daemon.pid").exists()
