"""RTDS ``activity/trades``: the global trade firehose, filtered to watched wallets.

Wire facts (PROTOCOL.md §1c): subscribe with ``{"action": "subscribe", "subscriptions":
[{"topic": "activity", "type": "trades"}]}``; the client must send ``PING`` about every 5 s or the
server silently stops after ~6 min; the server answers ``""`` (not data) and the first frame may
be empty; there is no server-side wallet filter, so ``proxyWallet`` (which can arrive
checksummed) is lower-cased and filtered here. ``payload.timestamp`` is unix seconds.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

import orjson

from polytui.feeds.connection import WsFeed
from polytui.model import (
    BadValue,
    FeedStatus,
    Side,
    TradeSource,
    WhaleTrade,
    parse_price,
    parse_shares,
    usd,
)
from polytui.text import clean_text

# A trade stamped further than this ahead of our clock is bad input (counted and dropped): a
# match cannot happen in the future, and a trusted future stamp would defeat every age bound.
MAX_FUTURE_SKEW_S = 10.0

SUBSCRIBE = orjson.dumps(
    {"action": "subscribe", "subscriptions": [{"topic": "activity", "type": "trades"}]}
).decode()


class ActivityError(ValueError):
    """A frame that is not a usable trade."""


def trade_from_row(
    row: dict[str, object], source: TradeSource, received_at: datetime
) -> WhaleTrade:
    """Parse a trade row as RTDS ``activity/trades`` and data-api ``/trades`` share it (pure).

    Both carry proxyWallet, asset, side, price, size, timestamp (unix s), conditionId, outcome,
    outcomeIndex, title and transactionHash; numbers may be JSON floats (parsed through str).
    """
    if not isinstance(row, dict):  # a data-api page can hold anything; never raise past here
        raise ActivityError("row is not an object")
    wallet = row.get("proxyWallet")
    token = row.get("asset")
    if not isinstance(wallet, str) or not wallet.startswith("0x") or len(wallet) != 42:
        raise ActivityError("bad proxyWallet")
    if not isinstance(token, str) or not token:
        raise ActivityError("missing asset")
    side_raw = row.get("side")
    if side_raw not in ("BUY", "SELL"):
        raise ActivityError("bad side")
    price = parse_price(row.get("price"))
    shares = parse_shares(row.get("size"))
    if shares <= 0 or price <= 0:
        raise ActivityError("zero size or price")
    ts = row.get("timestamp")
    if isinstance(ts, bool) or not isinstance(ts, int | float | str):
        raise ActivityError("bad timestamp")
    try:
        match_time = datetime.fromtimestamp(float(ts), tz=UTC)
    except (ValueError, OverflowError, OSError):
        raise ActivityError("bad timestamp") from None
    if (match_time - received_at).total_seconds() > MAX_FUTURE_SKEW_S:
        raise ActivityError("timestamp in the future")
    index = row.get("outcomeIndex")
    return WhaleTrade(
        wallet=wallet.lower(),
        token_id=token,
        side=Side(side_raw),
        price=price,
        shares=shares,
        usd=usd(price * shares),
        tx_hash=str(row.get("transactionHash") or "").lower(),
        source=source,
        match_time=match_time,
        received_at=received_at,
        condition_id=str(row.get("conditionId") or ""),
        outcome=clean_text(row.get("outcome") or ""),
        outcome_index=index if isinstance(index, int) and not isinstance(index, bool) else None,
        title=clean_text(row.get("title") or ""),
    )


def trade_from_rtds(payload: dict[str, object], received_at: datetime) -> WhaleTrade:
    """Parse one ``activity/trades`` payload (pure)."""
    return trade_from_row(payload, TradeSource.ACTIVITY, received_at)


class ActivityFeed:
    """RTDS trades for watched wallets (or any trade above a size, for discovery)."""

    def __init__(
        self,
        url: str,
        *,
        wallets: set[str],
        on_trade: Callable[[WhaleTrade], None],
        discovery_min_usd: Decimal | None = None,
        ping_interval_s: float = 5.0,
        silence_s: float = 15.0,
        backoff_initial_s: float = 0.5,
        backoff_cap_s: float = 30.0,
        tap: Callable[[str], None] | None = None,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.wallets = {w.lower() for w in wallets}
        self.on_trade = on_trade
        self.discovery_min_usd = discovery_min_usd
        self.wall_clock = wall_clock
        self.matched = 0
        self.ws = WsFeed(
            "activity",
            url,
            on_frame=self.handle_frame,
            subscribe_messages=lambda: [SUBSCRIBE],
            ping_interval_s=ping_interval_s,
            silence_s=silence_s,
            backoff_initial_s=backoff_initial_s,
            backoff_cap_s=backoff_cap_s,
            tap=tap,
        )

    async def run(self) -> None:
        """Run the connection loop."""
        await self.ws.run()

    async def stop(self) -> None:
        """Close the connection."""
        await self.ws.stop()

    def status(self) -> FeedStatus:
        """Connection counters (no I/O)."""
        return self.ws.status()

    def handle_frame(self, frame: str) -> None:
        """Parse a frame; emit trades of watched wallets (or big ones when discovering)."""
        try:
            data = orjson.loads(frame)
        except orjson.JSONDecodeError:
            self.ws.count_rejected("malformed JSON", frame)
            return
        if not isinstance(data, dict):
            self.ws.count_rejected("not an object", frame)
            return
        if data.get("topic") != "activity" or data.get("type") != "trades":
            return  # other topics/types share the socket; not errors
        payload = data.get("payload")
        if not isinstance(payload, dict):
            self.ws.count_rejected("missing payload", frame)
            return
        wallet = str(payload.get("proxyWallet") or "").lower()
        watched = wallet in self.wallets
        if not watched and self.discovery_min_usd is None:
            return
        try:
            trade = trade_from_rtds(payload, self.wall_clock())
        except (ActivityError, BadValue) as exc:
            self.ws.count_rejected(str(exc).split(":")[0], frame)
            return
        if (
            not watched
            and self.discovery_min_usd is not None
            and trade.usd < self.discovery_min_usd
        ):
            return
        ts_ms = data.get("timestamp")
        if isinstance(ts_ms, int) and not isinstance(ts_ms, bool):
            self.ws.note_latency(
                (trade.received_at.timestamp() * 1000) - trade.match_time.timestamp() * 1000
            )
        self.matched += 1
        self.on_trade(trade)
