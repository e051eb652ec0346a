"""Feed adapters: one wire protocol in, domain objects out."""
