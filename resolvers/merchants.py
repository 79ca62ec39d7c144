"""Merchants and their settings."""

from __future__ import annotations

from datetime import timedelta

from tortoise.transactions import in_transaction

from core import money, validation
from core.clock import now
from core.permissions import Role
from core.webhooks import new_webhook_secret
from models.merchants import Membership, Merchant
from resolvers import caps, events
from resolvers.access import Caller, authorize, member_may
from resolvers.network import check_webhook_url

SECRET_OVERLAP = timedelta(hours=24)  # both secrets sign for this long after a rotation


async def create_merchant(caller: Caller, business_name: str, email: str,
                          legal_name: str | None = None, phone: str | None = None,
                          website: str | None = None) -> Merchant:
    user = caller.require_user()
    fields = {
        "business_name": validation.text(business_name, "businessName"),
        "email": validation.email(email),
        "legal_name": validation.optional_text(legal_name, "legalName"),
        "phone": validation.phone(phone),
        "website": validation.optional_url(website, "website"),
    }
    async with in_transaction():
        await caps.lock(user_id=user.id)
        await caps.check_room_for_membership(user.id, None, "businessName", owner=True)
        merchant = await Merchant.create(**fields)
        await Membership.create(user=user, merchant=merchant, role=Role.OWNER)
    return merchant


async def merchants_of(caller: Caller) -> list[Merchant]:
    user = caller.require_user()
    return await Merchant.filter(memberships__user_id=user.id).order_by("created_at")


async def get_merchant(caller: Caller, merchant_id: str) -> Merchant:
    await authorize(caller, merchant_id, "merchant:read")
    return await Merchant.get(id=merchant_id)


async def update_merchant(caller: Caller, merchant_id: str, business_name: str | None = None,
                          email: str | None = None, phone: str | None = None,
                          website: str | None = None) -> Merchant:
    await authorize(caller, merchant_id, "merchant:update")
    changes: dict[str, object] = {}
    if business_name is not None:
        changes["business_name"] = validation.text(business_name, "businessName")
    if email is not None:
        changes["email"] = validation.email(email)
    if phone is not None:
        changes["phone"] = validation.phone(phone)
    if website is not None:
        changes["website"] = validation.optional_url(website, "website")
    if changes:
        await Merchant.filter(id=merchant_id).update(**changes)
    return await Merchant.get(id=merchant_id)


async def update_settings(caller: Caller, merchant_id: str, webhook_url: str | None = None,
                          default_currency: str | None = None) -> Merchant:
    """An empty `webhookUrl` turns webhooks off; the first URL set creates the secret."""
    await authorize(caller, merchant_id, "settings:update")
    merchant = await Merchant.get(id=merchant_id)
    changes: dict[str, object] = {}
    if default_currency is not None:
        changes["default_currency"] = money.currency(default_currency, "defaultCurrency")
    if webhook_url is not None:
        url = validation.optional_url(webhook_url, "webhookUrl")
        if url:
            await check_webhook_url(url, "webhookUrl")
        changes["webhook_url"] = url
        if url and not merchant.webhook_secret:
            changes["webhook_secret"] = new_webhook_secret()
    if changes:
        await Merchant.filter(id=merchant_id).update(**changes)
        events.forget_webhook_state(merchant_id)
    return await Merchant.get(id=merchant_id)


async def rotate_webhook_secret(caller: Caller, merchant_id: str) -> Merchant:
    await authorize(caller, merchant_id, "settings:update")
    async with in_transaction():
        merchant = await Merchant.select_for_update().get(id=merchant_id)
        await Merchant.filter(id=merchant_id).update(
            webhook_secret=new_webhook_secret(),
            previous_webhook_secret=merchant.webhook_secret,
            previous_secret_expires_at=now() + SECRET_OVERLAP if merchant.webhook_secret
            else None)
    return await Merchant.get(id=merchant_id)


async def webhook_url_seen_by(caller: Caller, merchant: Merchant) -> str | None:
    """For the merchant's members; null for API keys (CONTRACT §10: keys see no settings)."""
    allowed = await member_may(caller, merchant.id, "settings:read")
    return merchant.webhook_url if allowed else None


async def webhook_secret_seen_by(caller: Caller, merchant: Merchant) -> str | None:
    """For OWNER and ADMIN only."""
    allowed = await member_may(caller, merchant.id, "settings:read_secret")
    return merchant.webhook_secret if allowed else None


def signing_secrets(merchant: Merchant) -> list[str]:
    """The secrets that sign a delivery now: the current one, and the previous for 24 h."""
    live = [merchant.webhook_secret] if merchant.webhook_secret else []
    if merchant.previous_webhook_secret and merchant.previous_secret_expires_at and \
            merchant.previous_secret_expires_at > now():
        live.append(merchant.previous_webhook_secret)
    return live
