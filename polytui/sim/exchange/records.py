"""The exchange's records: API keys, accounts, orders and fills (plain state, no behaviour)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from polytui.sim.scenario import SimMarket


@dataclass(frozen=True, slots=True)
class ApiKey:
    """L2 credentials of one address."""

    key: str
    secret: str = field(repr=False)
    passphrase: str = field(repr=False)
    address: str = ""


@dataclass(slots=True)
class SimAccount:
    """pUSD and positions of one maker (funder) address."""

    address: str
    balance: Decimal
    positions: dict[str, Decimal] = field(default_factory=dict)
    cost: dict[str, Decimal] = field(default_factory=dict)
    reserved_usd: Decimal = Decimal(0)
    reserved_shares: dict[str, Decimal] = field(default_factory=dict)


@dataclass(slots=True)
class SimOrder:
    """An order the exchange accepted."""

    id: str
    owner: str
    address: str
    maker: str
    market: SimMarket
    token: str
    outcome: str
    side: str
    price: Decimal
    size: Decimal
    order_type: str
    created_at: int
    expiration: int
    post_only: bool = False
    amount: Decimal = Decimal(0)  # pUSD: a BUY's signed makerAmount, a SELL's takerAmount
    matched: Decimal = Decimal(0)
    status: str = "LIVE"
    trades: list[str] = field(default_factory=list)

    @property
    def remaining(self) -> Decimal:
        """Shares still unfilled."""
        return self.size - self.matched

    @property
    def open(self) -> bool:
        """Whether the order can still fill or be cancelled."""
        return self.status in ("LIVE", "DELAYED")


@dataclass(slots=True)
class SimFill:
    """One trade: a fill of one of our orders against one book level."""

    id: str
    order: SimOrder
    role: str
    size: Decimal
    price: Decimal
    fee: Decimal
    counter_order: str
    counter_address: str
    tx_hash: str
    match_time: int
    status: str = "MATCHED"
    last_update: int = 0
    fail: bool = False
    # A maker fill taken by a taker in the other outcome's token (a mint or a merge): the
    # trade's asset_id, side and price are the taker's.
    complement: bool = False
