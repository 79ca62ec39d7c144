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

# Lists without a cap above, with the bound the query cost (§12.7) counts them at. The
# resolvers listing them should not return more (see each note).
# Partial refunds of one payment: the 21st is refused (INVALID_STATE); a refund is at least
# 1 minor unit, so the amount alone is no cap.
REFUNDS_PER_INTENT = 20
LINE_ITEMS_PER_INTENT = 100  # `lineItems` of an intent: the 101st is refused (§17)
DELIVERY_ATTEMPTS_PER_EVENT = 8  # one round: the first try and the 7 retries of §8
SESSIONS_LISTED_PER_USER = 50  # `me.sessions`: the newest live sessions
USER_ERRORS_PER_PAYLOAD = 1  # a refused mutation names one field (schema/hygiene.py)
ROLES = len(Role)  # `roles`: one entry per role
UNCAPPED_LIST = 10  # any other list, until it is given a cap here
