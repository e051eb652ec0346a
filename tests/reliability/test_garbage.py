"""Garbage: fuzzed frames per protocol through the real parsers and feed handlers.

Each bad frame is bad *by construction* (a valid wire frame with one part broken in a way the
protocol forbids: NaN / negative / huge numbers, wrong types, missing keys, truncated JSON,
unknown events), so every one must be counted as rejected, exactly once, and none may raise.
Free-form JSON is thrown at the same entry points to check that nothing escapes. Volume goes
through the parser entry points directly; Gamma and data-api rows travel over a real loopback
HTTP server; one test pushes garbage over the simulator's real WebSockets into a running engine.

Sizes: 10^5 frames per protocol under ``make reliability``; a few thousand in ``make test``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import orjson
import pytest
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from polytui.feeds.activity import ActivityFeed
from polytui.feeds.books import BookStore
from polytui.feeds.chain import ChainFeed
from polytui.feeds.clob import ClobMarketFeed
from polytui.feeds.dataapi import DataApiPoller
from polytui.feeds.gamma import MarketDirectory
from polytui.feeds.history import HistoryClient
from polytui.feeds.http import make_client
from polytui.feeds.ratelimit import data_api_limiter
from polytui.sim.wire import (
    EXCHANGE_V2,
    book_event,
    dataapi_row,
    gamma_record,
    last_trade_event,
    order_filled_log,
    price_change_event,
    rtds_frame,
)
from polytui.sim.wire import dumps as wire_dumps
from polytui.sim.worlds import build_world, builtin_spec
from polytui.sim.worlds.legacy import scenario_of
from tests.reliability.common import number_ok, run_sync, size, summary

FRAMES = size(100_000, 3_000)  # bad frames per protocol
BATCH = 25  # frames per hypothesis example
EXAMPLES = FRAMES // BATCH + 1
FREE_FORM = size(20_000, 600)  # free-form JSON frames per protocol (no-crash check)

pytestmark = [pytest.mark.reliability, pytest.mark.timeout(60 + FRAMES // 200)]

# The simulator's chaos world supplies the real markets, tokens and whale trades the bad frames
# are mutated from.
SCENARIO = scenario_of(build_world(builtin_spec("chaos"), seed=11, hours=1))
M0, M1 = SCENARIO.markets[0], SCENARIO.markets[1]
TRADE = next(t for t in SCENARIO.trades if t.market in (0, 1))
WATCHED = TRADE.wallet
ONE, ZERO = Decimal(1), Decimal(0)
MAX_SHARES = Decimal(10) ** 12


def fuzz(examples: int) -> Any:
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )


# --- bad values -----------------------------------------------------------------------------

JUNK_TEXT = [
    "NaN",
    "nan",
    "-NaN",
    "sNaN",
    "Infinity",
    "-Infinity",
    "inf",
    "",
    " ",
    "0x10",
    "1,5",
    "abc",
    "½",
    "١",
    "1e999",
    "-1e-9",
    "--1",
    "1..2",
    "0." + "0" * 70 + "1",
    "None",
    "null",
    "true",
]


# Finite floats only: json.dumps writes inf as "Infinity", which makes the whole frame invalid
# JSON and would change the expected reject count of an array frame.
FINITE = st.floats(allow_nan=False, allow_infinity=False)


def bad_number(low: Decimal | None, high: Decimal | None) -> st.SearchStrategy[Any]:
    """Values the wire-number rule must refuse for a field in [low, high]."""
    out_of_range: list[st.SearchStrategy[Any]] = []
    if low is not None:
        out_of_range.append(
            st.decimals(max_value=low - Decimal("0.000001"), allow_nan=False, places=6).map(str)
        )
        out_of_range.append(st.integers(max_value=int(low) - 1))
    if high is not None:
        out_of_range.append(
            st.decimals(min_value=high + Decimal("0.000001"), allow_nan=False, places=6).map(str)
        )
        out_of_range.append(st.integers(min_value=int(high) + 1))
    anything = st.one_of(
        st.sampled_from(JUNK_TEXT),
        st.booleans(),
        st.none(),
        st.lists(st.integers(0, 9), max_size=2),
        st.dictionaries(st.sampled_from(["v", "price"]), st.integers(0, 9), max_size=1),
        FINITE.filter(lambda f: not number_ok(f, low, high)),
        st.text(max_size=8).filter(lambda s: not number_ok(s, low, high)),
        *out_of_range,
    )
    return anything.filter(lambda v: not number_ok(v, low, high))


BAD_PRICE = bad_number(ZERO, ONE)
BAD_SIZE = bad_number(ZERO, MAX_SHARES)
NOT_A_STRING = st.one_of(
    st.none(), st.booleans(), st.integers(), st.lists(st.integers(), max_size=1)
)
JSON_LEAF = st.one_of(st.none(), st.booleans(), st.integers(), FINITE, st.text(max_size=12))
JSON_ANY = st.recursive(
    JSON_LEAF,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def truncated(text: str) -> st.SearchStrategy[str]:
    """A strict, non-empty prefix of a JSON object or array: never valid JSON."""
    return st.integers(1, len(text) - 1).map(lambda n: text[:n])


def dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False)  # big integers too, as a server might send


def replace_at(obj: Any, path: tuple[Any, ...], value: Any) -> Any:
    """A deep copy of ``obj`` with ``path`` set to ``value`` (``DELETE`` removes the key)."""
    copy = json.loads(json.dumps(obj))
    target = copy
    for key in path[:-1]:
        target = target[key]
    if value is DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return copy


DELETE = object()


# --- CLOB market channel ----------------------------------------------------------------------

T_YES, T_NO = M0.yes_token, M0.no_token
BOOK = book_event(M0, T_YES, Decimal("0.5"), 1, 1_700_000_000_000)
PRICE_CHANGE = price_change_event(
    M0, [(T_YES, "0.48", "120", "BUY"), (T_NO, "0.55", "80", "SELL")], 1_700_000_000_500
)
LEGACY_CHANGE = {
    "event_type": "price_change",
    "asset_id": T_YES,
    "market": M0.condition_id,
    "changes": [{"price": "0.48", "size": "120", "side": "BUY"}],
    "timestamp": "1700000000600",
}
LAST_TRADE = last_trade_event(M0, TRADE, 1_700_000_000_700)
LAST_TRADE = dict(LAST_TRADE, asset_id=T_YES)
TICK_SIZE = {
    "event_type": "tick_size_change",
    "asset_id": T_YES,
    "market": M0.condition_id,
    "old_tick_size": "0.01",
    "new_tick_size": "0.001",
    "timestamp": "1700000000800",
}
RESOLVED = {
    "event_type": "market_resolved",
    "market": M0.condition_id,
    "winning_asset_id": T_YES,
    "assets_ids": [T_YES, T_NO],
    "timestamp": "1700000000900",
}
BEST_BID_ASK = {"event_type": "best_bid_ask", "asset_id": T_YES, "best_bid": "0.5"}
KNOWN_EVENTS = {
    "book",
    "price_change",
    "last_trade_price",
    "tick_size_change",
    "best_bid_ask",
    "market_resolved",
    "new_market",
}
BAD_TOKEN = st.one_of(NOT_A_STRING, st.just(""), st.just("999"), st.just(M1.yes_token))
BAD_LEVEL = st.one_of(
    st.tuples(BAD_PRICE, st.just("10")).map(lambda ps: {"price": ps[0], "size": ps[1]}),
    st.tuples(st.just("0.4"), BAD_SIZE).map(lambda ps: {"price": ps[0], "size": ps[1]}),
    st.just({"size": "10"}),
    st.just({"price": "0.4"}),
    NOT_A_STRING,
)


def _bad_book() -> st.SearchStrategy[dict[str, Any]]:
    side = st.sampled_from(["bids", "asks"])
    return st.one_of(
        BAD_TOKEN.map(lambda v: replace_at(BOOK, ("asset_id",), v)),
        st.just(replace_at(BOOK, ("asset_id",), DELETE)),
        st.tuples(
            side,
            st.one_of(
                NOT_A_STRING.filter(lambda v: not isinstance(v, list)),
                st.text(max_size=3),
                st.dictionaries(st.text(max_size=2), st.integers(), max_size=1),
            ),
        ).map(lambda sv: replace_at(BOOK, (sv[0],), sv[1])),
        st.tuples(side, st.integers(0, 4), BAD_LEVEL).map(
            lambda s: replace_at(BOOK, (s[0], s[1]), s[2])
        ),
    )


def _bad_price_change() -> st.SearchStrategy[dict[str, Any]]:
    change = ("price_changes", 0)
    return st.one_of(
        BAD_TOKEN.filter(lambda v: v is not None).map(
            lambda v: replace_at(PRICE_CHANGE, (*change, "asset_id"), v)
        ),
        st.one_of(NOT_A_STRING, st.sampled_from(["buy ", "BID", "", "ASK"])).map(
            lambda v: replace_at(PRICE_CHANGE, (*change, "side"), v)
        ),
        BAD_PRICE.map(lambda v: replace_at(PRICE_CHANGE, (*change, "price"), v)),
        BAD_SIZE.map(lambda v: replace_at(PRICE_CHANGE, (*change, "size"), v)),
        st.sampled_from(["price", "size", "side", "asset_id"]).map(
            lambda k: replace_at(PRICE_CHANGE, (*change, k), DELETE)
        ),
        st.one_of(st.booleans(), st.integers(), st.text(max_size=3)).map(
            lambda v: replace_at(PRICE_CHANGE, ("price_changes",), v)
        ),
        st.one_of(st.integers(), st.text(max_size=3), st.none()).map(
            lambda v: replace_at(PRICE_CHANGE, change, v)
        ),
        BAD_TOKEN.map(lambda v: replace_at(LEGACY_CHANGE, ("asset_id",), v)),
        st.one_of(st.none(), st.integers(), st.text(max_size=3)).map(
            lambda v: replace_at(LEGACY_CHANGE, ("changes",), v)
        ),
        BAD_PRICE.map(lambda v: replace_at(LEGACY_CHANGE, ("changes", 0, "price"), v)),
    )


def _bad_other_events() -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(
        BAD_TOKEN.map(lambda v: replace_at(LAST_TRADE, ("asset_id",), v)),
        BAD_PRICE.map(lambda v: replace_at(LAST_TRADE, ("price",), v)),
        # "" is the wire's absent size: the trade's price is kept, so it is no bad frame.
        BAD_SIZE.filter(lambda v: v != "").map(lambda v: replace_at(LAST_TRADE, ("size",), v)),
        BAD_TOKEN.map(lambda v: replace_at(TICK_SIZE, ("asset_id",), v)),
        BAD_PRICE.map(lambda v: replace_at(TICK_SIZE, ("new_tick_size",), v)),
        st.just(replace_at(TICK_SIZE, ("new_tick_size",), DELETE)),
        st.one_of(NOT_A_STRING, st.just("")).map(
            lambda v: replace_at(RESOLVED, ("winning_asset_id",), v)
        ),
        NOT_A_STRING.map(lambda v: replace_at(RESOLVED, ("market",), v)),
        st.sampled_from(["market", "winning_asset_id"]).map(
            lambda k: replace_at(RESOLVED, (k,), DELETE)
        ),
        BAD_TOKEN.map(lambda v: replace_at(BEST_BID_ASK, ("asset_id",), v)),
        st.one_of(NOT_A_STRING, st.text(max_size=20).filter(lambda s: s not in KNOWN_EVENTS)).map(
            lambda v: replace_at(BOOK, ("event_type",), v)
        ),
        st.just(replace_at(PRICE_CHANGE, ("event_type",), DELETE)),
    )


def _clob_frames() -> st.SearchStrategy[tuple[str, int]]:
    """(frame text, events in it that must be rejected)."""
    single = st.one_of(_bad_book(), _bad_price_change(), _bad_other_events()).map(
        lambda e: (dumps(e), 1)
    )
    array = st.lists(st.one_of(_bad_book(), _bad_other_events()), min_size=1, max_size=3).map(
        lambda es: (dumps(es), len(es))
    )
    scalars = st.one_of(
        JSON_LEAF.filter(lambda v: v != {}).map(lambda v: (dumps(v), 1)),
        st.lists(JSON_LEAF, min_size=1, max_size=3).map(lambda vs: (dumps(vs), len(vs))),
    )
    broken = st.one_of(
        truncated(dumps(BOOK)),
        truncated(dumps([PRICE_CHANGE])),
        st.text(max_size=30).filter(lambda s: not _is_json(s)),
    ).map(lambda s: (s, 1))
    return st.one_of(single, array, scalars, broken)


def _is_json(text: str) -> bool:
    try:
        orjson.loads(text)
    except orjson.JSONDecodeError:
        return False
    return True


def _clob_feed() -> ClobMarketFeed:
    books = BookStore()
    feed = ClobMarketFeed("ws://127.0.0.1:9/never", books)
    feed.tokens.update({T_YES, T_NO})
    feed.handle_frame(dumps([BOOK, dict(BOOK, asset_id=T_NO)]))
    assert feed.ws.rejected == 0 and not books.get(T_YES).stale  # type: ignore[union-attr]
    return feed


def _levels(feed: ClobMarketFeed) -> Any:
    return {t: (dict(b._bids), dict(b._asks)) for t in (T_YES, T_NO) if (b := feed.books.get(t))}


class Tally:
    def __init__(self) -> None:
        self.frames = 0
        self.rejected = 0
        self.started = time.perf_counter()

    @property
    def rate(self) -> int:
        return int(self.frames / max(1e-9, time.perf_counter() - self.started))


def test_clob_bad_frames_are_each_counted_and_change_nothing() -> None:
    feed = _clob_feed()
    before = _levels(feed)
    resolved: list[str] = []
    feed.on_market_resolved = lambda m, w, at: resolved.append(w)
    tally = Tally()

    @fuzz(EXAMPLES)
    @given(st.lists(_clob_frames(), min_size=BATCH, max_size=BATCH))
    def run(frames: list[tuple[str, int]]) -> None:
        for text, bad in frames:
            rejected = feed.ws.rejected
            feed.handle_frame(text)  # must not raise
            assert feed.ws.rejected - rejected == bad, text
            tally.frames += 1
            tally.rejected += bad

    run()
    assert _levels(feed) == before, "a rejected frame changed a book"
    assert not resolved
    summary(
        "garbage.clob", frames=tally.frames, rejected=tally.rejected, crashes=0, per_s=tally.rate
    )
    assert tally.frames >= FRAMES


# --- RTDS activity ----------------------------------------------------------------------------

# As a client receives them: the builders keep Decimal, the wire carries JSON numbers.
RTDS = json.loads(wire_dumps(rtds_frame(SCENARIO, TRADE, 1_700_000_000.0, 1_700_000_002_000)))
RTDS["payload"]["proxyWallet"] = WATCHED


def _bad_rtds_payload(base: dict[str, Any], with_wallet: bool) -> st.SearchStrategy[dict[str, Any]]:
    p = ("payload",)
    options = [
        st.one_of(NOT_A_STRING, st.just("")).map(lambda v: replace_at(base, (*p, "asset"), v)),
        st.just(replace_at(base, (*p, "asset"), DELETE)),
        st.one_of(NOT_A_STRING, st.sampled_from(["buy", "", "BID", "SELL "])).map(
            lambda v: replace_at(base, (*p, "side"), v)
        ),
        st.one_of(BAD_PRICE, st.just(0), st.just("0")).map(
            lambda v: replace_at(base, (*p, "price"), v)
        ),
        st.one_of(BAD_SIZE, st.just(0), st.just("0.0")).map(
            lambda v: replace_at(base, (*p, "size"), v)
        ),
        st.one_of(
            st.none(),
            st.booleans(),
            st.lists(st.integers(), max_size=1),
            st.sampled_from(["abc", "", "nan", "inf", "-inf", "1e30"]),
            st.integers(min_value=10**12),
            st.integers(max_value=-(10**12)),
        ).map(lambda v: replace_at(base, (*p, "timestamp"), v)),
        st.sampled_from(["price", "size", "side", "timestamp"]).map(
            lambda k: replace_at(base, (*p, k), DELETE)
        ),
    ]
    if with_wallet:
        options.append(
            st.one_of(
                NOT_A_STRING,
                st.text(max_size=44).filter(lambda s: not (s.startswith("0x") and len(s) == 42)),
            ).map(lambda v: replace_at(base, (*p, "proxyWallet"), v))
        )
    return st.one_of(*options)


def _rtds_frames(with_wallet: bool) -> st.SearchStrategy[str]:
    envelope = st.one_of(
        st.one_of(NOT_A_STRING, st.text(max_size=5)).map(
            lambda v: replace_at(RTDS, ("payload",), v)
        ),
        st.just(replace_at(RTDS, ("payload",), DELETE)),
    ).map(dumps)
    return st.one_of(
        _bad_rtds_payload(RTDS, with_wallet).map(dumps),
        envelope,
        JSON_LEAF.map(dumps),
        st.lists(JSON_LEAF, max_size=3).map(dumps),
        truncated(dumps(RTDS)),
        st.text(max_size=30).filter(lambda s: not _is_json(s)),
    ).filter(lambda s: s.strip() not in ("", "{}"))


def _activity_feed(discovery: bool) -> tuple[ActivityFeed, list[Any]]:
    got: list[Any] = []
    feed = ActivityFeed(
        "ws://127.0.0.1:9/never",
        wallets={WATCHED},
        on_trade=got.append,
        discovery_min_usd=Decimal(0) if discovery else None,
    )
    feed.handle_frame(dumps(RTDS))
    assert len(got) == 1 and feed.ws.rejected == 0  # the template itself is accepted
    got.clear()
    return feed, got


@pytest.mark.parametrize("discovery", [False, True], ids=["watched", "discovery"])
def test_rtds_bad_frames_are_each_counted(discovery: bool) -> None:
    feed, got = _activity_feed(discovery)
    tally = Tally()
    examples = EXAMPLES if discovery else EXAMPLES // 4 + 1

    @fuzz(examples)
    @given(st.lists(_rtds_frames(with_wallet=discovery), min_size=BATCH, max_size=BATCH))
    def run(frames: list[str]) -> None:
        for text in frames:
            rejected = feed.ws.rejected
            feed.handle_frame(text)
            assert feed.ws.rejected - rejected == 1, text
            tally.frames += 1

    run()
    assert not got, "a bad frame became a trade"
    summary(
        f"garbage.rtds.{'discovery' if discovery else 'watched'}",
        frames=tally.frames,
        rejected=tally.frames,
        crashes=0,
        per_s=tally.rate,
    )
    assert tally.frames >= (FRAMES if discovery else FRAMES // 4)


# --- chain logs -------------------------------------------------------------------------------

LOG = order_filled_log(TRADE, exchange=EXCHANGE_V2, block_hash="0x" + "ab" * 32, log_index=1)
LOG["blockTimestamp"] = hex(1_700_000_000)


def _word(n: int) -> str:
    return f"{n:064x}"


def _data(side: int, maker: int, taker: int) -> str:
    return "0x" + "".join(
        [_word(side), _word(int(TRADE.token_id)), _word(maker), _word(taker)] + [_word(0)] * 3
    )


U256 = st.integers(0, 2**256 - 1)


def _bad_logs() -> st.SearchStrategy[dict[str, Any]]:
    topics = LOG["topics"]
    return st.one_of(
        # amounts that make no trade: zero shares, price above 1, price 0
        st.tuples(st.integers(0, 1), U256).map(
            lambda s: replace_at(
                LOG, ("data",), _data(s[0], s[1], 0) if s[0] == 0 else _data(s[0], 0, s[1])
            )
        ),
        st.tuples(st.integers(1, 2**200), st.integers(1, 2**40)).map(
            lambda a: replace_at(LOG, ("data",), _data(0, a[0] + a[1] * 2, a[1]))
        ),
        st.integers(1, 2**200).map(lambda n: replace_at(LOG, ("data",), _data(0, 0, n))),
        st.integers(2, 2**256 - 1).map(lambda s: replace_at(LOG, ("data",), _data(s, 10, 20))),
        # wrong lengths and non-hex
        st.integers(0, 7 * 64 + 40)
        .filter(lambda n: n != 7 * 64)
        .map(lambda n: replace_at(LOG, ("data",), "0x" + ("0" * n))),
        st.sampled_from(["0xzz", "0x" + "g" * 448, "", "0x0", None, 5]).map(
            lambda d: replace_at(LOG, ("data",), d)
        ),
        # topics: count, event, address width
        st.lists(st.just(topics[1]), max_size=6)
        .filter(lambda t: len(t) != 4)
        .map(lambda t: replace_at(LOG, ("topics",), t)),
        st.integers(0, 2**256 - 1).map(lambda n: replace_at(LOG, ("topics", 0), "0x" + _word(n))),
        st.sampled_from(["0x1234", "0x" + "00" * 20, "", "0x" + "1" * 70]).map(
            lambda v: replace_at(LOG, ("topics", 2), v)
        ),
        # envelope keys the dedup and cursor need
        st.sampled_from(["transactionHash", "logIndex", "blockNumber"]).map(
            lambda k: replace_at(LOG, (k,), DELETE)
        ),
        st.sampled_from(["zz", "0xq", "", "-", "0x"]).map(
            lambda v: replace_at(LOG, ("logIndex",), v)
        ),
        st.sampled_from(["zz", "", "0xq"]).map(lambda v: replace_at(LOG, ("blockNumber",), v)),
        st.sampled_from(["zz", "", "0xq", "0x" + "f" * 40]).map(
            lambda v: replace_at(LOG, ("blockTimestamp",), v)
        ),
    )


def test_chain_bad_logs_are_each_counted() -> None:
    got: list[Any] = []
    feed = ChainFeed(
        "ws://127.0.0.1:9/never", addresses=[EXCHANGE_V2], wallets={WATCHED}, on_trade=got.append
    )
    assert run_sync(feed.handle_log(json.loads(json.dumps(LOG)))) is True  # the template is good
    got.clear()
    tally = Tally()
    serial = iter(range(10**9))

    @fuzz(EXAMPLES)
    @given(st.lists(_bad_logs(), min_size=BATCH, max_size=BATCH))
    def run(entries: list[dict[str, Any]]) -> None:
        for entry in entries:
            if "transactionHash" in entry:  # never a log seen before
                entry["transactionHash"] = "0x" + _word(next(serial))
            rejected = feed.rejected
            assert run_sync(feed.handle_log(entry)) is False
            assert feed.rejected - rejected == 1, entry
            tally.frames += 1

    run()
    assert not got and feed.last_block == TRADE.block
    summary(
        "garbage.chain", frames=tally.frames, rejected=tally.frames, crashes=0, per_s=tally.rate
    )
    assert tally.frames >= FRAMES


# --- Gamma and data-api over loopback HTTP ------------------------------------------------------


class HttpStub:
    """A real loopback HTTP server answering every GET with ``self.body`` (raw JSON text)."""

    def __init__(self) -> None:
        self.body = "[]"
        self.requests = 0
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def _answer(self, request: web.Request) -> web.Response:
        self.requests += 1
        return web.Response(text=self.body, content_type="application/json")

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("GET", "/{tail:.*}", self._answer)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


@pytest.fixture
def loop_and_stub() -> Iterator[tuple[asyncio.AbstractEventLoop, HttpStub]]:
    loop = asyncio.new_event_loop()
    stub = HttpStub()
    loop.run_until_complete(stub.start())
    yield loop, stub
    loop.run_until_complete(stub.close())
    loop.close()


GAMMA = gamma_record(M0, end_wall=1_800_000_000.0, resolved=False, yes_mid=Decimal("0.5"))
GAMMA_CLOSED = gamma_record(M0, end_wall=1_800_000_000.0, resolved=True, yes_mid=Decimal("0.5"))


def _json_text_not_list() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.text(max_size=6).filter(lambda s: not _is_json(s)),
        JSON_LEAF.filter(lambda v: not isinstance(v, str)).map(lambda v: json.dumps(v)),
        NOT_A_STRING.filter(lambda v: not isinstance(v, list)),
        st.dictionaries(st.text(max_size=2), st.integers(), max_size=1),
    )


def _bad_gamma() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.one_of(NOT_A_STRING, st.just("")).map(lambda v: replace_at(GAMMA, ("conditionId",), v)),
        st.just(replace_at(GAMMA, ("conditionId",), DELETE)),
        st.tuples(st.sampled_from(["outcomes", "clobTokenIds"]), _json_text_not_list()).map(
            lambda kv: replace_at(GAMMA, (kv[0],), kv[1])
        ),
        st.sampled_from(["outcomes", "clobTokenIds"]).map(
            lambda k: replace_at(GAMMA, (k,), DELETE)
        ),
        st.lists(st.text(max_size=3), max_size=4)
        .filter(lambda xs: len(xs) != 2)
        .map(lambda xs: replace_at(GAMMA, ("clobTokenIds",), json.dumps(xs))),
        st.just(replace_at(replace_at(GAMMA, ("outcomes",), "[]"), ("clobTokenIds",), "[]")),
        bad_number(ZERO, Decimal("0.1")).map(
            lambda v: replace_at(GAMMA, ("orderPriceMinTickSize",), v)
        ),
        bad_number(ZERO, None).map(lambda v: replace_at(GAMMA, ("orderMinSize",), v)),
        bad_number(ZERO, ONE)
        .filter(lambda v: v not in (0, "0", 0.0, False, None))
        .map(lambda v: replace_at(GAMMA, ("feeSchedule", "rate"), v)),
        _json_text_not_list()
        .filter(lambda v: v is not None)  # a closed market without prices has no winner yet
        .map(lambda v: replace_at(GAMMA_CLOSED, ("outcomePrices",), v)),
        NOT_A_STRING.map(lambda v: v if not isinstance(v, list) else 7),
    )


def test_gamma_bad_records_are_each_counted_over_http(
    loop_and_stub: tuple[asyncio.AbstractEventLoop, HttpStub],
) -> None:
    loop, stub = loop_and_stub
    client = make_client(timeout_s=5)
    directory = MarketDirectory(client, stub.url)
    stub.body = dumps([GAMMA])
    assert loop.run_until_complete(directory._fetch([("clob_token_ids", T_YES)])) is not None
    tally = Tally()

    @fuzz(EXAMPLES)
    @given(st.lists(_bad_gamma(), min_size=BATCH, max_size=BATCH))
    def run(records: list[Any]) -> None:
        stub.body = dumps(records)
        rejected = directory.rejected
        assert loop.run_until_complete(directory._fetch([("clob_token_ids", T_YES)])) is None
        assert directory.rejected - rejected == len(records), records
        tally.frames += len(records)

    run()
    loop.run_until_complete(client.aclose())
    summary(
        "garbage.gamma",
        records=tally.frames,
        rejected=tally.frames,
        crashes=0,
        http_requests=stub.requests,
        per_s=tally.rate,
    )
    assert tally.frames >= FRAMES


def _bad_dataapi() -> st.SearchStrategy[Any]:
    row = json.loads(wire_dumps(dataapi_row(SCENARIO, TRADE, time.time() + 5)))
    wrapped = {"payload": row}
    return st.one_of(
        _bad_rtds_payload(wrapped, with_wallet=True).map(lambda w: w["payload"]),
        JSON_LEAF,
        st.lists(JSON_LEAF, max_size=2),
    )


def _poller(client: Any, stub: HttpStub, on_trade: Any) -> DataApiPoller:
    """A data-api poller for the watched wallet against the stub, with no rate limit."""
    limits = data_api_limiter(10**9, 10**9, 10**9)
    return DataApiPoller(
        HistoryClient(client, stub.url, limiter=limits, attempts=1),
        {WATCHED},
        interval_s=1,
        on_trade=on_trade,
    )


def test_dataapi_bad_rows_are_each_counted_over_http(
    loop_and_stub: tuple[asyncio.AbstractEventLoop, HttpStub],
) -> None:
    loop, stub = loop_and_stub
    client = make_client(timeout_s=5)
    got: list[Any] = []
    poller = _poller(client, stub, got.append)
    good = json.loads(wire_dumps(dataapi_row(SCENARIO, TRADE, time.time() + 5)))
    stub.body = dumps([good])
    assert loop.run_until_complete(poller.poll_once()) == 1
    got.clear()
    tally = Tally()

    @fuzz(EXAMPLES)
    @given(st.lists(_bad_dataapi(), min_size=BATCH, max_size=BATCH))
    def run(rows: list[Any]) -> None:
        stub.body = dumps(rows)
        rejected, errors = poller.rejected, poller.errors
        assert loop.run_until_complete(poller.poll_once()) == 0
        assert poller.errors == errors
        assert poller.rejected - rejected == len(rows), rows
        tally.frames += len(rows)

    run()
    loop.run_until_complete(client.aclose())
    assert not got
    summary(
        "garbage.dataapi",
        rows=tally.frames,
        rejected=tally.frames,
        crashes=0,
        http_requests=stub.requests,
        per_s=tally.rate,
    )
    assert tally.frames >= FRAMES


# --- free-form JSON: nothing escapes ------------------------------------------------------------


def _free_form(keys: list[str], base: dict[str, Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        JSON_ANY,
        st.dictionaries(st.sampled_from(keys), JSON_ANY, max_size=len(keys)),
        st.tuples(st.sampled_from(keys), JSON_ANY).map(
            lambda kv: replace_at(base, (kv[0],), kv[1])
        ),
    )


def test_free_form_json_never_escapes_any_parser(
    loop_and_stub: tuple[asyncio.AbstractEventLoop, HttpStub],
) -> None:
    loop, stub = loop_and_stub
    clob = _clob_feed()
    activity, _ = _activity_feed(discovery=True)
    chain = ChainFeed(
        "ws://127.0.0.1:9/never",
        addresses=[EXCHANGE_V2],
        wallets={WATCHED},
        on_trade=lambda t: None,
    )
    client = make_client(timeout_s=5)
    directory = MarketDirectory(client, stub.url)
    poller = _poller(client, stub, lambda t: None)
    clob_keys = [
        "event_type",
        "asset_id",
        "bids",
        "asks",
        "price_changes",
        "price",
        "size",
        "side",
        "market",
    ]
    frames = {"n": 0}

    @fuzz(FREE_FORM // 10 + 1)
    @given(
        st.lists(
            st.tuples(
                st.one_of(
                    st.sampled_from(sorted(KNOWN_EVENTS)).map(lambda e: dict(BOOK, event_type=e)),
                    _free_form(clob_keys, BOOK),
                    _free_form(clob_keys, PRICE_CHANGE),
                ),
                _free_form(list(RTDS["payload"]), RTDS["payload"]),
                _free_form(list(LOG), LOG),
                _free_form(list(GAMMA), GAMMA),
            ),
            min_size=10,
            max_size=10,
        )
    )
    def run(items: list[tuple[Any, Any, Any, Any]]) -> None:
        for clob_frame, payload, log_entry, _record in items:
            clob.handle_frame(dumps(clob_frame))
            activity.handle_frame(dumps(dict(RTDS, payload=payload)))
            if isinstance(log_entry, dict):
                # RuntimeError: it asked the node for a block time (a lookup, not a crash).
                with contextlib.suppress(RuntimeError):
                    run_sync(chain.handle_log(log_entry))
            frames["n"] += 4
        stub.body = dumps([i[3] for i in items])
        loop.run_until_complete(directory._fetch([("clob_token_ids", T_YES)]))
        stub.body = dumps([i[1] for i in items])
        loop.run_until_complete(poller.poll_once())
        assert poller.errors == 0

    run()
    loop.run_until_complete(client.aclose())
    summary(
        "garbage.free_form",
        frames=frames["n"],
        crashes=0,
        rejected_clob=clob.ws.rejected,
        rejected_rtds=activity.ws.rejected,
        rejected_chain=chain.rejected,
        rejected_gamma=directory.rejected,
        rejected_dataapi=poller.rejected,
    )


# --- regressions found by the fuzzing above -----------------------------------------------------


def test_a_non_object_data_api_row_is_counted_not_raised(
    loop_and_stub: tuple[asyncio.AbstractEventLoop, HttpStub],
) -> None:
    # It used to raise AttributeError out of poll_once, losing the rest of the page.
    loop, stub = loop_and_stub
    client = make_client(timeout_s=5)
    got: list[Any] = []
    poller = _poller(client, stub, got.append)
    good = json.loads(wire_dumps(dataapi_row(SCENARIO, TRADE, time.time() + 5)))
    stub.body = dumps([None, 7, "row", [good], good])
    assert loop.run_until_complete(poller.poll_once()) == 1
    loop.run_until_complete(client.aclose())
    assert (poller.rejected, poller.errors, len(got)) == (4, 0, 1)


def test_endless_unknown_event_types_neither_grow_memory_nor_flood_the_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    feed = _clob_feed()
    for n in range(5_000):
        feed.handle_frame(dumps({"event_type": f"kind-{n}", "asset_id": T_YES}))
    assert feed.ws.rejected == 5_000
    assert len(feed.ws._rejected_kinds) <= 64
    assert len([r for r in caplog.records if "dropped" in r.getMessage()]) <= 64


def test_a_gamma_record_with_non_list_tags_does_not_lose_the_page(
    loop_and_stub: tuple[asyncio.AbstractEventLoop, HttpStub],
) -> None:
    # tags: 1 raised TypeError out of the directory: the lookup failed and the page was lost.
    loop, stub = loop_and_stub
    client = make_client(timeout_s=5)
    directory = MarketDirectory(client, stub.url)
    other = gamma_record(M1, end_wall=1_800_000_000.0, resolved=False, yes_mid=Decimal("0.5"))
    stub.body = dumps([dict(GAMMA, tags=1), other, dict(other, conditionId=7, tags="x")])
    market = loop.run_until_complete(directory._fetch([("clob_token_ids", T_YES)]))
    loop.run_until_complete(client.aclose())
    assert market is not None and directory.cached(T_YES) is not None
    assert directory.cached(M1.yes_token) is not None and directory.rejected == 1
