"""Capture files: record raw feed frames, and replay them through the real engine.

Format (JSON Lines): the first line is ``{"polytui_capture": 1, "created": "<ISO>"}``; every
further line is one received item ``{"t": <receive unix ms>, "src": "clob"|"rtds"|"chain"|
"mempool"|"http", "data": "<raw text>"}``, and for ``http`` also ``"method"``, ``"url"`` and
``"status"``. Chain items hold the log as JSON with its ``blockTimestamp``, mempool items a
``matchOrders`` transaction the source read (``{"tx": …}``) or its retraction (``{"retract":
hash, "reason": …}``), so a replay needs no node.

A replay feeds each frame to the same parser the live feed uses, answers HTTP requests from the
captured responses (unknown URL → 404), runs the engine in paper mode with the ``auto`` policy
and ends with a report.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx

from polytui.settings import Settings

if TYPE_CHECKING:
    from polytui.bus import Subscription
    from polytui.engine import Engine
    from polytui.wiring import DrivenFeeds

SOURCES = ("clob", "rtds", "chain", "mempool", "http")
VERSION = 1


class CaptureError(ValueError):
    """A capture file that cannot be read; the message names the line."""


@dataclass(frozen=True, slots=True)
class CaptureItem:
    """One recorded frame or HTTP response."""

    t: int
    src: str
    data: str
    method: str = ""
    url: str = ""
    status: int = 0


class CaptureWriter:
    """Appends items to a capture file; flushes every second so a crash loses little."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._handle: TextIO = self.path.open("w", encoding="utf-8")
        header = {"polytui_capture": VERSION, "created": datetime.now(UTC).isoformat()}
        self._handle.write(json.dumps(header) + "\n")
        self._last_flush = time.monotonic()
        self.items = 0

    def tap(self, src: str, data: str, **http: Any) -> None:
        """Record one item (the feeds' and the HTTP transport's tap)."""
        line: dict[str, Any] = {"t": int(time.time() * 1000), "src": src, "data": data}
        line.update(http)
        self._handle.write(json.dumps(line, separators=(",", ":")) + "\n")
        self.items += 1
        if time.monotonic() - self._last_flush > 1.0:
            self._handle.flush()
            self._last_flush = time.monotonic()

    def close(self) -> None:
        """Flush and close."""
        self._handle.flush()
        self._handle.close()


def read_capture(path: Path) -> Iterator[CaptureItem]:
    """Items of a capture file, validated line by line."""
    with Path(path).open(encoding="utf-8") as handle:
        first = handle.readline()
        try:
            header = json.loads(first)
        except ValueError:
            raise CaptureError(f"{path}: line 1: not a polytui capture (no JSON header)") from None
        if not isinstance(header, dict) or header.get("polytui_capture") != VERSION:
            raise CaptureError(f"{path}: line 1: not a polytui capture version {VERSION}")
        for number, line in enumerate(handle, start=2):
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
                item = CaptureItem(
                    t=int(raw["t"]),
                    src=str(raw["src"]),
                    data=str(raw["data"]),
                    method=str(raw.get("method", "")),
                    url=str(raw.get("url", "")),
                    status=int(raw.get("status", 0)),
                )
            except (ValueError, KeyError, TypeError) as exc:
                raise CaptureError(f"{path}: line {number}: bad item ({exc})") from None
            if item.src not in SOURCES:
                raise CaptureError(f"{path}: line {number}: unknown src {item.src!r}")
            yield item


def _canonical(url: str) -> str:
    """Endpoint name and sorted query, without host, prefix or the cache-busting ``_``.

    A capture is replayed against whatever base URLs the replay uses, so only what identifies
    the request (``markets?clob_token_ids=…``) is compared.
    """
    parts = urlsplit(url)
    query = sorted((k, v) for k, v in parse_qsl(parts.query) if k != "_")
    endpoint = parts.path.rstrip("/").rsplit("/", 1)[-1]
    if endpoint == "markets":
        # Gamma's default is ``closed=false``: a capture recorded before the console sent the
        # parameter answers the same question as a request that sends it.
        query = [(k, v) for k, v in query if (k, v) != ("closed", "false")]
    return f"{endpoint}?{urlencode(query)}"


class RecordingTransport(httpx.AsyncBaseTransport):
    """A real HTTP transport that also taps every response into the capture."""

    def __init__(self, tap: Callable[..., None]) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self._tap = tap

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        body = await response.aread()
        self._tap(
            "http",
            body.decode("utf-8", "replace"),
            method=request.method,
            url=str(request.url),
            status=response.status_code,
        )
        return httpx.Response(response.status_code, headers=response.headers, content=body)

    async def aclose(self) -> None:
        await self._inner.aclose()


class CapturedTransport(httpx.AsyncBaseTransport):
    """Answers HTTP from captured responses, in order per URL (the last one repeats)."""

    def __init__(self, items: list[CaptureItem]) -> None:
        self._responses: dict[tuple[str, str], list[CaptureItem]] = defaultdict(list)
        self._served: dict[tuple[str, str], int] = defaultdict(int)
        for item in items:
            if item.src == "http":
                self._responses[(item.method, _canonical(item.url))].append(item)
        self.misses = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        key = (request.method, _canonical(str(request.url)))
        answers = self._responses.get(key)
        if not answers:
            self.misses += 1
            return httpx.Response(404, json={"error": "not in the capture"})
        index = min(self._served[key], len(answers) - 1)
        self._served[key] += 1
        item = answers[index]
        return httpx.Response(item.status or 200, content=item.data.encode("utf-8"))


async def iter_replay(
    items: list[CaptureItem], speed: float, max_speed: bool
) -> AsyncIterator[CaptureItem]:
    """Yield frames (not HTTP) at their recorded pace ÷ speed, or at once with ``max_speed``."""
    frames = [i for i in items if i.src != "http"]
    if not frames:
        return
    start_t = frames[0].t
    start = time.monotonic()
    for item in frames:
        if not max_speed:
            due = (item.t - start_t) / 1000 / max(speed, 1e-6)
            wait = due - (time.monotonic() - start)
            if wait > 0:
                await asyncio.sleep(wait)
        yield item


# --- record -----------------------------------------------------------------------------------


def recording_engine(loaded: Any, writer: CaptureWriter, role: str = "recording") -> Engine:
    """An engine whose every frame and HTTP response goes into ``writer``."""
    from polytui.wiring import build_engine

    return build_engine(loaded, tap=writer.tap, transport=RecordingTransport(writer.tap), role=role)


def record(loaded: Any, out: Path, duration: float | None) -> int:
    """``polytui record``: run the feeds (engine in observe mode) and capture every item."""
    settings = loaded.settings
    settings.approval.policy = "observe"  # recording never trades
    writer = CaptureWriter(out)

    async def main() -> None:
        with tempfile.TemporaryDirectory(prefix="polytui-record-") as data:
            settings.storage.data_dir = Path(data)
            engine = recording_engine(loaded, writer)
            task = asyncio.create_task(engine.run())
            try:
                if duration is None:
                    await task
                else:
                    await asyncio.sleep(duration)
            finally:
                await engine.stop()
                await asyncio.gather(task, return_exceptions=True)
                engine.journal.close()

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
    finally:
        writer.close()
    print(f"recorded {writer.items} items to {out}", file=sys.stderr)
    return 0


# --- replay -----------------------------------------------------------------------------------


@dataclass(slots=True)
class ReplayResult:
    """What a replay saw and did."""

    frames: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    books: dict[str, dict[str, Any]] = field(default_factory=dict)
    whale_trades: list[dict[str, str]] = field(default_factory=list)
    signals: int = 0
    intents: int = 0
    fills: list[dict[str, str]] = field(default_factory=list)
    pnl: dict[str, str] = field(default_factory=dict)


def _subscribed_tokens(items: list[CaptureItem]) -> set[str]:
    """Every token a captured CLOB frame refers to (the live feed had subscribed them)."""
    tokens: set[str] = set()
    for item in items:
        if item.src != "clob":
            continue
        try:
            data = json.loads(item.data)
        except ValueError:
            continue
        for event in data if isinstance(data, list) else [data]:
            if isinstance(event, dict):
                if isinstance(event.get("asset_id"), str):
                    tokens.add(event["asset_id"])
                for change in event.get("price_changes") or []:
                    if isinstance(change, dict) and isinstance(change.get("asset_id"), str):
                        tokens.add(change["asset_id"])
    return tokens


async def run_replay(
    items: list[CaptureItem],
    *,
    speed: float,
    max_speed: bool,
    data_dir: Path,
    loaded: Any = None,
) -> ReplayResult:
    """Feed a capture through the real parsers and engine; return what happened.

    With ``loaded`` (``--config``) the config's whales, aliases, strategy, risk and approval
    policy decide (``auto`` when the file sets no policy); without it every wallet trading at
    least ``whales.min_trade_usd`` is considered, under ``auto``.
    """
    from polytui.config import LoadedConfig
    from polytui.engine import Engine
    from polytui.wiring import build_parts

    settings, path = _replay_settings(loaded, data_dir, max_speed)
    # The replay drives the parsers itself: no network feeds run.
    parts, driven = build_parts(
        LoadedConfig(settings, path),
        transport=CapturedTransport(items),
        role="replay",
        driven=True,
    )
    engine = Engine(parts)
    chain = _replay_chain(settings, driven.stream)
    mempool = _replay_mempool(settings, driven.stream)
    driven.clob.tokens.update(_subscribed_tokens(items))
    sub = engine.subscribe(1_000_000)
    result = ReplayResult()
    task = asyncio.create_task(engine.run())
    result.frames = await _feed_frames(items, speed, max_speed, driven, (chain, mempool))
    # Let queued trades, approvals and fills finish.
    for _ in range(200):
        await asyncio.sleep(0.05)
        if engine.idle():
            break
    await engine.stop()
    await asyncio.gather(task, return_exceptions=True)
    activity = driven.activity
    result.rejected = {
        "clob": driven.clob.status().rejected,
        "rtds": activity.status().rejected if activity is not None else 0,
        "chain": chain.rejected,
        "mempool": mempool.status().rejected,
    }
    _report(engine, sub, result)
    engine.journal.close()
    return result


def _replay_settings(loaded: Any, data_dir: Path, max_speed: bool) -> tuple[Settings, Path | None]:
    """The replay's settings (see :func:`run_replay`) and the config file they came from."""
    import copy

    from polytui.config import MAX_DURATION_S

    from_config = loaded is not None and loaded.path is not None
    settings = copy.deepcopy(loaded.settings) if from_config else Settings()
    settings.storage.data_dir = data_dir
    if not (from_config and policy_in_file(loaded.path)):
        settings.approval.policy = "auto"
    settings.paper.latency_ms = 0 if max_speed else settings.paper.latency_ms
    settings.feeds.dataapi_poll_enabled = False
    # A capture's trades are as old as the capture: the age bound of live trading is lifted
    # to its maximum (30 days), so the replay sizes them as the live run did.
    settings.strategy.max_trade_age_s = MAX_DURATION_S
    os.environ.pop(settings.feeds.polygon_ws_env, None)
    # Without a config every wallet seen is considered: discovery above the minimum. With one,
    # its watched wallets are, and others only when its [whales] discovery is on.
    if not from_config:
        settings.whales.discovery = True
    return settings, loaded.path if from_config else None


def _replay_chain(settings: Settings, stream: Any) -> Any:
    """A chain feed that never connects: the replay hands it the captured logs."""
    from polytui.feeds.chain import ChainFeed

    discovery = settings.whales.min_trade_usd if settings.whales.discovery else None
    return ChainFeed(
        "ws://replay",
        addresses=settings.feeds.exchange_addresses,
        wallets=set(settings.whales.wallets),
        on_trade=stream.offer,
        on_retract=stream.retract,
        discovery_min_usd=discovery,
    )


def _replay_mempool(settings: Settings, stream: Any) -> Any:
    """The mempool source's parser for a replay: recorded items in, no node."""
    from polytui.feeds.mempool import MempoolFeed

    return MempoolFeed(
        "ws://replay",
        addresses=settings.feeds.exchange_addresses,
        wallets=set(settings.whales.wallets),
        on_trade=stream.offer,
        on_retract=stream.withdraw,
        discovery_min_usd=settings.whales.min_trade_usd if settings.whales.discovery else None,
    )


async def _feed_frames(
    items: list[CaptureItem],
    speed: float,
    max_speed: bool,
    driven: DrivenFeeds,
    node: tuple[Any, Any],
) -> int:
    """Hand each captured frame to its parser at its pace (``node``: the chain feed and the
    mempool source, which never connect); returns how many frames."""
    from polytui.feeds.connection import KEEPALIVE_REPLIES

    chain, mempool = node
    frames = 0
    async for item in iter_replay(items, speed, max_speed):
        frames += 1
        if item.data.strip() in KEEPALIVE_REPLIES:
            continue  # the live connection loop drops these before any parser sees them
        if item.src == "clob":
            driven.clob.handle_frame(item.data)
        elif item.src == "rtds" and driven.activity is not None:
            driven.activity.handle_frame(item.data)
        elif item.src == "mempool":
            mempool.replay_item(item.data)
        elif item.src == "chain":
            try:
                await chain.handle_log(json.loads(item.data))
            except ValueError:
                chain.rejected += 1
        await asyncio.sleep(0)
    return frames


def _report(engine: Engine, sub: Subscription, result: ReplayResult) -> None:
    """Books, whale trades, signals, intents, fills and P&L after the replay."""
    from polytui import events as ev

    for token in sorted(engine.books.tokens()):
        book = engine.books.get(token)
        if book is None:
            continue
        top = book.top()
        result.books[token] = {
            "best_bid": None if top.best_bid is None else str(top.best_bid),
            "best_ask": None if top.best_ask is None else str(top.best_ask),
            "bid_depth": str(top.bid_depth),
            "ask_depth": str(top.ask_depth),
            "stale": top.stale,
        }
    for event in sub.drain():
        if isinstance(event, ev.WhaleTradeSeen):
            t = event.trade
            result.whale_trades.append(
                {
                    "wallet": t.wallet,
                    "token_id": t.token_id,
                    "side": t.side.value,
                    "price": str(t.price),
                    "shares": str(t.shares),
                    "source": t.source.value,
                }
            )
    journal = engine.journal
    result.signals = journal.count("signal")
    result.intents = sum(
        1 for e in journal.events(kinds=["intent"]) if e.payload["status"] == "pending"
    )
    result.fills = [
        {k: e.payload[k] for k in ("token_id", "side", "shares", "avg_price", "fee_usd")}
        for e in journal.events(kinds=["fill"])
    ]
    pnl = engine.portfolio.pnl()
    result.pnl = {"realized": str(pnl.realized_usd), "unrealized": str(pnl.unrealized_usd)}


def policy_in_file(path: Path) -> bool:
    """Whether a config file sets ``[approval] policy`` itself."""
    import tomllib

    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    approval = raw.get("approval")
    return isinstance(approval, dict) and "policy" in approval


def replay(path: Path, speed: float, max_speed: bool, report: str, loaded: Any = None) -> int:
    """``polytui replay FILE``: run the engine on a capture and print the report."""
    try:
        items = list(read_capture(path))
    except OSError as exc:
        print(f"polytui replay: cannot read {path}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except CaptureError as exc:
        print(f"polytui replay: {exc}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="polytui-replay-") as data:
        result = asyncio.run(
            run_replay(items, speed=speed, max_speed=max_speed, data_dir=Path(data), loaded=loaded)
        )
    if report == "json":
        print(json.dumps(asdict(result)))  # the fields in ReplayResult's order
    else:
        print(f"frames {result.frames}, rejected {result.rejected}")
        print(
            f"books {len(result.books)}, whale trades {len(result.whale_trades)}, "
            f"signals {result.signals}, intents {result.intents}, fills {len(result.fills)}"
        )
        print(f"pnl realized {result.pnl['realized']}, unrealized {result.pnl['unrealized']}")
    return 0
