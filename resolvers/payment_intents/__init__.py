"""Payment intents (CONTRACT §6): the operations GraphQL, the checkout and the worker call.

- `decisions`: the state machine, pure functions of (intent, moment) -> Change;
- `engine`: applies a decision atomically with its events;
- `reads`, `create`, `operations` (confirm, capture, void, cancel, refund), `sweeps`.
"""

from resolvers.payment_intents.create import NewIntent, create
from resolvers.payment_intents.operations import (
    CardInput,
    cancel,
    capture,
    confirm,
    refund,
    void,
)
from resolvers.payment_intents.reads import (
    checkout_session,
    checkout_url,
    find_for,
    list_intents,
    refunds_of,
    visible_intent,
)
from resolvers.payment_intents.sweeps import expire_due, void_lapsed_authorizations

__all__ = [
    "CardInput", "NewIntent", "cancel", "capture", "checkout_session", "checkout_url",
    "confirm", "create", "expire_due", "find_for", "list_intents", "refund", "refunds_of",
    "visible_intent", "void", "void_lapsed_authorizations",
]
