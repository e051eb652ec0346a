"""Test-side ``matchOrders`` calldata, encoded with eth_abi from the official exchange ABI.

The types come from ``shared/polymarket/samples/abi_exchange_v2.json`` (never from the code
under test), so a wrong type list in :mod:`polytui.feeds.matchorders` fails the decode. Also a
runtime that emits fixed logs, to put at the exchange address with ``anvil_setCode``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.conftest import load_sample

V2_TOPIC = "0xd543adfd945773f1a62f74f0ee55a5e3b9b1a28262980ba90b1a89f2ea84d8ee"
REVERT_RUNTIME = "0x60006000fd"  # PUSH1 0 PUSH1 0 REVERT


def _canonical(param: dict[str, Any]) -> str:
    kind = str(param["type"])
    if kind.startswith("tuple"):
        inner = ",".join(_canonical(c) for c in param["components"])
        return f"({inner}){kind[len('tuple') :]}"
    return kind


def official_inputs() -> list[dict[str, Any]]:
    """The ``matchOrders`` inputs of the official V2 exchange ABI."""
    abi = load_sample("abi_exchange_v2.json")
    entry = next(e for e in abi if e.get("type") == "function" and e["name"] == "matchOrders")
    return list(entry["inputs"])


def official_types() -> list[str]:
    """The canonical ABI types of those inputs."""
    return [_canonical(p) for p in official_inputs()]


def selector() -> bytes:
    from eth_utils import keccak

    return keccak(text=f"matchOrders({','.join(official_types())})")[:4]


@dataclass(frozen=True)
class Order:
    """An Order struct's fields (the signature is opaque bytes here)."""

    maker: str
    token_id: int
    maker_amount: int
    taker_amount: int
    side: int  # 0 BUY, 1 SELL
    timestamp_ms: int = 0
    salt: int = 1
    signature_type: int = 0
    signature: bytes = b"\x11" * 65

    def as_tuple(self) -> tuple[Any, ...]:
        return (
            self.salt,
            self.maker,
            self.maker,  # signer = maker (an EOA order)
            self.token_id,
            self.maker_amount,
            self.taker_amount,
            self.side,
            self.signature_type,
            self.timestamp_ms,
            b"\x00" * 32,
            b"\x00" * 32,
            self.signature,
        )


def calldata(
    taker: Order,
    makers: list[Order],
    taker_fill: int,
    maker_fills: list[int],
    *,
    condition_id: bytes = b"\xc0" * 32,
    taker_fee: int = 0,
    maker_fees: list[int] | None = None,
) -> str:
    """``matchOrders`` calldata (selector included) as hex."""
    from eth_abi import encode

    values = [
        condition_id,
        taker.as_tuple(),
        [m.as_tuple() for m in makers],
        taker_fill,
        maker_fills,
        taker_fee,
        maker_fees if maker_fees is not None else [0] * len(makers),
    ]
    return "0x" + (selector() + encode(official_types(), values)).hex()


def _push32(value: int) -> str:
    return "7f" + f"{value:064x}"


def log_emitter_runtime(logs: list[tuple[list[int], list[int]]]) -> str:
    """Runtime code that emits each (topics[4], data words) as a LOG4, whatever the calldata."""
    code = ""
    for topics, words in logs:
        for i, value in enumerate(words):
            code += _push32(value) + "60" + f"{32 * i:02x}" + "52"  # PUSH32 w PUSH1 off MSTORE
        for topic in reversed(topics):
            code += _push32(topic)
        code += "60" + f"{32 * len(words):02x}" + "6000" + "a4"  # PUSH1 size PUSH1 0 LOG4
    return "0x" + code + "00"


def order_filled_v2(
    *, maker: str, taker: str, side: int, token: int, maker_filled: int, taker_filled: int
) -> tuple[list[int], list[int]]:
    """The topics and data words of one V2 ``OrderFilled``."""
    topics = [int(V2_TOPIC, 16), 0xA11CE, int(maker, 16), int(taker, 16)]
    return topics, [side, token, maker_filled, taker_filled, 0, 0, 0]
