"""Names shared across modules: event types, job names and job ids (as arq keeps its key
prefixes in one `constants.py`). A literal of these anywhere else is a bug waiting."""

from __future__ import annotations

from enum import Enum


class EventType(str, Enum):
    """Every event the gateway emits (CONTRACT §8)."""

    PAYMENT_INTENT_CREATED = "payment_intent.created"
    PAYMENT_INTENT_AUTHORIZED = "payment_intent.authorized"
    PAYMENT_INTENT_CAPTURED = "payment_intent.captured"
    PAYMENT_INTENT_PAYMENT_FAILED = "payment_intent.payment_failed"
    PAYMENT_INTENT_FAILED = "payment_intent.failed"
    PAYMENT_INTENT_CANCELED = "payment_intent.canceled"
    PAYMENT_INTENT_VOIDED = "payment_intent.voided"
    PAYMENT_INTENT_EXPIRED = "payment_intent.expired"
    PAYMENT_INTENT_REFUNDED = "payment_intent.refunded"
    WEBHOOK_TEST = "webhook.test"
    PAYOUT_CREATED = "payout.created"  # CONTRACT §13
    PAYOUT_PAID = "payout.paid"
    PAYOUT_FAILED = "payout.failed"
    DISPUTE_CREATED = "dispute.created"
    DISPUTE_UPDATED = "dispute.updated"
    DISPUTE_CLOSED = "dispute.closed"
    WEBHOOK_ENDPOINT_DISABLED = "webhook_endpoint.disabled"  # CONTRACT §14


class Job(str, Enum):
    """arq function names; the embedded queue runs the same functions by these names."""

    DELIVER_EVENT = "deliver_event"
    SWEEP = "sweep"


class Schedule(str, Enum):
    """Fleet-wide periodic runs, claimed in the `schedules` table (models.money.Schedule)."""

    AUTOMATIC_PAYOUTS = "automatic_payouts"


def delivery_job_id(event_id: str, *attempt: object) -> str:
    """A delivery job's id. arq queues one job per id, so the parts say which wake-up this is:
    none for the first after commit, then the attempt number, a redelivery, or a sweep tick."""
    return ":".join(["deliver", event_id, *map(str, attempt)])
