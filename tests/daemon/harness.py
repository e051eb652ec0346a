"""Real daemon subprocesses against the loopback simulator, with their own data and runtime dirs."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from polytui.config import apply_overrides, write_config
from polytui.control.protocol import socket_answers
from polytui.settings import Settings

# The console script without relying on it being installed: `python -c` runs the same main().
CLI = [sys.executable, "-c", "from polytui.cli import main; main()"]


class DaemonProcess:
    """One ``polytui --daemon`` child: its config, data dir, runtime dir, log and socket."""

    def __init__(self, sim: Any, work: Path, *, policy: str = "manual", ttl_s: float = 15.0):
        self.sim = sim
        self.work = work
        self.data_dir = work / "data"
        self.config = work / "config.toml"
        self.log_file = work / "daemon.jsonl"
        # Socket paths must stay under 108 bytes: a short runtime dir of our own.
        self.runtime = Path(tempfile.mkdtemp(prefix="pdr", dir="/tmp"))
        self.socket = self.runtime / "polytui" / "polytui.sock"
        self.env = {
            **os.environ,
            **sim.environment(),
            "XDG_RUNTIME_DIR": str(self.runtime),
        }
        self.policy = policy
        self.ttl_s = ttl_s
        self.proc: subprocess.Popen[bytes] | None = None
        self.write_config()

    def settings(self, **risk: Decimal) -> Settings:
        s = apply_overrides(Settings(), self.sim.settings_overrides())
        s.storage.data_dir = self.data_dir
        s.approval.policy = self.policy
        s.approval.ttl_s = self.ttl_s
        s.strategy.prior_edge, s.strategy.confidence_z = Decimal("0.2"), Decimal(0)
        s.strategy.max_bet_usd = Decimal(25)
        s.paper.starting_balance_usd = Decimal(1000)
        s.paper.latency_ms = 50
        # Sim time runs 10× faster than the wall: give the book room to move before the fill.
        s.paper.slippage_cap = Decimal("0.10")
        s.risk.max_total_exposure_usd = Decimal(400)
        s.risk.max_market_exposure_usd = Decimal(100)
        s.risk.max_open_positions = 50
        for key, value in risk.items():
            setattr(s.risk, key, value)
        s.daemon.log_file = self.log_file
        s.daemon.stop_timeout_s = 10.0
        return s

    def write_config(self, **risk: Decimal) -> None:
        write_config(self.settings(**risk), self.config, force=True)

    # --- process ------------------------------------------------------------------------------

    def spawn(self) -> subprocess.Popen[bytes]:
        """Start a daemon on this config (without waiting for it)."""
        return subprocess.Popen(
            [*CLI, "--daemon", "--config", str(self.config)],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )

    def start(self, timeout: float = 15.0) -> DaemonProcess:
        """Start the daemon and wait until its socket answers."""
        self.proc = self.spawn()
        deadline = time.monotonic() + timeout
        while not (self.socket.exists() and socket_answers(self.socket)):
            if self.proc.poll() is not None:
                _, err = self.proc.communicate()
                raise RuntimeError(f"daemon exited {self.proc.returncode}: {err.decode()}")
            if time.monotonic() > deadline:
                raise TimeoutError("the daemon's socket never answered")
            time.sleep(0.05)
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def send(self, sig: signal.Signals) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    async def wait_exit(self, timeout: float = 20.0) -> int:
        """Wait (without blocking the test's loop) for the daemon to exit; its exit code."""
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None:
            if time.monotonic() > deadline:
                raise TimeoutError("the daemon did not exit")
            await asyncio.sleep(0.02)
        return self.proc.returncode

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it lingers; remove the runtime dir."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc is not None:
            for stream in (self.proc.stdout, self.proc.stderr):
                if stream is not None:
                    stream.close()
        shutil.rmtree(self.runtime, ignore_errors=True)

    # --- one-shot commands and logs -------------------------------------------------------

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run ``polytui ARGS --config …`` against this daemon."""
        return subprocess.run(
            [*CLI, *args, "--config", str(self.config)],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=30,
        )

    def log_events(self) -> list[dict[str, Any]]:
        """Every JSON log record written so far."""
        if not self.log_file.exists():
            return []
        return [json.loads(line) for line in self.log_file.read_text().splitlines() if line]

    async def wait_log(self, predicate: Callable[[dict[str, Any]], bool], timeout: float) -> dict:
        """The first log record matching ``predicate``, waiting for it to be written."""
        deadline = time.monotonic() + timeout
        while True:
            for record in self.log_events():
                if predicate(record):
                    return record
            if time.monotonic() > deadline:
                raise TimeoutError("no such log record")
            await asyncio.sleep(0.1)

    # --- the journal, read-only -----------------------------------------------------------

    def journal_rows(self, kind: str) -> list[tuple[str, dict[str, Any]]]:
        """(ref, payload) of every committed journal event of ``kind``."""
        uri = f"file:{self.data_dir / 'paper.db'}?mode=ro"
        conn = sqlite3.connect(uri, uri=True)
        try:
            rows = conn.execute(
                "SELECT ref, payload FROM events WHERE kind = ? ORDER BY id", (kind,)
            ).fetchall()
        finally:
            conn.close()
        return [(ref, json.loads(payload)) for ref, payload in rows]
