"""Money after payment (CONTRACT §13): fees and the ledger, balances, payouts, disputes.

Submodules are imported by name (`from resolvers.money import payouts`): the payment engine
imports `ledger`, and `disputes` imports the engine, so this package imports nothing itself.
"""
