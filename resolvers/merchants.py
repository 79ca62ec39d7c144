"""Merchants and their settings."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from tortoise.transactions import in_transaction

from core import branding, money, validation
from core.branding import BorderStyle, Branding
from core.config import get_settings
from core.permissions import Role
from models.merchants import Membership, Merchant, MerchantLogo
from models.payment_intents import PaymentIntent
from models.webhooks import WebhookEndpoint
from resolvers import caps, webhook_endpoints
from resolvers.access import Caller, authorize, member_may, role_in
from resolvers.cpu import Gate


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


@dataclass(frozen=True)
class BrandingChange:
    """What updateMerchantSettings changes of the branding: None leaves a field as it is."""

    display_name: str | None = None
    primary_color: str | None = None
    button_color: str | None = None
    background_color: str | None = None
    border_style: BorderStyle | None = None


BRANDING_FIELD = "branding"
_COLOR_FIELDS = {"primary_color": "primaryColor", "button_color": "buttonColor",
                 "background_color": "backgroundColor"}


def branding_changes(change: BrandingChange | None) -> dict[str, object]:
    """The merchant columns a branding change sets, checked; "" clears the display name."""
    if change is None:
        return {}
    changes: dict[str, object] = {}
    if change.display_name is not None:
        changes["display_name"] = validation.optional_text(
            change.display_name, (BRANDING_FIELD, "displayName"),
            max_length=branding.DISPLAY_NAME_MAX_LENGTH)
    for column, name in _COLOR_FIELDS.items():
        value = getattr(change, column)
        if value is not None:
            changes[column] = branding.color(value, (BRANDING_FIELD, name))
    if change.border_style is not None:
        changes["border_style"] = BorderStyle(change.border_style).value
    return changes


async def update_settings(caller: Caller, merchant_id: str, webhook_url: str | None = None,
                          default_currency: str | None = None,
                          branding_change: BrandingChange | None = None) -> Merchant:
    """`webhookUrl` is the default webhook endpoint's (CONTRACT §14): a URL creates or moves
    it (its secret is made then), an empty one deletes it."""
    await authorize(caller, merchant_id, "settings:update")
    changes: dict[str, object] = branding_changes(branding_change)
    if default_currency is not None:
        changes["default_currency"] = money.currency(default_currency, "defaultCurrency")
    if webhook_url is not None:
        url = validation.optional_url(webhook_url, "webhookUrl")
        await webhook_endpoints.set_default_url(merchant_id, url, "webhookUrl")
    if changes:
        await Merchant.filter(id=merchant_id).update(**changes)
    return await Merchant.get(id=merchant_id)


async def upload_logo(caller: Caller, merchant_id: str, content_type: str,
                      data_base64: str) -> Merchant:
    """Check and re-encode the image (core.branding.clean_logo: CPU work, off the event loop
    and a couple at a time), keep it by its SHA-256 and make it the merchant's logo. The
    previous logo goes unless another merchant shows it too."""
    await authorize(caller, merchant_id, "settings:update")
    logo = await _image_work.run(branding.clean_logo, content_type, data_base64)
    previous = (await Merchant.get(id=merchant_id)).logo_sha256
    async with in_transaction():
        await MerchantLogo.get_or_create(sha256=logo.sha256, defaults={
            "content_type": logo.content_type, "data": logo.data})
        await Merchant.filter(id=merchant_id).update(logo_sha256=logo.sha256,
                                                     logo_content_type=logo.content_type)
    await _forget_unused_logo(previous)
    return await Merchant.get(id=merchant_id)


async def remove_logo(caller: Caller, merchant_id: str) -> Merchant:
    await authorize(caller, merchant_id, "settings:update")
    previous = (await Merchant.get(id=merchant_id)).logo_sha256
    await Merchant.filter(id=merchant_id).update(logo_sha256=None, logo_content_type=None)
    await _forget_unused_logo(previous)
    return await Merchant.get(id=merchant_id)


async def _forget_unused_logo(sha256: str | None) -> None:
    """A logo no merchant shows any more is deleted: uploads cannot pile up."""
    if sha256 and not await Merchant.exists(logo_sha256=sha256):
        await MerchantLogo.filter(sha256=sha256).delete()


_image_work = Gate(lambda: 2)  # images decoded at once in this process


async def logo_bytes(sha256: str, content_type: str) -> bytes | None:
    """A stored logo's bytes, if it exists with this content type: logos are public."""
    logo = await MerchantLogo.get_or_none(sha256=sha256, content_type=content_type)
    return bytes(logo.data) if logo else None


def branding_of(merchant: Merchant) -> Branding:
    return Branding(display_name=merchant.display_name, primary_color=merchant.primary_color,
                    button_color=merchant.button_color,
                    background_color=merchant.background_color,
                    border_style=BorderStyle(merchant.border_style),
                    logo_sha256=merchant.logo_sha256,
                    logo_content_type=merchant.logo_content_type)


async def intent_branding(intent: PaymentIntent) -> Branding:
    """The branding of an intent's merchant, from `select_related` when it was loaded."""
    merchant = intent.merchant
    if not isinstance(merchant, Merchant):
        merchant = await merchant
    return branding_of(merchant)


def logo_url(brand: Branding) -> str | None:
    """The logo's absolute URL under PUBLIC_BASE_URL, or None without a logo."""
    path = brand.logo_src
    return f"{get_settings().public_base_url}{path}" if path else None


def preview_token(merchant_id: str) -> str:
    """The token of the merchant's checkout preview page: HMAC-SHA256(JWT_SECRET,
    "preview:" + id). The page checks a token against it with hmac.compare_digest."""
    key = get_settings().jwt_secret.encode()
    return hmac.new(key, f"preview:{merchant_id}".encode(), hashlib.sha256).hexdigest()


PREVIEW_ROLES = frozenset({Role.OWNER, Role.ADMIN, Role.MANAGER})


async def checkout_preview_url_seen_by(caller: Caller, merchant: Merchant) -> str | None:
    """For OWNER, ADMIN and MANAGER; null for others and for API keys."""
    if await role_in(caller, merchant.id) not in PREVIEW_ROLES:
        return None
    base = get_settings().public_base_url
    return f"{base}/checkout/preview/{merchant.id}?token={preview_token(merchant.id)}"


async def rotate_webhook_secret(caller: Caller, merchant_id: str) -> Merchant:
    """The default endpoint's secret (CONTRACT §14); both sign for 24 hours."""
    await authorize(caller, merchant_id, "settings:update")
    await webhook_endpoints.rotate_default_secret(merchant_id)
    return await Merchant.get(id=merchant_id)


# A DataLoader's `load`: it returns a future at once and batches every load of one tick.
DefaultEndpointOf = Callable[[str], Awaitable[WebhookEndpoint | None]]


async def webhook_url_seen_by(caller: Caller, merchant: Merchant,
                              default_endpoint: DefaultEndpointOf
                              ) -> str | None:
    """The default endpoint's, for the merchant's members; null for API keys (CONTRACT §10:
    keys see no settings)."""
    endpoint = default_endpoint(merchant.id)  # asked first: every merchant's in one batch
    if not await member_may(caller, merchant.id, "settings:read"):
        return None
    found = await endpoint
    return found.url if found else None


async def webhook_secret_seen_by(caller: Caller, merchant: Merchant,
                                 default_endpoint: DefaultEndpointOf
                                 ) -> str | None:
    """The default endpoint's, for OWNER and ADMIN only."""
    endpoint = default_endpoint(merchant.id)  # asked first: every merchant's in one batch
    if not await member_may(caller, merchant.id, "settings:read_secret"):
        return None
    found = await endpoint
    return found.secret if found else None
