"""Payout settings (CONTRACT §13): the schedule and the destination IBAN, changed by OWNER
and ADMIN (`settings:update`; never an API key). The IBAN is checked, encrypted at rest
(core.crypto, AES-GCM bound to the merchant) and shown only as its last 4."""

from __future__ import annotations

from typing import Any

from core import crypto, iban
from core.config import get_settings
from models.merchants import Merchant
from models.money import PayoutSchedule
from resolvers.access import Caller, authorize, member_may

UPDATE = "settings:update"


async def payout_changes(caller: Caller, merchant_id: str, schedule: PayoutSchedule | None,
                         destination: str | None) -> dict[str, Any]:
    """The merchant columns the change sets, checked (nothing is written here)."""
    if schedule is None and destination is None:
        return {}
    await authorize(caller, merchant_id, UPDATE)
    changes: dict[str, Any] = {}
    if schedule is not None:
        changes["payout_schedule"] = PayoutSchedule(schedule).value
    if destination is not None:
        compact = iban.checked_iban(destination)
        changes["payout_destination"] = crypto.encrypt(get_settings().data_encryption_key,
                                                       compact, merchant_id)
        changes["payout_destination_last4"] = iban.last4(compact)
    return changes


async def apply(merchant_id: str, changes: dict[str, Any]) -> None:
    if changes:
        await Merchant.filter(id=merchant_id).update(**changes)


def destination_of(merchant: Merchant) -> str | None:
    """The IBAN paid into, decrypted (for the bank transfer; never shown)."""
    if merchant.payout_destination is None:
        return None
    return crypto.decrypt(get_settings().data_encryption_key, merchant.payout_destination,
                          merchant.id)


async def last4_seen_by(caller: Caller, merchant: Merchant) -> str | None:
    """Members who may read the payouts (OWNER, ADMIN, MANAGER) see where they go: the last 4.
    STAFF sees none of the money (CONTRACT §13), and API keys see no settings."""
    if not await member_may(caller, merchant.id, "balance:read"):
        return None
    return merchant.payout_destination_last4

