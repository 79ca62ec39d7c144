"""Webhook endpoints (CONTRACT §14): the endpoints, what each is owed of each event, and the
endpoint of each logged attempt.

Existing data: every merchant with a webhook URL gets its default endpoint (`enabledEvents`
["*"], its secret and a rotation's previous secret kept); each of its events that was owed,
delivered or failed becomes a pair with that endpoint, state, attempts and schedule included,
so nothing in flight is lost; past attempts are attached to it. The merchants' webhook columns
and the events' delivery columns stay (unused but for `events.delivery_state`, now a hint):
dropping a column rebuilds the table on SQLite, and a rebuild cascades deletes.
"""

import functools
from json import dumps, loads

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

from core.security import new_id
from core.webhooks import new_webhook_secret
from models.webhooks import WebhookEndpoint

new_we_id = WebhookEndpoint._meta.fields_map['id'].default  # `we_…`, as the model makes


async def default_endpoints(apps, schema_editor) -> None:
    client = schema_editor.client
    postgres = client.capabilities.dialect == "postgres"

    def marks(count: int) -> list[str]:
        return [f"${n}" if postgres else "?" for n in range(1, count + 1)]

    id_mark, secret_mark, merchant_mark = marks(3)
    merchants = await client.execute_query_dict(
        "SELECT id FROM merchants WHERE webhook_url IS NOT NULL AND webhook_url <> ''")
    for merchant in merchants:
        await client.execute_query(
            "INSERT INTO webhook_endpoints (id, merchant_id, url, description, enabled_events, "
            "status, disabled_reason, secret, previous_secret, previous_secret_until, "
            "is_default, failing_since, created_at) "
            f"SELECT {id_mark}, id, webhook_url, NULL, '[\"*\"]', 'ENABLED', NULL, "
            f"coalesce(webhook_secret, {secret_mark}), previous_webhook_secret, "
            "previous_secret_expires_at, TRUE, NULL, created_at "
            f"FROM merchants WHERE id = {merchant_mark}",
            [new_id("we"), new_webhook_secret(), merchant["id"]])
    await client.execute_query(
        "INSERT INTO endpoint_deliveries (event_id, endpoint_id, state, attempt_count, "
        "retry_base, next_attempt_at, lease_until) "
        "SELECT event.id, endpoint.id, event.delivery_state, event.attempt_count, "
        "event.retry_base, event.next_attempt_at, NULL "
        "FROM events AS event JOIN webhook_endpoints AS endpoint "
        "ON endpoint.merchant_id = event.merchant_id "
        "WHERE event.delivery_state IN ('PENDING', 'FAILED', 'DELIVERED')")
    await client.execute_query(
        "UPDATE webhook_deliveries SET endpoint_id = (SELECT endpoint.id "
        "FROM events AS event JOIN webhook_endpoints AS endpoint "
        "ON endpoint.merchant_id = event.merchant_id "
        "WHERE event.id = webhook_deliveries.event_id)")


class Migration(migrations.Migration):
    dependencies = [('models', '0006_checkout_experience')]

    initial = False

    operations = [
        ops.CreateModel(
            name='WebhookEndpoint',
            fields=[
                ('id', fields.CharField(primary_key=True, default=new_we_id, unique=True,
                                        db_index=True, max_length=40)),
                ('merchant', fields.ForeignKeyField(
                    'models.Merchant', source_field='merchant_id', db_constraint=True,
                    to_field='id', related_name='webhook_endpoints',
                    on_delete=OnDelete.CASCADE)),
                ('url', fields.CharField(max_length=2048)),
                ('description', fields.CharField(null=True, max_length=500)),
                ('enabled_events', fields.JSONField(
                    encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('status', fields.CharField(default='ENABLED', max_length=10)),
                ('disabled_reason', fields.CharField(null=True, max_length=500)),
                ('secret', fields.CharField(max_length=80)),
                ('previous_secret', fields.CharField(null=True, max_length=80)),
                ('previous_secret_until', fields.DatetimeField(null=True, auto_now=False,
                                                               auto_now_add=False)),
                ('is_default', fields.BooleanField(default=False)),
                ('failing_since', fields.DatetimeField(null=True, auto_now=False,
                                                       auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'webhook_endpoints', 'app': 'models',
                     'indexes': [Index(fields=['merchant_id', 'created_at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='EndpointDelivery',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True,
                                          db_index=True)),
                ('event', fields.ForeignKeyField(
                    'models.Event', source_field='event_id', db_constraint=True, to_field='id',
                    related_name='endpoint_deliveries', on_delete=OnDelete.CASCADE)),
                ('endpoint', fields.ForeignKeyField(
                    'models.WebhookEndpoint', source_field='endpoint_id', db_constraint=True,
                    to_field='id', related_name='deliveries', on_delete=OnDelete.CASCADE)),
                ('state', fields.CharField(max_length=10)),
                ('attempt_count', fields.IntField(default=0)),
                ('retry_base', fields.IntField(default=0)),
                ('next_attempt_at', fields.DatetimeField(null=True, auto_now=False,
                                                         auto_now_add=False)),
                ('lease_until', fields.DatetimeField(null=True, auto_now=False,
                                                     auto_now_add=False)),
            ],
            options={'table': 'endpoint_deliveries', 'app': 'models',
                     'unique_together': (('event', 'endpoint'),),
                     'indexes': [Index(fields=['state', 'next_attempt_at']),
                                 Index(fields=['endpoint_id', 'state'])],
                     'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.AddField(model_name='WebhookDelivery', name='endpoint_id',
                     field=fields.CharField(null=True, max_length=40)),
        ops.RunPython(default_endpoints),
    ]
