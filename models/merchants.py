from __future__ import annotations

from enum import Enum

from tortoise import fields
from tortoise.models import Model

from core import branding
from core.permissions import Role
from models.base import id_field


# Statuses are str enums kept in plain columns: a row read back holds the plain string, which
# compares equal to its member (`==`, never `is`).
class MerchantStatus(str, Enum):
    ACTIVE = "active"


class InvitationStatus(str, Enum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    EXPIRED = "expired"
    REVOKED = "revoked"


class Merchant(Model):
    id = id_field("mer")
    business_name = fields.CharField(max_length=200)
    legal_name = fields.CharField(max_length=200, null=True)
    email = fields.CharField(max_length=254)
    phone = fields.CharField(max_length=40, null=True)
    website = fields.CharField(max_length=2048, null=True)
    status = fields.CharField(max_length=20, default=MerchantStatus.ACTIVE.value)
    created_at = fields.DatetimeField(auto_now_add=True)
    default_currency = fields.CharField(max_length=3, default="USD")
    webhook_url = fields.CharField(max_length=2048, null=True)
    webhook_secret = fields.CharField(max_length=80, null=True)
    # After a rotation the previous secret also signs, until this moment.
    previous_webhook_secret = fields.CharField(max_length=80, null=True)
    previous_secret_expires_at = fields.DatetimeField(null=True)
    # The checkout page's look (CONTRACT §17; rules in core.branding). Colours "#rrggbb".
    display_name = fields.CharField(max_length=100, null=True)
    primary_color = fields.CharField(max_length=7, default=branding.DEFAULT_PRIMARY_COLOR,
                                     db_default=branding.DEFAULT_PRIMARY_COLOR)
    button_color = fields.CharField(max_length=7, default=branding.DEFAULT_BUTTON_COLOR,
                                    db_default=branding.DEFAULT_BUTTON_COLOR)
    background_color = fields.CharField(max_length=7, default=branding.DEFAULT_BACKGROUND_COLOR,
                                        db_default=branding.DEFAULT_BACKGROUND_COLOR)
    border_style = fields.CharField(max_length=10, default=branding.BorderStyle.ROUNDED.value,
                                    db_default=branding.BorderStyle.ROUNDED.value)
    logo_sha256 = fields.CharField(max_length=64, null=True)  # a MerchantLogo
    logo_content_type = fields.CharField(max_length=20, null=True)  # that logo's
    # Payouts (CONTRACT §13): a PayoutSchedule value, and the IBAN paid into, encrypted with
    # AES-GCM (core.crypto) and shown only as its last 4.
    payout_schedule = fields.CharField(max_length=10, default="AUTOMATIC", db_default="AUTOMATIC")
    payout_destination = fields.TextField(null=True)
    payout_destination_last4 = fields.CharField(max_length=4, null=True)

    class Meta:
        table = "merchants"


class MerchantLogo(Model):
    # A logo's bytes as re-encoded by core.branding.clean_logo, keyed by their SHA-256: the
    # same image uploaded twice (by any merchant) is one row, and its URL never changes.

    sha256 = fields.CharField(max_length=64, primary_key=True)
    content_type = fields.CharField(max_length=20)
    data = fields.BinaryField()

    class Meta:
        table = "merchant_logos"


class Membership(Model):
    id = fields.IntField(primary_key=True)
    user = fields.ForeignKeyField("models.User", related_name="memberships",
                                  on_delete=fields.CASCADE)
    merchant = fields.ForeignKeyField("models.Merchant", related_name="memberships",
                                      on_delete=fields.CASCADE)
    role = fields.CharEnumField(Role, max_length=10)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "memberships"
        unique_together = (("user", "merchant"),)


class Invitation(Model):
    id = id_field("inv")
    merchant = fields.ForeignKeyField("models.Merchant", related_name="invitations",
                                      on_delete=fields.CASCADE)
    email = fields.CharField(max_length=254)
    role = fields.CharEnumField(Role, max_length=10)
    token_hash = fields.CharField(max_length=80, unique=True)  # SHA-256 of the token, shown once
    # A plain column holding InvitationStatus values: altering it to an enum field would make
    # SQLite rebuild the table (and cascade deletes from the rebuild of its neighbours).
    status = fields.CharField(max_length=20, default=InvitationStatus.PENDING.value)
    # "{merchant}:{email}" while pending, NULL after: the database keeps one pending per email.
    pending_key = fields.CharField(max_length=300, null=True, unique=True)
    invited_by = fields.ForeignKeyField("models.User", related_name="invitations_sent",
                                        null=True, on_delete=fields.SET_NULL)
    expires_at = fields.DatetimeField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "invitations"
