"""Who is calling, and what they may see and do."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar

from core.errors import UserError, forbidden, not_found, unauthenticated
from core.permissions import API_KEY_PERMISSIONS, Role, role_allows
from core.validation import is_well_formed_id
from models.api_keys import ApiKey
from models.merchants import Membership
from models.sql import by_pk
from models.users import User


@dataclass
class Caller:
    """Who is calling, for one request; it remembers what it learned of its own access."""

    user: User | None = None
    session_id: str | None = None
    api_key: ApiKey | None = None
    ip: str | None = None
    roles: dict[str, Role | None] = field(default_factory=dict, repr=False)
    visible: frozenset[str] | None = field(default=None, repr=False)

    def require_user(self) -> User:
        if self.user is None:
            raise unauthenticated("Log in: this needs a user access token")
        return self.user

    def require_authenticated(self) -> None:
        if self.user is None and self.api_key is None:
            raise unauthenticated()


M = TypeVar("M", bound=Any)


async def authorize(caller: Caller, merchant_id: str, permission: str) -> Role | None:
    """Let the caller act on the merchant or raise.

    Not a member (or another merchant's key): NOT_FOUND, so nothing leaks about other
    merchants. A member whose role lacks the permission: FORBIDDEN. Returns the member's role
    (None for an API key).
    """
    if not is_well_formed_id(merchant_id):  # from outside GraphQL's hygiene (a report's query)
        raise not_found("Merchant")
    if caller.api_key is not None:
        if caller.api_key.merchant_id != merchant_id:
            raise not_found("Merchant")
        if permission not in API_KEY_PERMISSIONS:
            raise forbidden("API keys cannot do this; use a user access token")
        return None
    caller.require_user()
    role = await role_in(caller, merchant_id)
    if role is None:
        raise not_found("Merchant")
    if not role_allows(role, permission):
        raise forbidden(f"The {role.value} role cannot do this ({permission})")
    return role


async def visible(caller: Caller, model: type[M], object_id: str, permission: str,
                  what: str) -> M:
    """A merchant's object (intent, event, key) for a caller allowed `permission` on it.

    Missing, or another merchant's: NOT_FOUND, the same answer for both. A member whose
    role lacks the permission: FORBIDDEN.
    """
    caller.require_authenticated()
    found = await by_pk(model, object_id)
    if found is None:
        raise not_found(what)
    try:
        await authorize(caller, found.merchant_id, permission)
    except UserError:
        raise not_found(what) from None
    return found


async def find_visible(caller: Caller, model: type[M], object_id: str, permission: str,
                       what: str) -> M | None:
    """`visible`, for a read that answers null: whatever the reason the caller may not see
    it (missing, another merchant's, no right, not signed in)."""
    try:
        return await visible(caller, model, object_id, permission, what)
    except UserError:
        return None


async def role_of(user_id: str, merchant_id: str) -> Role | None:
    membership = await Membership.get_or_none(user_id=user_id, merchant_id=merchant_id)
    return membership.role if membership else None



async def role_in(caller: Caller, merchant_id: str) -> Role | None:
    """The calling user's role in a merchant (None for a key or a stranger), looked up once
    per request."""
    if caller.user is None:
        return None
    if merchant_id not in caller.roles:
        caller.roles[merchant_id] = await role_of(caller.user.id, merchant_id)
    return caller.roles[merchant_id]


async def member_may(caller: Caller, merchant_id: str, permission: str) -> bool:
    """Whether the calling user's role in the merchant grants `permission` (CONTRACT §10).
    API keys are never members: what a key may read is decided by `authorize`."""
    role = await role_in(caller, merchant_id)
    return role is not None and role_allows(role, permission)


async def visible_merchant_ids(caller: Caller) -> frozenset[str]:
    """The one visibility rule of the graph (CONTRACT §12.1): the merchants a caller may see
    anything of, at any depth. A user: those they belong to. An API key: its own."""
    if caller.visible is None:
        caller.visible = await _visible_merchant_ids(caller)
    return caller.visible


async def _visible_merchant_ids(caller: Caller) -> frozenset[str]:
    if caller.api_key is not None:
        return frozenset({caller.api_key.merchant_id})
    if caller.user is None:
        return frozenset()
    return frozenset(await Membership.filter(user_id=caller.user.id).values_list(
        "merchant_id", flat=True))


async def memberships_seen_by(caller: Caller, user_id: str) -> list[Membership]:
    """A user's memberships as the caller may see them: only in the merchants the two
    share."""
    visible_ids = await visible_merchant_ids(caller)
    if not visible_ids:
        return []
    return await Membership.filter(user_id=user_id, merchant_id__in=visible_ids).select_related(
        "user", "merchant").order_by("created_at")
