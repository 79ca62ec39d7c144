"""The caps of CONTRACT §12.7, checked inside the transaction that would exceed them."""

from __future__ import annotations

from core import limits
from core.errors import invalid
from core.permissions import Role
from models.api_keys import ApiKey
from models.merchants import Membership, Merchant
from models.users import User


async def lock(*, user_id: str | None = None, merchant_id: str | None = None) -> None:
    """Inside a transaction: take the rows whose counts a cap checks, so that concurrent
    joins are counted one after another (PostgreSQL; SQLite has one writer anyway)."""
    if user_id:
        await User.select_for_update().get(id=user_id)  # `.values()` would drop the lock
    if merchant_id:
        await Merchant.select_for_update().get(id=merchant_id)


async def check_room_for_membership(user_id: str, merchant_id: str | None, field: str,
                                    owner: bool = False) -> None:
    """The caps of CONTRACT §12.7 on joining (or creating, `owner`) a merchant."""
    if await Membership.filter(user_id=user_id).count() >= limits.MERCHANTS_PER_USER:
        raise invalid(field, f"A user belongs to at most {limits.MERCHANTS_PER_USER} merchants")
    if owner and await Membership.filter(user_id=user_id, role=Role.OWNER).count() >= \
            limits.MERCHANTS_OWNED_PER_USER:
        raise invalid(field, f"A user owns at most {limits.MERCHANTS_OWNED_PER_USER} merchants")
    if merchant_id and await Membership.filter(merchant_id=merchant_id).count() >= \
            limits.MEMBERS_PER_MERCHANT:
        raise invalid(field, f"A merchant has at most {limits.MEMBERS_PER_MERCHANT} members")


async def check_room_for_api_key(merchant_id: str) -> None:
    if await ApiKey.filter(merchant_id=merchant_id, revoked_at=None).count() >= \
            limits.ACTIVE_API_KEYS_PER_MERCHANT:
        raise invalid("merchantId", f"A merchant has at most "
                                    f"{limits.ACTIVE_API_KEYS_PER_MERCHANT} active API keys: "
                                    f"revoke one first")
