"""A real EVM node for chain-feed tests: anvil on a free loopback port, plus a LOG4 emitter.

The emitter's runtime copies calldata after the first four words into memory and emits it with
those four words as topics (``LOG4``), so a test can produce the exact bytes of a V2
``OrderFilled`` log from a real node: calldata = topic0 ‖ topic1 ‖ topic2 ‖ topic3 ‖ data.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import httpx

from tests.conftest import ANVIL

EMITTER_DEPLOY = "0x601b80600b6000396000f360803603806080600037606035604035602035600035846000a400"
V2_TOPIC = "0xd543adfd945773f1a62f74f0ee55a5e3b9b1a28262980ba90b1a89f2ea84d8ee"
V1_TOPIC = "0xd0a08e8c493f9c94f29311604c9de1b4e8c8d4c06bd0c789af57f2d65bfec0f6"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def word(value: int) -> str:
    return f"{value:064x}"


def addr_word(address: str) -> str:
    return address.lower().removeprefix("0x").rjust(64, "0")


class Anvil:
    """A running anvil node and a deployed emitter."""

    def __init__(self, port: int, proc: subprocess.Popen[bytes], *, deploy: bool = True) -> None:
        self.port = port
        self.proc = proc
        self.http_url = f"http://127.0.0.1:{port}"
        self.ws_url = f"ws://127.0.0.1:{port}"
        self._id = 0
        self.account = self.rpc("eth_accounts")[0]
        # Under --no-mining nothing is mined until asked: the emitter is not deployed then.
        self.emitter = self._deploy() if deploy else ""

    def rpc(self, method: str, *params: Any) -> Any:
        self._id += 1
        body = {"jsonrpc": "2.0", "id": self._id, "method": method, "params": list(params)}
        reply = httpx.post(self.http_url, json=body, timeout=10).json()
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply["result"]

    def _deploy(self) -> str:
        tx = self.rpc("eth_sendTransaction", {"from": self.account, "data": EMITTER_DEPLOY})
        receipt = self.rpc("eth_getTransactionReceipt", tx)
        return str(receipt["contractAddress"]).lower()

    def emit(self, topics: list[str], data_words: list[str]) -> str:
        """Send one LOG4 through the emitter; returns the tx hash (mined by automine)."""
        calldata = "0x" + "".join(t.removeprefix("0x") for t in topics) + "".join(data_words)
        return str(
            self.rpc(
                "eth_sendTransaction",
                {"from": self.account, "to": self.emitter, "data": calldata, "gas": "0x100000"},
            )
        )

    def order_filled_v2(
        self,
        *,
        maker: str,
        taker: str,
        side: int,
        token: int,
        maker_amount: int,
        taker_amount: int,
        fee: int = 0,
        order_hash: int = 1,
    ) -> str:
        """Emit the exact V2 OrderFilled event."""
        topics = [
            "0x" + word(int(V2_TOPIC, 16)),
            "0x" + word(order_hash),
            "0x" + addr_word(maker),
            "0x" + addr_word(taker),
        ]
        data = [
            word(side),
            word(token),
            word(maker_amount),
            word(taker_amount),
            word(fee),
            word(0),
            word(0),
        ]
        return self.emit(topics, data)

    def order_filled_v1(
        self,
        *,
        maker: str,
        taker: str,
        maker_asset: int,
        taker_asset: int,
        maker_amount: int,
        taker_amount: int,
        fee: int = 0,
        order_hash: int = 1,
    ) -> str:
        """Emit the exact V1 OrderFilled event."""
        topics = [
            "0x" + word(int(V1_TOPIC, 16)),
            "0x" + word(order_hash),
            "0x" + addr_word(maker),
            "0x" + addr_word(taker),
        ]
        data = [
            word(maker_asset),
            word(taker_asset),
            word(maker_amount),
            word(taker_amount),
            word(fee),
        ]
        return self.emit(topics, data)


async def fill_v2(node: Anvil, maker: str, token: int) -> str:
    """A V2 BUY fill of ``maker`` (1 USD for 2 shares of ``token``), off the event loop."""
    return await asyncio.to_thread(
        node.order_filled_v2,
        maker=maker,
        taker=node.emitter,
        side=0,
        token=token,
        maker_amount=1_000_000,
        taker_amount=2_000_000,
    )


@contextlib.contextmanager
def running_anvil(*, no_mining: bool = False) -> Iterator[Anvil]:
    """Start anvil, wait until it answers, yield it, stop it.

    ``no_mining``: transactions wait in the pool (visible to pending-transaction subscriptions)
    until ``evm_mine``; no emitter is deployed.
    """
    if not ANVIL.exists():
        raise FileNotFoundError(f"anvil is not installed at {ANVIL}; run `make test` to install it")
    port = free_port()
    proc = subprocess.Popen(
        [str(ANVIL), "--host", "127.0.0.1", "--port", str(port), "--silent"]
        + (["--no-mining"] if no_mining else []),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.post(
                    f"http://127.0.0.1:{port}",
                    json={"jsonrpc": "2.0", "id": 0, "method": "eth_chainId", "params": []},
                    timeout=1,
                )
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("anvil did not start") from None
                time.sleep(0.1)
        yield Anvil(port, proc, deploy=not no_mining)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
