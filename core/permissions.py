"""Roles and what each may do (CONTRACT §10), as `resource:action` strings."""

from __future__ import annotations

from enum import Enum


class Role(str, Enum):
    OWNER = "OWNER"
    ADMIN = "ADMIN"
    MANAGER = "MANAGER"
    STAFF = "STAFF"


# §10 at every depth of the graph (§12.1). "Read the merchant" is every role's, so its
# settings (webhookUrl, defaultCurrency) are `settings:read`, for all members; the webhook
# secret is `settings:read_secret`, with "see the webhook secret" in ADMINISTER. Pending
# invitations are shown to those who may send them (`members:invite`), API keys (never their
# secrets) to those who may create them (`api_keys:read`). An API key is never a member: it
# reads its own merchant (`merchant:read`) and nothing of its people, settings or keys.
READ = frozenset({"merchant:read", "members:read", "settings:read", "payment_intents:read",
                  "events:read"})
# Money (CONTRACT §13): the balance, its transactions, payouts and disputes are read, and
# disputes answered, by OWNER, ADMIN and MANAGER; payouts made by OWNER and ADMIN (payout
# settings are `settings:update`).
OPERATE = frozenset({"payment_intents:capture", "payment_intents:void", "payment_intents:cancel",
                     "payment_intents:refund", "members:invite", "balance:read",
                     "disputes:respond"})
ADMINISTER = frozenset({"members:update_role", "merchant:update", "settings:update",
                        "settings:read_secret", "api_keys:create", "api_keys:revoke",
                        "api_keys:read", "webhooks:send_test", "events:redeliver",
                        "payouts:create"})
OWN = frozenset({"members:remove"})

ROLE_PERMISSIONS: dict[Role, frozenset[str]] = {
    Role.OWNER: READ | OPERATE | ADMINISTER | OWN,
    Role.ADMIN: READ | OPERATE | ADMINISTER,
    Role.MANAGER: READ | OPERATE,
    Role.STAFF: READ,
}

# What a merchant's server may do with its API key: payments and events, nothing else.
API_KEY_PERMISSIONS = frozenset({
    "payment_intents:read", "payment_intents:create", "payment_intents:capture",
    "payment_intents:void", "payment_intents:cancel", "payment_intents:refund",
    "events:read", "events:redeliver", "merchant:read",
    "balance:read", "disputes:respond", "payouts:create",
})


def role_allows(role: Role, permission: str) -> bool:
    return permission in ROLE_PERMISSIONS[role]


RANK = {Role.STAFF: 1, Role.MANAGER: 2, Role.ADMIN: 3, Role.OWNER: 4}


def may_assign(actor: Role, role: Role) -> bool:
    """A member hands out roles up to their own; nobody hands out OWNER."""
    return role is not Role.OWNER and RANK[role] <= RANK[actor]
