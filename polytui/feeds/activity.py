"""RTDS ``activity/trades``: the global trade firehose, filtered to watched wallets.

Wire facts (PROTOCOL.md §1c): subscribe with ``{"action": "subscribe", "subscriptions":
[{"topic": "activity", "type": "trades"}]}``; the client must send ``PING`` about every 5 s or the
server silently stops after ~6 min; the server answers ``""`` (not data) and the first frame may
be empty; there is no server-side wallet filter, so ``proxyWallet`` (which can arrive
checksummed) is lower-cased and filtered here. ``payload.timestamp`` is unix seconds, the
envelope's ``timestamp`` milliseconds. A frame may be an array of messages.

Best effort: since 2026-01-16 the official docs list only comments and crypto prices on RTDS and
no official client subscribes to ``activity/trades``; third-party captures still saw it in
August 2026. The chain feed and the data-api are the primary whale sources. When connections in
a row bring no data the reconnects slow down (``rtds_quiet_retry_max_s``) instead of flapping.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
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

BEST_EFFORT = "best effort (undocumented since 2026-01-16); chain + data-api are primary"

# The keys that make a payload a trade when the envelope has no topic/type.
TRADE_KEYS = frozenset({"proxyWallet", "asset", "side", "price", "size", "transactionHash"})

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
        quiet_retry_max_s: float = 900.0,
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
            quiet_retry_max_s=quiet_retry_max_s,
        )

    async def run(self) -> None:
        """Run the connection loop."""
        await self.ws.run()

    async def stop(self) -> None:
        """Close the connection."""
        await self.ws.stop()

    async def watch(self, wallets: set[str]) -> None:
        """Follow a new watch list (the filter is ours: no resubscribe)."""
        self.wallets = {w.lower() for w in wallets}

    def status(self) -> FeedStatus:
        """Connection counters (no I/O); the detail says the source is best effort."""
        status = self.ws.status()
        detail = f"{status.detail}; {BEST_EFFORT}" if status.detail else BEST_EFFORT
        return replace(status, detail=detail)

    def handle_frame(self, frame: str) -> None:
        """Parse a frame (one message or an array of them); emit trades of watched wallets (or
        big ones when discovering)."""
        try:
            data = orjson.loads(frame)
        except orjson.JSONDecodeError:
            self.ws.count_rejected("malformed JSON", frame)
            return
        messages = data if isinstance(data, list) else [data]
        # A bad frame is counted once, by its first bad message; the good ones still count.
        reasons = [self._message(message) for message in messages] or ["empty array"]
        bad = next((r for r in reasons if r), "")
        if bad:
            self.ws.count_rejected(bad, frame)

    def _message(self, data: object) -> str:
        """Handle one message; "" when it was used or skipped, else why it was rejected."""
        if not isinstance(data, dict):
            return "not an object"
        payload = data.get("payload")
        topic, kind = data.get("topic"), data.get("type")
        if topic is None and kind is None:
            # Control answers ({"status": "success", ...}) carry no payload. A trade whose
            # envelope lost topic/type (reported in 2026) is known by its payload's keys.
            if not isinstance(payload, dict) or not payload.keys() >= TRADE_KEYS:
                return ""
        elif topic != "activity" or kind != "trades":
            return ""  # other topics/types share the socket; not errors
        if not isinstance(payload, dict):
            return "missing payload"
        wallet = str(payload.get("proxyWallet") or "").lower()
        watched = wallet in self.wallets
        if not watched and self.discovery_min_usd is None:
            return ""
        try:
            trade = trade_from_rtds(payload, self.wall_clock())
        except (ActivityError, BadValue) as exc:
            return str(exc).split(":")[0]
        if (
            not watched
            and self.discovery_min_usd is not None
            and trade.usd < self.discovery_min_usd
        ):
            return ""
        # Delivery latency from the envelope's millisecond stamp (when RTDS sent the message);
        # the payload's stamp is whole seconds of the match, up to a second off.
        sent_ms = data.get("timestamp")
        if isinstance(sent_ms, int) and not isinstance(sent_ms, bool) and sent_ms > 0:
            self.ws.note_latency(trade.received_at.timestamp() * 1000 - sent_ms)
        self.matched += 1
        self.on_trade(trade)
        return ""
