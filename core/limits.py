"""How many of each thing there may be (CONTRACT §12.7). The resolvers refuse the one over
the cap, and the query cost counts each list at its cap: one number for both."""

from __future__ import annotations

from core.permissions import Role

MERCHANTS_PER_USER = 50  # memberships of one user
MERCHANTS_OWNED_PER_USER = 10
MEMBERS_PER_MERCHANT = 100
PENDING_INVITATIONS_PER_MERCHANT = 100
ACTIVE_API_KEYS_PER_MERCHANT = 100
WEBHOOK_ENDPOINTS_PER_MERCHANT = 16
PAGE_SIZE = 100  # `first` of a connection
GRAPHQL_TOKENS = 5000  # a document's tokens, over HTTP and over WebSocket alike (§12.6)
SUBSCRIPTIONS_PER_CONNECTION = 50  # one WebSocket's at once (CONTRACT §15): the 51st is refused
LIVE_EVENTS_QUEUED = 1000  # events waiting for one subscription: further behind, it ends

# Lists without a cap above, with the bound the query cost (§12.7) counts them at. The
# resolvers listing them should not return more (see each note).
# Partial refunds of one payment: the 21st is refused (INVALID_STATE); a refund is at least
# 1 minor unit, so the amount alone is no cap.
REFUNDS_PER_INTENT = 20
LINE_ITEMS_PER_INTENT = 100  # `lineItems` of an intent: the 101st is refused (§17)
DELIVERY_ATTEMPTS_PER_EVENT = 8  # one round: the first try and the 7 retries of §8
# `Event.deliveries`: the newest attempts of the latest round at each endpoint the event was
# for (§14), at most four rounds' worth, so `events(first: 100) { deliveries }` stays within
# the query cost; the whole 16 × 8 would price every event list out of reach.
DELIVERY_ATTEMPTS_LISTED_PER_EVENT = 4 * DELIVERY_ATTEMPTS_PER_EVENT
# `PaymentIntent.balanceTransactions`: its CHARGE, its refunds, a DISPUTE and its reversal
BALANCE_TRANSACTIONS_PER_INTENT = 1 + REFUNDS_PER_INTENT + 2
DISPUTES_PER_INTENT = 1  # the dispute card's one dispute (§13)
SESSIONS_LISTED_PER_USER = 50  # `me.sessions`: the newest live sessions
USER_ERRORS_PER_PAYLOAD = 1  # a refused mutation names one field (schema/hygiene.py)
ROLES = len(Role)  # `roles`: one entry per role
UNCAPPED_LIST = 10  # any other list, until it is given a cap here
