"""Money: pUSD balances, positions, reservations, and settlement MATCHED → MINED → CONFIRMED.

The only module that moves an account's balance or positions. A fill reserves funds when it
matches (so nothing can spend them twice), and only at MINED does the balance change; a failed
settlement releases the reservation and leaves balance and position untouched.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from decimal import Decimal
from typing import Any

from polytui.sim.exchange.auth import lower
from polytui.sim.exchange.records import SimAccount, SimFill, SimOrder
from polytui.sim.exchange.rules import usd_up
from polytui.sim.exchange.wire import dataapi_position
from polytui.sim.world import SimWorld

OnStatus = Callable[[SimFill, str], Awaitable[None]]


class Ledger:
    """Accounts by maker address, and how long settlement takes (sim seconds)."""

    def __init__(self, world: SimWorld) -> None:
        self.world = world
        self.default_balance = Decimal(1000)
        self.mined_after_s = 2.0
        self.confirmed_after_s = 4.0
        self.retry_after_s = 2.0
        self.accounts: dict[str, SimAccount] = {}
        # The CLOB's cached view of each account's approvals, which only
        # ``/balance-allowance/update`` refreshes from the chain (where everything is approved):
        # collateral is cached at an account's first sight and stays stale once made so (the
        # ``stale_allowance`` knob); a token's conditional approval is unknown — read as none —
        # until it is refreshed for that token ("refresh the conditional-token allowance for
        # each token before its first sell order", docs trading/deposit-wallets).
        self.stale_collateral: set[str] = set()
        self.conditional_synced: set[tuple[str, str]] = set()

    def account(self, address: str) -> SimAccount:
        """The account of a maker address (created with the default balance)."""
        key = lower(address)
        if key not in self.accounts:
            self.accounts[key] = SimAccount(key, self.default_balance)
        return self.accounts[key]

    def set_balance(self, address: str, usd: Decimal | str | int) -> None:
        """Set an address's pUSD balance."""
        self.account(address).balance = Decimal(str(usd))

    def seed_position(
        self, address: str, token_id: str, size: Decimal | str, avg_price: Decimal | str
    ) -> None:
        """Give an address a position the client never traded (start-up reconciliation)."""
        account = self.account(address)
        shares = Decimal(str(size))
        account.positions[token_id] = account.positions.get(token_id, Decimal(0)) + shares
        account.cost[token_id] = account.cost.get(token_id, Decimal(0)) + shares * Decimal(
            str(avg_price)
        )

    # --- the CLOB's cached allowances ---------------------------------------------------------

    def collateral_allowed(self, address: str) -> bool:
        """Whether the CLOB's cache shows the exchanges approved to spend this account's pUSD."""
        return lower(address) not in self.stale_collateral

    def conditional_allowed(self, address: str, token: str) -> bool:
        """Whether the CLOB's cache shows this account's shares of ``token`` approved."""
        return (lower(address), token) in self.conditional_synced

    def refresh_allowance(self, address: str, asset_type: str, token: str = "") -> None:
        """``/balance-allowance/update``: the cache reads the chain again."""
        if asset_type == "COLLATERAL":
            self.stale_collateral.discard(lower(address))
        elif token:
            self.conditional_synced.add((lower(address), token))

    def stale_allowance(self, address: str, token: str = "") -> None:
        """The cache forgets an approval (as for one made after the CLOB cached the account)."""
        if token:
            self.conditional_synced.discard((lower(address), token))
        else:
            self.stale_collateral.add(lower(address))

    # --- what is free ---------------------------------------------------------------------------

    def free_usd(self, account: SimAccount, orders: Iterable[SimOrder]) -> Decimal:
        """Balance less reservations and what resting BUY orders lock."""
        locked = sum(
            (
                usd_up(o.remaining * o.price)
                for o in orders
                if o.maker == account.address and o.side == "BUY" and o.open
            ),
            Decimal(0),
        )
        return account.balance - account.reserved_usd - locked

    def free_shares(self, account: SimAccount, token: str, orders: Iterable[SimOrder]) -> Decimal:
        """Shares held less reservations and what resting SELL orders lock."""
        locked = sum(
            (
                o.remaining
                for o in orders
                if o.maker == account.address and o.token == token and o.side == "SELL" and o.open
            ),
            Decimal(0),
        )
        held = account.positions.get(token, Decimal(0))
        return held - account.reserved_shares.get(token, Decimal(0)) - locked

    # --- settlement -----------------------------------------------------------------------------

    def reserve(self, fill: SimFill) -> None:
        """At MATCHED: hold the fill's pUSD (BUY, with its fee) or shares (SELL)."""
        self._reserve(fill, 1)

    def release(self, fill: SimFill) -> None:
        """At MINED or FAILED: drop the hold."""
        self._reserve(fill, -1)

    def _reserve(self, fill: SimFill, sign: int) -> None:
        account = self.account(fill.order.maker)
        if fill.order.side == "BUY":
            account.reserved_usd += sign * (usd_up(fill.size * fill.price) + fill.fee)
        else:
            token = fill.order.token
            held = account.reserved_shares.get(token, Decimal(0))
            account.reserved_shares[token] = held + sign * fill.size

    def transfer(self, fill: SimFill) -> None:
        """At MINED: move pUSD and shares (the only place a balance or position changes)."""
        account = self.account(fill.order.maker)
        token = fill.order.token
        held = account.positions.get(token, Decimal(0))
        cost = account.cost.get(token, Decimal(0))
        notional = usd_up(fill.size * fill.price)
        if fill.order.side == "BUY":
            account.balance -= notional + fill.fee
            account.positions[token] = held + fill.size
            account.cost[token] = cost + notional
        else:
            account.balance += notional - fill.fee
            account.positions[token] = held - fill.size
            account.cost[token] = cost - (cost * fill.size / held if held else Decimal(0))

    async def settle(self, fill: SimFill, on_status: OnStatus) -> None:
        """Walk one fill through settlement in sim time, reporting each status."""
        sleep = self.world.sleep
        if fill.fail:
            await sleep(self.retry_after_s)
            await on_status(fill, "RETRYING")
            await sleep(self.retry_after_s)
            self.release(fill)
            await on_status(fill, "FAILED")
            return
        await sleep(self.mined_after_s)
        self.release(fill)
        self.transfer(fill)
        await on_status(fill, "MINED")
        await sleep(max(0.0, self.confirmed_after_s - self.mined_after_s))
        await on_status(fill, "CONFIRMED")

    # --- data-api -------------------------------------------------------------------------------

    def positions(self, user: str) -> list[dict[str, Any]]:
        """data-api ``/positions`` rows of ``user`` (JSON numbers on the wire; Decimal here)."""
        account = self.accounts.get(lower(user))
        if account is None:
            return []
        t = self.world.now()
        return [
            dataapi_position(self.world, account, token, size, t)
            for token, size in sorted(account.positions.items())
            if size > 0
        ]
