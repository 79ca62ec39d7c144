from __future__ import annotations

from enum import Enum

from tortoise import fields
from tortoise.models import Model

from models.base import id_field


class DeliveryState(str, Enum):
    """Stored on an event as a hint only: whether its merchant had webhook endpoints when it
    was written (PENDING: wake the delivery after commit). What each endpoint is owed lives in
    models.webhooks.EndpointDelivery; `deliveryState` is read from there."""

    NONE = "NONE"  # no webhook endpoint
    PENDING = "PENDING"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"  # every attempt used; `redeliverEvent` sends it again


class Event(Model):
    # A state change, written in the transaction that made it: the outbox of webhooks.

    id = id_field("evt")
    merchant = fields.ForeignKeyField("models.Merchant", related_name="events",
                                      on_delete=fields.CASCADE)
    type = fields.CharField(max_length=64)
    object_id = fields.CharField(max_length=40, null=True)
    data = fields.JSONField()
    created_at = fields.DatetimeField(auto_now_add=True)
    delivery_state = fields.CharEnumField(DeliveryState, max_length=10)
    # Obsolete since webhook endpoints (migration 0007): each (event, endpoint) pair keeps its
    # own in EndpointDelivery. Kept, not dropped: dropping a column rebuilds the table on SQLite.
    attempt_count = fields.IntField(default=0)
    retry_base = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField(null=True)  # set when delivery_state is PENDING
    lease_until = fields.DatetimeField(null=True)
    # The X-Request-ID of the request that made it (CONTRACT §16); None when no request did
    # (the sweep's expiries). Its deliveries log under that id.
    request_id = fields.CharField(max_length=128, null=True)

    class Meta:
        table = "events"
        # A merchant's events in order (lists, replays); every event of the last moments (the
        # live hub's reads, resolvers/live.py).
        indexes = (("merchant_id", "created_at", "id"), ("created_at",))


class WebhookDelivery(Model):
    # One attempt to deliver an event.

    id = id_field("whd")
    event = fields.ForeignKeyField("models.Event", related_name="deliveries",
                                   on_delete=fields.CASCADE)
    # The endpoint it went to (a plain column: the log outlives a deleted endpoint).
    endpoint_id = fields.CharField(max_length=40, null=True)
    attempt = fields.IntField()
    url = fields.CharField(max_length=2048)
    response_status = fields.IntField(null=True)
    error = fields.CharField(max_length=500, null=True)
    succeeded = fields.BooleanField()
    latency_ms = fields.IntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    next_retry_at = fields.DatetimeField(null=True)

    class Meta:
        table = "webhook_deliveries"
        indexes = (("event_id", "created_at"),)  # an event's attempts (Event.deliveries)
