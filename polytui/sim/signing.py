"""CLOB V2 signing, verified independently of the official client (PROTOCOL.md §2, §7).

The simulator checks what a live client sends the way the exchange does: L1 ``ClobAuth`` EIP-712
signatures, L2 HMAC headers, and EIP-712 order signatures (domain "Polymarket CTF Exchange",
version "2", chain 137, verifying contract = V2 exchange or V2 neg-risk exchange). Built on
``eth_account`` / ``eth_abi`` / ``eth_utils`` only, so a bug in the client's signer cannot hide
behind the same bug here.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from eth_abi import encode as abi_encode
from eth_utils import keccak, to_checksum_address

if TYPE_CHECKING:
    from eth_account.messages import SignableMessage

# eth_account is imported where a signature is recovered: importing it takes ~0.5 s, which
# the demo's start-up (this module loads with the simulator) should not pay.

CHAIN_ID = 137
EXCHANGE_V2 = "0xE111180000d2663C0091e4f400237545B87B996B"
NEG_RISK_EXCHANGE_V2 = "0xe2222d279d744050d28e00520010520000310F59"
NEG_RISK_ADAPTER = "0xd91E80cF2E7be2e162c6513ceD06f1dD0dA35296"
PUSD = "0xC011a7E12a19f7B1f670d46F03B03f3342E82DFB"

EXCHANGE_NAME = "Polymarket CTF Exchange"
EXCHANGE_VERSION = "2"
CLOB_AUTH_MESSAGE = "This message attests that I control the given wallet"

SIG_EOA, SIG_POLY_PROXY, SIG_POLY_GNOSIS_SAFE, SIG_POLY_1271 = 0, 1, 2, 3

DOMAIN_FIELDS = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]
ORDER_V2_FIELDS = [
    {"name": "salt", "type": "uint256"},
    {"name": "maker", "type": "address"},
    {"name": "signer", "type": "address"},
    {"name": "tokenId", "type": "uint256"},
    {"name": "makerAmount", "type": "uint256"},
    {"name": "takerAmount", "type": "uint256"},
    {"name": "side", "type": "uint8"},
    {"name": "signatureType", "type": "uint8"},
    {"name": "timestamp", "type": "uint256"},
    {"name": "metadata", "type": "bytes32"},
    {"name": "builder", "type": "bytes32"},
]
ORDER_V1_FIELDS = [
    {"name": "salt", "type": "uint256"},
    {"name": "maker", "type": "address"},
    {"name": "signer", "type": "address"},
    {"name": "taker", "type": "address"},
    {"name": "tokenId", "type": "uint256"},
    {"name": "makerAmount", "type": "uint256"},
    {"name": "takerAmount", "type": "uint256"},
    {"name": "expiration", "type": "uint256"},
    {"name": "nonce", "type": "uint256"},
    {"name": "feeRateBps", "type": "uint256"},
    {"name": "side", "type": "uint8"},
    {"name": "signatureType", "type": "uint8"},
]
ORDER_V2_TYPE = (
    "Order(uint256 salt,address maker,address signer,uint256 tokenId,uint256 makerAmount,"
    "uint256 takerAmount,uint8 side,uint8 signatureType,uint256 timestamp,bytes32 metadata,"
    "bytes32 builder)"
)
CLOB_AUTH_FIELDS = [
    {"name": "address", "type": "address"},
    {"name": "timestamp", "type": "string"},
    {"name": "nonce", "type": "uint256"},
    {"name": "message", "type": "string"},
]


def hmac_signature(secret: str, timestamp: str, method: str, path: str, body: str = "") -> str:
    """L2 ``POLY_SIGNATURE``: urlsafe-b64(HMAC-SHA256(b64decode(secret), ts+METHOD+path+body))."""
    key = base64.urlsafe_b64decode(secret)
    message = f"{timestamp}{method}{path}{body}"
    digest = hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii")


def signable_hash(message: SignableMessage) -> bytes:
    """The 32-byte EIP-712 digest ``keccak(0x19 ‖ 0x01 ‖ domainSeparator ‖ structHash)``."""
    return keccak(b"\x19" + message.version + message.header + message.body)


def clob_auth_typed_data(
    address: str, timestamp: str, nonce: int, chain_id: int = CHAIN_ID
) -> dict[str, Any]:
    """The L1 ``ClobAuth`` typed data (domain ``ClobAuthDomain`` v1, no verifying contract)."""
    return {
        "types": {"EIP712Domain": DOMAIN_FIELDS[:3], "ClobAuth": CLOB_AUTH_FIELDS},
        "domain": {"name": "ClobAuthDomain", "version": "1", "chainId": chain_id},
        "primaryType": "ClobAuth",
        "message": {
            "address": to_checksum_address(address),
            "timestamp": str(timestamp),
            "nonce": int(nonce),
            "message": CLOB_AUTH_MESSAGE,
        },
    }


def recover_clob_auth(
    address: str, timestamp: str, nonce: int, signature: str, chain_id: int = CHAIN_ID
) -> str:
    """Address that signed the L1 message (raises ValueError on a malformed signature)."""
    from eth_account import Account
    from eth_account.messages import encode_typed_data

    message = encode_typed_data(
        full_message=clob_auth_typed_data(address, timestamp, nonce, chain_id)
    )
    return str(Account.recover_message(message, signature=signature))


def _bytes32(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value.rjust(32, b"\0")
    text = str(value or "0x0").removeprefix("0x")
    raw = bytes.fromhex(text.zfill(64))
    if len(raw) != 32:
        raise ValueError("not a bytes32")
    return raw


@dataclass(frozen=True, slots=True)
class OrderV2:
    """The eleven signed fields of a CLOB V2 order, parsed from the wire (``order_to_json_v2``)."""

    salt: int
    maker: str
    signer: str
    token_id: int
    maker_amount: int
    taker_amount: int
    side: int
    signature_type: int
    timestamp: int
    metadata: bytes
    builder: bytes

    @classmethod
    def from_wire(cls, order: dict[str, Any]) -> OrderV2:
        """Parse the JSON ``order`` object (raises ValueError/KeyError/TypeError on bad input)."""
        side_raw = order["side"]
        if side_raw in ("BUY", 0, "0"):
            side = 0
        elif side_raw in ("SELL", 1, "1"):
            side = 1
        else:
            raise ValueError("bad side")
        values = [int(order[k]) for k in ("salt", "tokenId", "makerAmount", "takerAmount")]
        if min(values) < 0 or values[2] == 0 or values[3] == 0:
            raise ValueError("bad amount")
        signature_type = int(order.get("signatureType", 0))
        if signature_type not in (0, 1, 2, 3):
            raise ValueError("bad signature type")
        return cls(
            salt=values[0],
            maker=to_checksum_address(order["maker"]),
            signer=to_checksum_address(order.get("signer") or order["maker"]),
            token_id=values[1],
            maker_amount=values[2],
            taker_amount=values[3],
            side=side,
            signature_type=signature_type,
            timestamp=int(order["timestamp"]),
            metadata=_bytes32(order.get("metadata")),
            builder=_bytes32(order.get("builder")),
        )

    def message(self) -> dict[str, Any]:
        """The EIP-712 message values."""
        return {
            "salt": self.salt,
            "maker": self.maker,
            "signer": self.signer,
            "tokenId": self.token_id,
            "makerAmount": self.maker_amount,
            "takerAmount": self.taker_amount,
            "side": self.side,
            "signatureType": self.signature_type,
            "timestamp": self.timestamp,
            "metadata": self.metadata,
            "builder": self.builder,
        }

    def struct_hash(self) -> bytes:
        """``hashStruct(Order)`` for the V2 type."""
        return keccak(
            abi_encode(
                [
                    "bytes32",
                    "uint256",
                    "address",
                    "address",
                    "uint256",
                    "uint256",
                    "uint256",
                    "uint8",
                    "uint8",
                    "uint256",
                    "bytes32",
                    "bytes32",
                ],
                [
                    keccak(text=ORDER_V2_TYPE),
                    self.salt,
                    self.maker,
                    self.signer,
                    self.token_id,
                    self.maker_amount,
                    self.taker_amount,
                    self.side,
                    self.signature_type,
                    self.timestamp,
                    self.metadata,
                    self.builder,
                ],
            )
        )


def exchange_domain(
    exchange: str, chain_id: int = CHAIN_ID, version: str = EXCHANGE_VERSION
) -> dict[str, Any]:
    """The exchange's EIP-712 domain."""
    return {
        "name": EXCHANGE_NAME,
        "version": version,
        "chainId": chain_id,
        "verifyingContract": to_checksum_address(exchange),
    }


def domain_separator(domain: dict[str, Any]) -> bytes:
    """``hashStruct(EIP712Domain)`` for a four-field domain."""
    return keccak(
        abi_encode(
            ["bytes32", "bytes32", "bytes32", "uint256", "address"],
            [
                keccak(
                    text="EIP712Domain(string name,string version,uint256 chainId,"
                    "address verifyingContract)"
                ),
                keccak(text=domain["name"]),
                keccak(text=domain["version"]),
                int(domain["chainId"]),
                domain["verifyingContract"],
            ],
        )
    )


def order_v2_typed_data(order: OrderV2, domain: dict[str, Any]) -> dict[str, Any]:
    """Full EIP-712 typed data of a V2 order."""
    return {
        "types": {"EIP712Domain": DOMAIN_FIELDS, "Order": ORDER_V2_FIELDS},
        "domain": domain,
        "primaryType": "Order",
        "message": order.message(),
    }


def order_v1_typed_data(message: dict[str, Any], domain: dict[str, Any]) -> dict[str, Any]:
    """Full EIP-712 typed data of a V1 (12-field) order, for historical vectors."""
    return {
        "types": {"EIP712Domain": DOMAIN_FIELDS, "Order": ORDER_V1_FIELDS},
        "domain": domain,
        "primaryType": "Order",
        "message": message,
    }


def typed_data_hash(typed: dict[str, Any]) -> str:
    """0x-hex EIP-712 digest (the order hash the CLOB uses as ``orderID``)."""
    from eth_account.messages import encode_typed_data

    return "0x" + signable_hash(encode_typed_data(full_message=typed)).hex()


def recover_typed_data(typed: dict[str, Any], signature: str) -> str:
    """Checksummed address that produced ``signature`` over ``typed`` (ValueError if malformed)."""
    from eth_account import Account
    from eth_account.messages import encode_typed_data

    return str(Account.recover_message(encode_typed_data(full_message=typed), signature=signature))


def recover_poly1271(
    order: OrderV2, signature: str, domain: dict[str, Any], chain_id: int = CHAIN_ID
) -> str:
    """Owner EOA behind an ERC-7739-wrapped POLY_1271 signature (ValueError if inconsistent).

    Layout: ``sig65 ‖ appDomainSeparator ‖ contentsHash ‖ contentsType ‖ uint16 len``; the inner
    signature signs ``TypedDataSign(Order contents, …)`` under the deposit wallet's domain
    ("DepositWallet", "1", chain, verifyingContract = the wallet, salt 0).
    """
    from eth_account import Account

    raw = bytes.fromhex(signature.removeprefix("0x"))
    if len(raw) < 65 + 64 + 2:
        raise ValueError("short 1271 signature")
    type_len = int.from_bytes(raw[-2:], "big")
    contents_type = raw[-2 - type_len : -2].decode("utf-8")
    app_separator = raw[65:97]
    contents_hash = raw[97:129]
    if contents_type != ORDER_V2_TYPE or 129 + type_len + 2 != len(raw):
        raise ValueError("unexpected contents type")
    if app_separator != domain_separator(domain) or contents_hash != order.struct_hash():
        raise ValueError("wrapped order does not match")
    solady_type = (
        "TypedDataSign(Order contents,string name,string version,uint256 chainId,"
        "address verifyingContract,bytes32 salt)" + ORDER_V2_TYPE
    )
    sign_struct = keccak(
        abi_encode(
            ["bytes32", "bytes32", "bytes32", "bytes32", "uint256", "address", "bytes32"],
            [
                keccak(text=solady_type),
                contents_hash,
                keccak(text="DepositWallet"),
                keccak(text="1"),
                chain_id,
                order.signer,
                b"\0" * 32,
            ],
        )
    )
    digest = keccak(b"\x19\x01" + app_separator + sign_struct)
    return str(Account._recover_hash(digest, signature=raw[:65]))
