"""Webhook endpoints (CONTRACT §14) and what each is owed: one row per (event, endpoint)."""

from __future__ import annotations

from enum import Enum

from tortoise import fields
from tortoise.indexes import PartialIndex
from tortoise.models import Model

from models.base import id_field


class EndpointStatus(str, Enum):
    ENABLED = "ENABLED"
    DISABLED = "DISABLED"  # nothing is sent; its deliveries are held


class PairState(str, Enum):
    PENDING = "PENDING"  # due at next_attempt_at
    DELIVERED = "DELIVERED"  # a 2xx was recorded
    FAILED = "FAILED"  # every attempt of the round used; redeliverEvent or recover sends again
    HELD = "HELD"  # the endpoint was disabled when its turn came; recover sends it


class WebhookEndpoint(Model):
    id = id_field("we")
    merchant = fields.ForeignKeyField("models.Merchant", related_name="webhook_endpoints",
                                      on_delete=fields.CASCADE)
    url = fields.CharField(max_length=2048)
    description = fields.CharField(max_length=500, null=True)
    # "*" or event types; matched in Python (SQLite) and by jsonb `?` (PostgreSQL, models.sql)
    enabled_events = fields.JSONField()
    status = fields.CharField(max_length=10, default=EndpointStatus.ENABLED.value)
    disabled_reason = fields.CharField(max_length=500, null=True)
    secret = fields.CharField(max_length=80)
    # After a rotation the previous secret also signs, until this moment.
    previous_secret = fields.CharField(max_length=80, null=True)
    previous_secret_until = fields.DatetimeField(null=True)
    # The merchant's settings' webhookUrl/webhookSecret (CONTRACT §14): at most one per merchant.
    is_default = fields.BooleanField(default=False)
    # When the current run of failed attempts began (None after a success): auto-disable.
    failing_since = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "webhook_endpoints"
        indexes = (("merchant_id", "created_at"),)


class EndpointDelivery(Model):
    # What one endpoint is owed of one event: its own attempts, schedule and lease. Written in
    # the transaction (the statement, on PostgreSQL) of the event itself.

    id = fields.BigIntField(primary_key=True, generated=True)
    event = fields.ForeignKeyField("models.Event", related_name="endpoint_deliveries",
                                   on_delete=fields.CASCADE)
    endpoint = fields.ForeignKeyField("models.WebhookEndpoint", related_name="deliveries",
                                      on_delete=fields.CASCADE)
    state = fields.CharField(max_length=10)
    attempt_count = fields.IntField(default=0)
    # attempt_count when the current round of retries began (a redelivery starts a new round)
    retry_base = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField(null=True)
    # Whoever holds an unexpired lease is delivering the pair; nobody else may.
    lease_until = fields.DatetimeField(null=True)

    class Meta:
        table = "endpoint_deliveries"
        unique_together = (("event", "endpoint"),)
        # Every query of due deliveries wants the PENDING ones: a delivered pair leaves it.
        indexes = (PartialIndex(fields=("next_attempt_at",), name="endpoint_deliveries_due",
                                condition={"state": "PENDING"}), ("endpoint_id", "state"))
