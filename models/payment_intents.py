from __future__ import annotations

from datetime import datetime
from enum import Enum

from tortoise import fields
from tortoise.indexes import PartialIndex
from tortoise.models import Model

from models.base import id_field

MAX_ATTEMPTS = 5


class IntentStatus(str, Enum):
    AWAITING_PAYMENT_METHOD = "AWAITING_PAYMENT_METHOD"
    AUTHORIZED = "AUTHORIZED"
    CAPTURED = "CAPTURED"
    PARTIALLY_REFUNDED = "PARTIALLY_REFUNDED"
    REFUNDED = "REFUNDED"
    VOIDED = "VOIDED"
    CANCELED = "CANCELED"
    FAILED = "FAILED"
    EXPIRED = "EXPIRED"


class CaptureMethod(str, Enum):
    AUTOMATIC = "AUTOMATIC"
    MANUAL = "MANUAL"


class SubmitType(str, Enum):
    """How the checkout page's button is worded (CONTRACT §17)."""

    PAY = "PAY"
    BOOK = "BOOK"
    DONATE = "DONATE"


PAID = frozenset({IntentStatus.AUTHORIZED, IntentStatus.CAPTURED,
                  IntentStatus.PARTIALLY_REFUNDED, IntentStatus.REFUNDED})
CLOSED_UNPAID = frozenset({IntentStatus.VOIDED, IntentStatus.CANCELED, IntentStatus.FAILED,
                           IntentStatus.EXPIRED})


class RefundStatus(str, Enum):
    SUCCEEDED = "succeeded"  # the simulator's refunds succeed at once


class PaymentIntent(Model):
    id = id_field("pi")
    merchant = fields.ForeignKeyField("models.Merchant", related_name="payment_intents",
                                      on_delete=fields.RESTRICT)
    status = fields.CharEnumField(IntentStatus, max_length=32,
                                  default=IntentStatus.AWAITING_PAYMENT_METHOD)
    amount = fields.BigIntField()
    currency = fields.CharField(max_length=3)
    capture_method = fields.CharEnumField(CaptureMethod, max_length=10)
    description = fields.CharField(max_length=1000, null=True)
    order_id = fields.CharField(max_length=200, null=True)
    customer_email = fields.CharField(max_length=254, null=True)
    metadata = fields.JSONField(null=True)
    success_url = fields.CharField(max_length=2048)
    cancel_url = fields.CharField(max_length=2048, null=True)
    client_secret = fields.CharField(max_length=80)
    expires_at = fields.DatetimeField()
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)
    attempt_count = fields.IntField(default=0)
    max_attempts = fields.IntField(default=MAX_ATTEMPTS)
    amount_capturable = fields.BigIntField(default=0)
    amount_captured = fields.BigIntField(default=0)
    amount_refunded = fields.BigIntField(default=0)
    refund_count = fields.IntField(default=0, db_default=0)  # at most limits.REFUNDS_PER_INTENT
    card_brand = fields.CharField(max_length=20, null=True)
    card_last4 = fields.CharField(max_length=4, null=True)
    card_exp_month = fields.IntField(null=True)
    card_exp_year = fields.IntField(null=True)
    card_fingerprint = fields.CharField(max_length=64, null=True)
    last_error_code = fields.CharField(max_length=8, null=True)
    last_error_message = fields.CharField(max_length=200, null=True)
    authorized_at = fields.DatetimeField(null=True)
    captured_at = fields.DatetimeField(null=True)
    closed_at = fields.DatetimeField(null=True)
    close_reason = fields.CharField(max_length=500, null=True)
    # What it is for (CONTRACT §17): [{"name", "quantity", "unit_amount", "amount"}] adding
    # up to `amount` (core.line_items), the page's language ("en", "fr", "ar"; None: the
    # shopper's browser decides) and the button's words (a SubmitType value).
    line_items = fields.JSONField(null=True)
    locale = fields.CharField(max_length=5, null=True)
    submit_type = fields.CharField(max_length=10, default=SubmitType.PAY.value,
                                   db_default=SubmitType.PAY.value)
    # Money after payment (CONTRACT §13): the fee of the capture (None before one); the
    # dispute test card's flag (never the number) and when its dispute opens once captured;
    # the status of the intent's dispute, decided on this row so refunds serialize with it.
    fee = fields.BigIntField(null=True)
    disputes_on_capture = fields.BooleanField(default=False, db_default=False)
    dispute_due_at = fields.DatetimeField(null=True)
    dispute_status = fields.CharField(max_length=16, null=True)
    # Bumped by every transition: an UPDATE ... WHERE version = n loses to a concurrent one.
    version = fields.IntField(default=0)

    class Meta:
        table = "payment_intents"
        # The sweeps' two queues are partial indexes: an intent leaves them when it is paid or
        # closed, so expiring or voiding one writes no entry into them.
        indexes = (("merchant_id", "created_at", "id"),
                   PartialIndex(fields=("expires_at",), name="payment_intents_due",
                                condition={"status": "AWAITING_PAYMENT_METHOD"}),
                   PartialIndex(fields=("authorized_at",), name="payment_intents_authorized",
                                condition={"status": "AUTHORIZED"}),
                   # Only intents paid with the dispute test card ever have a due date.
                   PartialIndex(fields=("dispute_due_at",), name="payment_intents_dispute_due",
                                condition={"disputes_on_capture": True}))

    def effective_status(self, now: datetime) -> IntentStatus:
        """An intent past `expiresAt` is EXPIRED even before the worker has marked it."""
        if self.status is IntentStatus.AWAITING_PAYMENT_METHOD and now >= self.expires_at:
            return IntentStatus.EXPIRED
        return self.status


class Refund(Model):
    id = id_field("re")
    payment_intent = fields.ForeignKeyField("models.PaymentIntent", related_name="refunds",
                                            on_delete=fields.RESTRICT)
    amount = fields.BigIntField()
    reason = fields.CharField(max_length=500, null=True)
    status = fields.CharField(max_length=20, default=RefundStatus.SUCCEEDED.value)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "refunds"
        indexes = (("payment_intent_id", "created_at"),)  # an intent's refunds


class IdempotencyRecord(Model):
    # A merchant's idempotency key: the request it was first used for and the result.

    id = fields.BigIntField(primary_key=True)
    merchant = fields.ForeignKeyField("models.Merchant", related_name="idempotency_records",
                                      on_delete=fields.CASCADE)
    key = fields.CharField(max_length=255)
    request_hash = fields.CharField(max_length=64)
    result_id = fields.CharField(max_length=40, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "idempotency_records"
        unique_together = (("merchant", "key"),)
