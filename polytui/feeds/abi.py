"""Exchange event signatures and topics (CLOB V2 since 2026-04-28; V1 kept for history).

From the official exchange ABIs (PROTOCOL.md §5); the tests re-derive each topic with keccak-256.
"""

from __future__ import annotations

ORDER_FILLED_V2_SIGNATURE = (
    "OrderFilled(bytes32,address,address,uint8,uint256,uint256,uint256,uint256,bytes32,bytes32)"
)
ORDER_FILLED_V1_SIGNATURE = (
    "OrderFilled(bytes32,address,address,uint256,uint256,uint256,uint256,uint256)"
)
ORDER_FILLED_V2 = "0xd543adfd945773f1a62f74f0ee55a5e3b9b1a28262980ba90b1a89f2ea84d8ee"
ORDER_FILLED_V1 = "0xd0a08e8c493f9c94f29311604c9de1b4e8c8d4c06bd0c789af57f2d65bfec0f6"

# Non-indexed fields, in order: what the log's data holds.
ORDER_FILLED_V2_DATA = ["uint8", "uint256", "uint256", "uint256", "uint256", "bytes32", "bytes32"]
ORDER_FILLED_V1_DATA = ["uint256", "uint256", "uint256", "uint256", "uint256"]
