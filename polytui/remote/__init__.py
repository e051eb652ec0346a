"""Away from the terminal: the Telegram bot, the Prometheus endpoint and ``polytui serve``.

Everything here reaches the engine through ``polytui.api.EngineAPI`` only (snapshot, subscribe,
command), as the control socket does; nothing here decides a trade.
"""
