"""Language-model advisors: playbook explanations and a bounded second opinion, by consensus.

An optional layer on top of the whale profiles, never the thing that decides: an advisor's answer
is validated against a schema, journaled with its tokens and cost, and can move the strategy's
estimate by at most ``[advisors] max_shift``. The official SDKs (``anthropic``, ``openai``) are
the optional extra ``polytui[advisors]`` and are imported only when an advisor is built.
"""
