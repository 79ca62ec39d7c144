"""Money after payment (CONTRACT §13): the ledger, its running totals, payouts, disputes.

Every amount is an integer of minor units. Balance transactions are append-only: the code
never updates or deletes one, and on PostgreSQL a trigger (migration 0008) refuses it too.
"""

from __future__ import annotations

from enum import Enum

from tortoise import fields
from tortoise.indexes import PartialIndex
from tortoise.models import Model

from models.base import id_field


class TransactionType(str, Enum):
    CHARGE = "CHARGE"
    REFUND = "REFUND"
    DISPUTE = "DISPUTE"
    DISPUTE_REVERSAL = "DISPUTE_REVERSAL"
    PAYOUT = "PAYOUT"
    PAYOUT_FAILURE = "PAYOUT_FAILURE"


class PayoutStatus(str, Enum):
    IN_TRANSIT = "IN_TRANSIT"
    PAID = "PAID"
    FAILED = "FAILED"


class PayoutSchedule(str, Enum):
    AUTOMATIC = "AUTOMATIC"
    MANUAL = "MANUAL"


class DisputeStatus(str, Enum):
    NEEDS_RESPONSE = "NEEDS_RESPONSE"
    UNDER_REVIEW = "UNDER_REVIEW"
    WON = "WON"
    LOST = "LOST"


OPEN_DISPUTE = frozenset({DisputeStatus.NEEDS_RESPONSE, DisputeStatus.UNDER_REVIEW})


class BalanceTransaction(Model):
    # One money movement: written with the change that caused it, never changed after.

    id = id_field("txn")
    merchant = fields.ForeignKeyField("models.Merchant", related_name="balance_transactions",
                                      on_delete=fields.RESTRICT)
    type = fields.CharEnumField(TransactionType, max_length=20)
    amount = fields.BigIntField()
    fee = fields.BigIntField()
    net = fields.BigIntField()
    currency = fields.CharField(max_length=3)
    available_on = fields.DatetimeField()
    created_at = fields.DatetimeField()
    # Plain columns, not foreign keys: a ledger row names what caused it and is read alone.
    payment_intent_id = fields.CharField(max_length=40, null=True)
    refund_id = fields.CharField(max_length=40, null=True)
    dispute_id = fields.CharField(max_length=40, null=True)
    payout_id = fields.CharField(max_length=40, null=True)
    description = fields.CharField(max_length=500, null=True)

    class Meta:
        table = "balance_transactions"
        # Paging newest first; pending (available_on still ahead) per merchant: the range of
        # the last settlement window only; the rows of an intent and of a payout.
        indexes = (("merchant_id", "created_at", "id"), ("merchant_id", "available_on"),
                   ("payment_intent_id",), ("payout_id",))


class BalanceTotal(Model):
    # The running sum of `net` per merchant and currency, kept in the transaction of every
    # ledger row (an upsert adding its net): the balance reads one row, not a million.

    id = fields.CharField(primary_key=True, max_length=48)  # "{merchant_id}:{currency}"
    merchant = fields.ForeignKeyField("models.Merchant", related_name="balance_totals",
                                      on_delete=fields.RESTRICT)
    currency = fields.CharField(max_length=3)
    net = fields.BigIntField()

    class Meta:
        table = "balance_totals"
        indexes = (("merchant_id", "currency"),)


class BalancePending(Model):
    # The sum of `net` per merchant, currency and hour of `available_on` (the hour it
    # starts), kept in the transaction of every ledger row (an upsert adding its net).
    # Pending is then the buckets after the current hour plus the ledger rows of the current
    # hour still ahead: a few dozen rows read, however many payments settle in the window.
    # Only buckets after the current hour are ever read.

    id = fields.CharField(primary_key=True, max_length=64)  # "{merchant_id}:{currency}:{hour}"
    merchant = fields.ForeignKeyField("models.Merchant", related_name="balance_pending",
                                      on_delete=fields.RESTRICT)
    currency = fields.CharField(max_length=3)
    available_hour = fields.DatetimeField()
    net = fields.BigIntField()

    class Meta:
        table = "balance_pending"
        # the balance's reads; the sweep's deletion of past hours (ledger.forget_past_buckets)
        indexes = (("merchant_id", "currency", "available_hour"), ("available_hour",))


class Payout(Model):
    id = id_field("po")
    merchant = fields.ForeignKeyField("models.Merchant", related_name="payouts",
                                      on_delete=fields.RESTRICT)
    amount = fields.BigIntField()
    currency = fields.CharField(max_length=3)
    status = fields.CharEnumField(PayoutStatus, max_length=12)
    automatic = fields.BooleanField()
    destination_last4 = fields.CharField(max_length=4)
    arrival_date = fields.DatetimeField()
    failure_code = fields.CharField(max_length=40, null=True)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "payouts"
        indexes = (("merchant_id", "created_at", "id"),
                   PartialIndex(fields=("arrival_date",), name="payouts_in_transit",
                                condition={"status": "IN_TRANSIT"}))


class Dispute(Model):
    id = id_field("dp")
    merchant = fields.ForeignKeyField("models.Merchant", related_name="disputes",
                                      on_delete=fields.RESTRICT)
    payment_intent = fields.ForeignKeyField("models.PaymentIntent", related_name="disputes",
                                            on_delete=fields.RESTRICT)
    amount = fields.BigIntField()
    currency = fields.CharField(max_length=3)
    reason = fields.CharField(max_length=40)
    status = fields.CharEnumField(DisputeStatus, max_length=16)
    evidence = fields.TextField(null=True)
    evidence_due_by = fields.DatetimeField()
    review_due_at = fields.DatetimeField(null=True)  # UNDER_REVIEW: when the issuer decides
    created_at = fields.DatetimeField()
    closed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "disputes"
        indexes = (("merchant_id", "created_at", "id"), ("status", "evidence_due_by"),
                   ("status", "review_due_at"),
                   ("payment_intent_id", "created_at"))  # an intent's disputes


class Schedule(Model):
    # When a fleet-wide periodic job (the automatic payouts) next runs: a worker claims a run
    # by moving `next_run_at` on with a conditional update, so one run happens per interval
    # however many workers there are.

    name = fields.CharField(primary_key=True, max_length=40)
    next_run_at = fields.DatetimeField()

    class Meta:
        table = "schedules"
