"""The simulator's mempool: each whale fill's ``matchOrders`` transaction, pending before mined.

The operator's settlement transaction is seen pending ``PENDING_DELAY_S`` after the match (the
third-party median, HISTORY-MEMPOOL-REMOTE.md §2.2) and mined with the fill's ``OrderFilled``
log at ``CHAIN_DELAY_S``. The calldata is ABI-encoded with eth_abi from the exchange's own
function layout (written here, not borrowed from the console's decoder). A fault turns the next
transactions into ones that are never mined (dropped from the pool): their logs never come.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from polytui.sim.scenario import SimTrade
from polytui.sim.wire import stable_hash

PENDING_DELAY_S = 0.65
# matchOrders(bytes32,Order,Order[],uint256,uint256[],uint256,uint256[]), Order = (salt, maker,
# signer, tokenId, makerAmount, takerAmount, side, signatureType, timestamp, metadata, builder,
# signature) — CTF Exchange V2.
_ORDER = (
    "(uint256,address,address,uint256,uint256,uint256,uint8,uint8,uint256,bytes32,bytes32,bytes)"
)
_TYPES = ["bytes32", _ORDER, _ORDER + "[]", "uint256", "uint256[]", "uint256", "uint256[]"]
_SELECTOR = bytes.fromhex("3c2b4399")
OPERATORS = 4
MICRO = Decimal("0.000001")


def _address(*parts: object) -> str:
    return "0x" + f"{stable_hash(*parts):016x}".rjust(40, "0")[-40:]


def _amounts(trade: SimTrade) -> tuple[int, int]:
    """(pUSD, shares) of the fill in 6-decimal units, as the OrderFilled log has them."""
    shares = int(trade.shares * 1_000_000)
    collateral = int((trade.shares * trade.price).quantize(MICRO) * 1_000_000)
    return collateral, shares


def match_orders_calldata(trade: SimTrade, condition_id: str, stamp_ms: int) -> str:
    """The whale's order taking a counterparty's resting order, both filled in full."""
    from eth_abi import encode

    collateral, shares = _amounts(trade)
    buy = trade.side == "BUY"
    side = 0 if buy else 1
    give, get = (collateral, shares) if buy else (shares, collateral)
    counterparty = _address("maker", trade.tx_hash)
    signature = stable_hash("sig", trade.tx_hash).to_bytes(8, "big") * 8 + b"\x1b"
    taker = (stable_hash("salt", trade.tx_hash), trade.wallet, trade.wallet, int(trade.token_id),
             give, get, side, 0, stamp_ms, b"\x00" * 32, b"\x00" * 32, signature)  # fmt: skip
    maker = (stable_hash("salt-m", trade.tx_hash), counterparty, counterparty,
             int(trade.token_id), get, give, 1 - side, 0, stamp_ms - 30_000, b"\x00" * 32,
             b"\x00" * 32, signature)  # fmt: skip
    condition = bytes.fromhex(condition_id.removeprefix("0x").rjust(64, "0")[-64:])
    values = [condition, taker, [maker], give, [get], 0, [0]]
    return "0x" + (_SELECTOR + encode(_TYPES, values)).hex()


class Mempool:
    """Which settlement transactions were sent pending, which will never be mined, and the
    node's view of them (``eth_getTransactionByHash`` / receipt / count)."""

    def __init__(self, exchange: str) -> None:
        self.exchange = exchange
        self.sent = 0  # scenario trades already announced pending
        self.txs: dict[str, dict[str, Any]] = {}
        self.dropped: set[str] = set()
        self.drop_next = 0
        self._nonces: dict[str, int] = {}

    def transaction(self, trade: SimTrade, condition_id: str, stamp_ms: int) -> dict[str, Any]:
        """The full pending transaction object of one fill (and remember it)."""
        dropped = self.drop_next > 0
        if dropped:
            self.drop_next -= 1
            self.dropped.add(trade.tx_hash)
        # A transaction that is never mined comes from a sender of its own, so its nonce is
        # never used by a later one (which would read as a replacement).
        sender = _address("stuck", trade.tx_hash) if dropped else _address("op", trade.block % 4)
        nonce = self._nonces.get(sender, 0)
        self._nonces[sender] = nonce + 1
        tx = {
            "hash": trade.tx_hash,
            "from": sender,
            "to": self.exchange,
            "input": match_orders_calldata(trade, condition_id, stamp_ms),
            "nonce": hex(nonce),
            "gas": hex(600_000),
            "gasPrice": hex(30_000_000_000),
            "value": "0x0",
            "type": "0x0",
            "chainId": "0x89",
            "blockHash": None,
            "blockNumber": None,
            "transactionIndex": None,
        }
        self.txs[trade.tx_hash] = tx
        return tx

    def mined_count(self, sender: str, mined: set[str]) -> int:
        """``eth_getTransactionCount(sender, "latest")``: its transactions already mined."""
        sender = sender.lower()
        return sum(1 for h, tx in self.txs.items() if tx["from"] == sender and h in mined)

    def by_hash(self, tx_hash: str, mined: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
        """The transaction as the node has it: pending, mined (with its block) or unknown."""
        tx = self.txs.get(tx_hash)
        if tx is None or tx_hash in self.dropped:
            return None
        entry = mined.get(tx_hash)
        if entry is None:
            return tx
        return dict(tx, blockNumber=entry["blockNumber"], blockHash=entry["blockHash"],
                    transactionIndex="0x0")  # fmt: skip

    @staticmethod
    def receipt(tx_hash: str, mined: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
        """A mined transaction's receipt (status 1, its log), None while pending or unknown."""
        entry = mined.get(tx_hash)
        if entry is None:
            return None
        return {
            "transactionHash": tx_hash,
            "status": "0x1",
            "blockNumber": entry["blockNumber"],
            "blockHash": entry["blockHash"],
            "transactionIndex": "0x0",
            "logs": [entry],
        }
