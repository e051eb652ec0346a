"""The live broker: CLOB V2 orders, signed by the official client, followed to settlement.

Same interface as the paper broker (``execute`` → ``ExecutionReport``, ``cancel_all``), plus a
start-up step (``start``) and a user-channel feed (``feed``) the engine runs like any other.

How an order goes out (PROTOCOL.md §2, §7):

1. Checks first, against the market's own rules: open and accepting, not a Protocol V2
   market (Gamma ``version: "v2"``, ExchangeV3), limit price rounded to the tick (down for
   buys, up for sells), shares down to 2 decimals, the market minimum size for orders that
   may rest, and for a marketable (FAK/FOK) buy only its signed pUSD, at least 1. Amounts
   are computed here in Decimal and passed to the signer as integer micro-units, following
   the official client's rounding (limit orders: shares × price; FAK/FOK buys: pUSD to 2
   decimals), so no binary float touches an amount.
2. The order is built and EIP-712 signed by py-clob-client-v2's ``ExchangeOrderBuilderV2``
   (domain "Polymarket CTF Exchange" version "2", the neg-risk exchange for neg-risk markets) in
   a worker thread; its hash is the CLOB's order id, so the id is known *before* the POST. A
   ``clob`` journal record (hash, salt, amounts) is committed before the order leaves. A deposit
   wallet (POLY_1271) is maker and signer; the client wraps the key's signature for it. Before
   a token's first sell the CLOB's cached allowance for it is refreshed; an exit refused ``not
   enough balance / allowance`` is refreshed and sent once more.
3. The POST goes out on an async httpx client with L2 headers from the official
   ``create_level_2_headers`` (HMAC over the exact body sent). Not through the client's own
   ``post_order``: that one is blocking, may retry a failed POST by itself, and after a match
   polls trades for up to 30 s. Here each call has its own timeout, can be cancelled, and a
   timeout is told apart from a refused connection.
4. **A timed-out POST is never sent again.** The broker asks the CLOB what it has: the order by
   hash, open orders in the token (by hash, or by side/size/price/time when the hash is
   unknown), and recent trades naming the order. Found → followed as if the POST had answered.
   Not found after a few looks → reported as not placed, and still watched: a late fill is
   applied when it shows up.
5. The user channel (``/ws/user``, L2 credentials) reports each trade MATCHED → MINED →
   CONFIRMED, or RETRYING → FAILED. Every change is journaled as an order status. **A fill
   reaches the portfolio only at CONFIRMED** (matched is not settled; a MINED trade can still
   be reorged into RETRYING); FAILED leaves the position unchanged. While the feed is down the
   broker polls ``/data/trades?market=<condition id>`` instead.

Start-up (``start``): server clock skew (``/time``), pUSD balance and allowances
(``/balance-allowance``, after ``/balance-allowance/update``), then open orders
(``/data/orders``) and positions (data-api ``/positions``) compared with the journal;
differences are reported, never silently fixed. Orders are refused until these checks pass;
from then until ``close`` a heartbeat goes out every ``live.heartbeat_s``, so the CLOB cancels
every open order of the account about 10 s after polytui dies.

Secrets come from environment variables named in ``[live]``, are registered with the log
redaction, and never appear in a message, record or exception raised here.
"""

from polytui.execution.live.broker import LiveBroker
from polytui.execution.live.credentials import (
    CONFIRM_WORD,
    SIGNATURE_TYPES,
    LiveCredentials,
    confirm_live,
)
from polytui.execution.live.errors import LiveError, short
from polytui.execution.live.signer import order_amounts
from polytui.execution.live.startup import StartReport
from polytui.feeds.user import UserChannel

__all__ = [
    "CONFIRM_WORD",
    "SIGNATURE_TYPES",
    "LiveBroker",
    "LiveCredentials",
    "LiveError",
    "StartReport",
    "UserChannel",
    "confirm_live",
    "order_amounts",
    "short",
]
