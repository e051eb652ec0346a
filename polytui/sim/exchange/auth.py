"""Who may do what: L1 (EIP-712 ClobAuth) and L2 (HMAC) checks, API keys, order signatures, funders.

State: the keys handed out, the (address, nonce) pairs that already created one, and which
signer EOA each proxy / safe / deposit wallet (funder) is bound to.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import uuid
from typing import Any

from aiohttp import web
from eth_utils import to_checksum_address

from polytui.sim.exchange.records import ApiKey
from polytui.sim.exchange.rules import ApiError
from polytui.sim.signing import (
    CHAIN_ID,
    EXCHANGE_V2,
    SIG_EOA,
    SIG_POLY_1271,
    OrderV2,
    exchange_domain,
    hmac_signature,
    order_v2_typed_data,
    recover_clob_auth,
    recover_poly1271,
    recover_typed_data,
    typed_data_hash,
)

AUTH_WINDOW_S = 60
SIGNER_NOT_KEY = "the order signer address has to be the address of the API KEY"


def lower(address: str) -> str:
    """Addresses compare case-insensitively."""
    return address.lower()


class Auth:
    """API keys (deterministic per seed, address and nonce) and the funder bindings."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.chain_id = CHAIN_ID
        self.strict_funders = False
        self.keys: dict[str, ApiKey] = {}
        self.created: set[tuple[str, int]] = set()
        self.funders: dict[str, str] = {}

    def api_key(self, address: str, nonce: int = 0) -> ApiKey:
        """Deterministic L2 credentials of (seed, address, nonce)."""
        digest = hashlib.sha256(f"polytui-sim:{self.seed}:{lower(address)}:{nonce}".encode())
        raw = digest.digest()
        secret_raw = hashlib.sha256(raw + b"secret").digest()
        creds = ApiKey(
            key=str(uuid.UUID(bytes=raw[:16], version=4)),
            secret=base64.urlsafe_b64encode(secret_raw).decode("ascii"),
            passphrase=hashlib.sha256(raw + b"passphrase").hexdigest(),
            address=to_checksum_address(address),
        )
        self.keys[creds.key] = creds
        return creds

    def create_key(self, address: str, nonce: int) -> ApiKey:
        """``POST /auth/api-key``: once per (address, nonce)."""
        if (lower(address), nonce) in self.created:
            raise ApiError(400, "Could not create api key")
        return self.derive_key(address, nonce)

    def derive_key(self, address: str, nonce: int) -> ApiKey:
        """``GET /auth/derive-api-key``: always works."""
        self.created.add((lower(address), nonce))
        return self.api_key(address, nonce)

    def link_wallet(self, signer: str, funder: str) -> None:
        """Bind a proxy / safe / deposit wallet (maker) to its signer EOA."""
        self.funders[lower(funder)] = lower(signer)

    def maker_for(self, creds: ApiKey, signature_type: int) -> str:
        """The address whose balance a key sees for a signature type (its funder, if bound)."""
        if signature_type == SIG_EOA:
            return creds.address
        for funder, signer in self.funders.items():
            if signer == lower(creds.address):
                return funder
        return creds.address

    # --- request checks -------------------------------------------------------------------------

    def l1(self, request: web.Request) -> tuple[str, int]:
        """The (address, nonce) of a valid L1 request."""
        h = request.headers
        try:
            address = h["POLY_ADDRESS"]
            timestamp = h["POLY_TIMESTAMP"]
            nonce = int(h.get("POLY_NONCE", "0"))
            if abs(time.time() - int(timestamp)) > AUTH_WINDOW_S:
                raise ValueError("stale")
            signer = recover_clob_auth(
                address, timestamp, nonce, h["POLY_SIGNATURE"], self.chain_id
            )
        except (KeyError, ValueError, TypeError):
            raise ApiError(401, "Invalid L1 Request headers") from None
        if lower(signer) != lower(address):
            raise ApiError(401, "Invalid L1 Request headers")
        return address, nonce

    def l2(self, request: web.Request, body: str) -> ApiKey:
        """The key of a valid L2 request (HMAC over the path without ``/clob``)."""
        h = request.headers
        denied = ApiError(401, "Unauthorized/Invalid api key")
        creds = self.keys.get(h.get("POLY_API_KEY", ""))
        timestamp = h.get("POLY_TIMESTAMP", "")
        if creds is None or not timestamp.isdigit():
            raise denied
        if abs(time.time() - int(timestamp)) > AUTH_WINDOW_S:
            raise denied
        if h.get("POLY_PASSPHRASE") != creds.passphrase:
            raise denied
        if lower(h.get("POLY_ADDRESS", "")) != lower(creds.address):
            raise denied
        path = request.path.removeprefix("/clob")
        expected = hmac_signature(creds.secret, timestamp, request.method, path, body)
        if not _same_b64(h.get("POLY_SIGNATURE", ""), expected):
            raise denied
        return creds

    def ws(self, auth: Any) -> ApiKey | None:
        """The key of a user-channel ``auth`` object, or None."""
        if not isinstance(auth, dict):
            return None
        creds = self.keys.get(str(auth.get("apiKey", "")))
        if creds is None:
            return None
        if auth.get("secret") != creds.secret or auth.get("passphrase") != creds.passphrase:
            return None
        return creds

    # --- order signatures -----------------------------------------------------------------------

    def verify(self, creds: ApiKey, payload: dict[str, Any]) -> tuple[OrderV2, str]:
        """The signed V2 order of a ``POST /order`` body and its EIP-712 hash (the order id)."""
        wire = payload.get("order")
        if not isinstance(wire, dict):
            raise ApiError(400, "Invalid order payload")
        if "timestamp" not in wire or any(k in wire for k in ("nonce", "feeRateBps", "taker")):
            raise ApiError(400, "order_version_mismatch")
        try:
            order = OrderV2.from_wire(wire)
            signature = str(wire["signature"])
        except (KeyError, ValueError, TypeError):
            raise ApiError(400, "Invalid order payload") from None
        if payload.get("owner") != creds.key:
            raise ApiError(400, "the order owner has to be the owner of the API KEY")
        domain = exchange_domain(EXCHANGE_V2, self.chain_id)
        typed = order_v2_typed_data(order, domain)
        order_id = typed_data_hash(typed)
        if order.signature_type == SIG_POLY_1271:
            self._verify_1271(creds, order, signature, domain)
        else:
            self._verify_ecdsa(creds, order, signature, typed)
        return order, order_id

    def _verify_1271(
        self, creds: ApiKey, order: OrderV2, signature: str, domain: dict[str, Any]
    ) -> None:
        invalid = ApiError(400, "invalid signature")
        if lower(order.maker) != lower(order.signer):
            raise invalid
        try:
            owner = recover_poly1271(order, signature, domain, self.chain_id)
        except (ValueError, TypeError):
            raise invalid from None
        if lower(owner) != lower(creds.address):
            raise ApiError(400, SIGNER_NOT_KEY)
        self._bind(order.maker, owner, invalid)

    def _verify_ecdsa(
        self, creds: ApiKey, order: OrderV2, signature: str, typed: dict[str, Any]
    ) -> None:
        invalid = ApiError(400, "invalid signature")
        if lower(order.signer) != lower(creds.address):
            raise ApiError(400, SIGNER_NOT_KEY)
        try:
            recovered = recover_typed_data(typed, signature)
        except (ValueError, TypeError):
            raise invalid from None
        if lower(recovered) != lower(order.signer):
            raise invalid
        if order.signature_type == SIG_EOA:
            if lower(order.maker) != lower(order.signer):
                raise invalid
        else:
            self._bind(order.maker, order.signer, invalid)

    def _bind(self, funder: str, signer: str, error: ApiError) -> None:
        bound = self.funders.get(lower(funder))
        if bound is None and not self.strict_funders:
            self.funders[lower(funder)] = lower(signer)
            return
        if bound != lower(signer):
            raise error


def _same_b64(given: str, expected: str) -> bool:
    normalized = given.replace("+", "-").replace("/", "_")
    return hmac.compare_digest(normalized.encode(), expected.encode())
