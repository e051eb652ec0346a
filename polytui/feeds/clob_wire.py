"""The market channel's ``price_change`` on the wire: a typed decoder and a view of a raw entry.

Most market-channel frames are one ``price_change`` of the schema in use since 2025-09-15
(PROTOCOL.md §1). ``decode_price_change`` turns such a frame straight into typed changes with
msgspec, skipping the fields the books do not use (``hash``, ``best_bid``, ``best_ask``,
``market``); it refuses anything else (another event, an array, the legacy schema, a number
where the wire sends a string), and the feed then parses the frame generically, where a
``WireChange`` lets the same loop read a raw entry.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec


class Change(msgspec.Struct, gc=False):
    """A ``price_changes[]`` entry, as strings (the wire's own types); a side is one
    of the four spellings the loop accepts (decoded as the same string objects, so comparing
    it is an identity check)."""

    asset_id: str
    price: str
    size: str
    side: Literal["BUY", "SELL", "buy", "sell"]


class PriceChange(msgspec.Struct, gc=False):
    """A ``price_change`` event of the schema in use since 2025-09-15 (PROTOCOL.md §1)."""

    event_type: Literal["price_change"]
    price_changes: list[Change]
    timestamp: str | None = None


decode_price_change = msgspec.json.Decoder(PriceChange).decode


class WireChange:
    """A ``price_changes[]`` entry of the generic path, read from its dict when asked, so a
    missing or odd field fails where it did when the loop read the dict itself."""

    __slots__ = ("_entry",)

    def __init__(self, entry: Any) -> None:
        self._entry = entry

    @property
    def asset_id(self) -> Any:
        """The token whose book changes."""
        return self._entry.get("asset_id")

    @property
    def side(self) -> Any:
        """``BUY`` or ``SELL`` as the wire spells it."""
        return self._entry.get("side")

    @property
    def price(self) -> Any:
        """The level's price, as sent."""
        return self._entry["price"]

    @property
    def size(self) -> Any:
        """The new aggregate size, as sent."""
        return self._entry["size"]
