"""Keeping the CLOB's cached balances and allowances fresh (``GET /balance-allowance/update``).

The CLOB checks an order against its own cache of the account's balance and approvals, not the
chain. The docs (trading/deposit-wallets, trading/wallets-auth "Sync CLOB Allowances"): call the
update endpoint after funding or changing allowances, and "refresh the conditional-token
allowance for each token before its first sell order". So the broker refreshes collateral at
start-up, a token's conditional allowance before its first sell of the session, and once more
when an exit is refused ``not enough balance / allowance`` (then retries that exit once).

A failed refresh is logged and never blocks: the read that follows, or the CLOB's own answer to
the order, says what is wrong.
"""

from __future__ import annotations

import logging

import httpx

from polytui.execution.live.clob_rest import BALANCE_ALLOWANCE_UPDATE, ClobRest, error_of
from polytui.execution.live.errors import LiveError, plain_error

log = logging.getLogger(__name__)

# The CLOB's refusal when its cached balance or allowance does not cover an order.
NOT_ENOUGH = "not enough balance / allowance"


def allowance_refusal(reason: str) -> bool:
    """Whether a refusal is the CLOB's balance / allowance one (a refresh may cure it)."""
    return NOT_ENOUGH in reason.lower()


class AllowanceSync:
    """``/balance-allowance/update`` calls, and the tokens already refreshed this session."""

    def __init__(self, clob: ClobRest, timeout_s: float) -> None:
        self.clob = clob
        self.timeout_s = timeout_s
        self.tokens: set[str] = set()

    async def refresh(self, asset_type: str, token_id: str = "") -> bool:
        """Ask the CLOB to read the chain again; True when it answered 200."""
        params: dict[str, str | int] = {
            "asset_type": asset_type,
            "signature_type": self.clob.signer.signature_type,
        }
        if token_id:
            params["token_id"] = token_id
        try:
            response = await self.clob.request(
                "GET", BALANCE_ALLOWANCE_UPDATE, params=params, timeout=self.timeout_s
            )
        except (httpx.HTTPError, LiveError) as exc:
            log.warning("balance-allowance update (%s) failed: %s", asset_type, plain_error(exc))
            return False
        if response.status_code != 200:
            log.warning(
                "balance-allowance update (%s) answered HTTP %d: %s",
                asset_type,
                response.status_code,
                error_of(response),
            )
            return False
        if token_id:
            self.tokens.add(token_id)
        return True

    async def before_sell(self, token_id: str) -> None:
        """The token's conditional allowance, refreshed before its first sell of the session."""
        if token_id not in self.tokens:
            await self.refresh("CONDITIONAL", token_id)
