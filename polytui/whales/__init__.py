"""Whale intelligence: wallet histories turned into profiles, playbooks and copyability.

``model`` holds the frozen history types the data-api adapter (``polytui.feeds.history``)
parses into; ``profile``, ``stats``, ``playbooks`` and ``copyability`` are pure arithmetic over
them; ``store`` keeps profiles and resumable cursors in the journal; ``refresh`` wires the
adapter to the store; ``watchlist`` and ``commands`` are the ``polytui whales`` edges.
"""
