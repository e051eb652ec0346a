"""What kind of buyer a wallet is, from its settled bets (pure).

A **longshot** buyer is a wallet most of whose settled buys (``LONGSHOT_SHARE`` of them) paid
under ``LONGSHOT_PRICE`` a share: cheap tokens that rarely win. Such a record is dominated by a
few big wins, so its P&L and win rate say little; its price-adjusted edge still says whether the
cheap prices were worth paying (usually not, after fees). The label is shown in the profile's
``extra["style"]`` and at the front of its ``reason``.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from polytui.model import Side
from polytui.whales.bets import Bet

LONGSHOT_PRICE = Decimal("0.20")
LONGSHOT_SHARE = 0.6


def longshot_share(bets: Sequence[Bet], below: Decimal = LONGSHOT_PRICE) -> float | None:
    """The share of settled buy bets whose average price is under ``below`` (None: no buys)."""
    buys = [b for b in bets if b.side is Side.BUY and b.payout is not None]
    if not buys:
        return None
    return sum(1 for b in buys if b.avg_price < below) / len(buys)


def style_of(bets: Sequence[Bet]) -> tuple[str, str]:
    """(label, prefix for the reason): ``("longshot", "longshot buyer (…)")`` or ``("", "")``."""
    share = longshot_share(bets)
    if share is not None and share >= LONGSHOT_SHARE:
        return "longshot", (
            f"longshot buyer ({share * 100:.0f} % of its buys under {LONGSHOT_PRICE})"
        )
    return "", ""
