"""One-shot commands against a running daemon, and how ``polytui status`` prints it."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from polytui import codec, display
from polytui import events as ev
from polytui.control.protocol import (
    EXIT_BUSY,
    EXIT_NO_DAEMON,
    EXIT_OK,
    EXIT_REFUSED,
    DaemonBusy,
    DaemonUnavailable,
    Link,
    socket_path_for,
)
from polytui.model import EngineState


def one_shot(loaded: Any, command: str, args: dict[str, str], as_json: bool) -> int:
    """``polytui status|pause|resume|approve ID|reject ID|kill``: one command, one answer.

    Exit codes: 0 done, 1 the daemon refused the command, 3 no daemon answers, 4 a daemon runs
    but is too busy to take the connection or to answer in time.
    """
    path = socket_path_for(getattr(loaded, "settings", None))
    try:
        return asyncio.run(_one_shot(path, command, args, as_json))
    except DaemonBusy as exc:
        print(f"polytui {command}: {exc}", file=sys.stderr)
        return EXIT_BUSY
    except DaemonUnavailable as exc:
        hint = "; start one with `polytui --daemon`" if "no daemon" in str(exc) else ""
        print(f"polytui {command}: {exc}{hint}", file=sys.stderr)
        return EXIT_NO_DAEMON
    except ConnectionError as exc:
        print(f"polytui {command}: lost the daemon before it answered ({exc})", file=sys.stderr)
        return EXIT_NO_DAEMON


async def _one_shot(path: Path, command: str, args: dict[str, str], as_json: bool) -> int:
    link = await Link.open(path)
    try:
        link.send({"id": 1, "cmd": command, "args": args})
        while True:
            message = await asyncio.wait_for(link.read(), 15.0)
            if message.get("type") in ("result", "error") and message.get("id") == 1:
                break
            if message.get("type") == "bye":
                raise ConnectionError(str(message.get("reason", "closed")))
    except TimeoutError:
        raise DaemonBusy("the daemon is busy: it did not answer within 15 s") from None
    finally:
        await link.close()
    ok = message.get("type") == "result" and bool(message.get("ok"))
    text = str(message.get("message", ""))
    if command == "status" and ok:
        snapshot = codec.decode_snapshot(link.snapshot_data)
        raw = message.get("data")
        data: dict[str, Any] = raw if isinstance(raw, dict) else {}
        if as_json:
            _print(
                orjson.dumps(
                    status_document(link.hello, snapshot, data), option=orjson.OPT_INDENT_2
                ).decode(),
                sys.stdout,
            )
        else:
            _print(status_text(link.hello, snapshot, data), sys.stdout)
        return EXIT_OK
    stream = sys.stdout if ok else sys.stderr
    _print(text if ok else f"polytui {command}: {text}", stream)
    return EXIT_OK if ok else EXIT_REFUSED


def _print(text: str, stream: Any) -> None:
    """Print and flush; a reader that went away (``polytui status | head -1``) ends the output
    quietly: it is not the daemon's doing, and nothing is left for the exit to flush."""
    try:
        print(text, file=stream)
        stream.flush()
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
        os.close(devnull)


def status_document(
    hello: dict[str, Any], snapshot: ev.Snapshot, data: dict[str, Any]
) -> dict[str, Any]:
    """What ``polytui status --json`` prints: the daemon, its state and its snapshot."""
    body = codec.to_plain(snapshot)
    signals = body.pop("signals", [])
    return {
        "daemon": {
            "pid": hello.get("pid"),
            "version": hello.get("version"),
            "protocol": hello.get("protocol"),
            "mode": hello.get("mode"),
            "started_at": hello.get("started_at"),
            "uptime_s": data.get("uptime_s"),
            "clients": data.get("clients"),
            "socket": data.get("socket"),
            "data_dir": hello.get("data_dir"),
            "journal": hello.get("journal"),
        },
        **body,
        # The running [strategy], [risk] and [approval] settings (a reload changes these).
        "settings": data.get("settings", {}),
        "signals_count": len(signals),
        "recent_signals": signals[-10:],
    }


def _state_word(state: EngineState) -> str:
    if state.killed:
        return "KILLED"
    if state.halted:
        return f"HALTED ({state.halt_reason})" if state.halt_reason else "HALTED"
    return "PAUSED" if state.paused else "RUNNING"


def status_text(hello: dict[str, Any], snapshot: ev.Snapshot, data: dict[str, Any]) -> str:
    """What ``polytui status`` prints: a few lines a trader reads at a glance."""
    pnl, money = snapshot.pnl, display.money
    lines = [
        f"polytui daemon pid {hello.get('pid')} — {snapshot.state.mode} mode, "
        f"{_state_word(snapshot.state)}, up {_duration(float(data.get('uptime_s') or 0))}, "
        f"{_clients(data.get('clients'))}",
        f"equity {money(pnl.equity_usd)}  cash {money(pnl.cash_usd)}  "
        f"realized {money(pnl.realized_usd)}  unrealized {money(pnl.unrealized_usd)}  "
        f"today {money(pnl.today_usd)}  fees {money(pnl.fees_usd)}",
        f"positions: {len(snapshot.positions)} open · pending approvals: {len(snapshot.intents)}"
        f" · signals: {len(snapshot.signals)}",
    ]
    now = datetime.now(UTC)
    for intent in snapshot.intents:
        left = max(0, int((intent.expires_at - now).total_seconds()))
        lines.append(
            f"  {intent.id}  "
            f"{display.trade(intent.side.value, intent.shares, intent.outcome, intent.limit_price)}"
            f"  {money(intent.usd)}  {left}s left  {intent.market_question[:50]}"
        )
    if snapshot.feeds:
        lines.append("feeds: " + ", ".join(f"{f.name} {f.state.value}" for f in snapshot.feeds))
    for limit in snapshot.risk.limits:
        if limit.unit == "count":  # a count has no cents
            lines.append(f"risk: {limit.name} {limit.used:,.0f} / {limit.limit:,.0f}")
        else:
            lines.append(f"risk: {limit.name} {money(limit.used)} / {money(limit.limit)}")
    lines.append(f"socket: {data.get('socket', '')}")
    return "\n".join(lines)


def _clients(count: Any) -> str:
    if not count:
        return "nothing else attached"
    return f"{count} other client{'s' if count != 1 else ''} attached"


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"
