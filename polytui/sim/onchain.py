"""What every simulated market and trade carries on chain, for scenarios and worlds alike.

A binary market's two outcome positions are ERC-1155 token ids, one of which wins; a trade
(``ChainTrade``) is mined in the block of its sim time (one every ``BLOCK_S``, from
``FIRST_BLOCK`` at sim time 0) and names a transaction and an order hash. The scenarios
(``scenario``) and the worlds (``worlds``) draw their own markets and trades, and take these
shapes from here so both speak the same chain.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from decimal import Decimal

BLOCK_S = 2.0  # Polygon's block time; the books also step once per block
FIRST_BLOCK = 84_950_000  # the block mined at sim time 0


def block_at(t: float) -> int:
    """The block mined at sim time ``t``."""
    return FIRST_BLOCK + int(t // BLOCK_S)


def token_id(rng: random.Random) -> str:
    """A fresh outcome token id (a 76- or 77-digit ERC-1155 position id)."""
    return str(rng.randrange(10**75, 10**77))


def trade_hashes(key: str) -> tuple[str, str]:
    """(transaction hash, order hash) of the trade named by ``key`` (stable across runs)."""
    digest = hashlib.sha256(key.encode()).hexdigest()
    return "0x" + digest, "0x" + hashlib.sha256(digest.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class ChainTrade:
    """A buy of one outcome token, matched at sim time ``t``, as the chain and data-api show it."""

    t: float
    wallet: str
    market: int
    token_id: str
    outcome: str
    outcome_index: int
    side: str
    price: Decimal
    shares: Decimal
    tx_hash: str
    order_hash: str
    block: int


class TwoOutcomes:
    """A binary market's two positions and which one wins (mixed into the market dataclasses)."""

    __slots__ = ()

    yes_token: str
    no_token: str
    yes_wins: bool

    @property
    def winner(self) -> str:
        """Token id of the outcome that wins."""
        return self.yes_token if self.yes_wins else self.no_token
