"""The pending part of the balance from hourly buckets (models.money.BalancePending): the sum
of `net` per merchant, currency and hour of `available_on`, kept with every ledger row. The balance then reads the buckets after the current hour
and the ledger rows of the current hour, not every row of the settlement window.

Only buckets after the current hour are ever read, so the backfill sums the ledger rows that
become available from the current hour on.
"""

from datetime import UTC, datetime, timedelta

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

import models.money  # noqa: F401 - the models the operations name


def _hour(value) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


async def backfill_pending(apps, schema_editor) -> None:
    client = schema_editor.client
    postgres = client.capabilities.dialect == "postgres"
    since = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    rows = await client.execute_query_dict(
        "SELECT merchant_id, currency, available_on, net FROM balance_transactions "
        f"WHERE available_on >= {'$1' if postgres else '?'}",
        [since])
    buckets: dict[tuple[str, str, datetime], int] = {}
    for row in rows:
        key = (row["merchant_id"], row["currency"], _hour(row["available_on"]))
        buckets[key] = buckets.get(key, 0) + int(row["net"])
    marks = ", ".join(f"${n}" if postgres else "?" for n in range(1, 6))
    for (merchant_id, currency, hour), net in buckets.items():
        await client.execute_query(
            "INSERT INTO balance_pending (id, merchant_id, currency, available_hour, net) "
            f"VALUES ({marks}) ON CONFLICT (id) DO UPDATE SET net = excluded.net",
            [f"{merchant_id}:{currency}:{int(hour.timestamp())}", merchant_id, currency,
             hour, net])


class Migration(migrations.Migration):
    dependencies = [('models', '0008_money')]

    initial = False

    operations = [
        ops.CreateModel(
            name='BalancePending',
            fields=[
                ('id', fields.CharField(primary_key=True, unique=True, db_index=True,
                                        max_length=64)),
                ('merchant', fields.ForeignKeyField(
                    'models.Merchant', source_field='merchant_id', db_constraint=True,
                    to_field='id', related_name='balance_pending',
                    on_delete=OnDelete.RESTRICT)),
                ('currency', fields.CharField(max_length=3)),
                ('available_hour', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('net', fields.BigIntField()),
            ],
            options={'table': 'balance_pending', 'app': 'models', 'pk_attr': 'id',
                     'indexes': [Index(fields=['merchant_id', 'currency', 'available_hour'])]},
            bases=['Model'],
        ),
        ops.RunPython(backfill_pending),
    ]
