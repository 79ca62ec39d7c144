"""Money after payment (CONTRACT §13): the ledger (balance transactions) and its running
totals, payouts, disputes, the fleet-wide schedule of automatic payouts; on merchants the
payout schedule (AUTOMATIC for merchants that exist) and the encrypted payout destination;
on intents the fee, the dispute test card's flag and the dispute's status.

The ledger is append-only: a trigger refuses UPDATE and DELETE on `balance_transactions`, on
PostgreSQL and on SQLite alike. Merchants are never deleted (intents already hold them with
ON DELETE RESTRICT), so the trigger blocks nothing the gateway does.
"""

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.indexes import Index, PartialIndex
from tortoise.migrations import operations as ops

import models.money  # noqa: F401 - registers the id factories below
from models.base import new_dp_id, new_po_id, new_txn_id
from models.money import DisputeStatus, PayoutStatus, TransactionType

APPEND_ONLY = "The ledger is append-only: balance transactions are never updated or deleted"
POSTGRES_TRIGGER = [
    f"""CREATE OR REPLACE FUNCTION balance_transactions_append_only() RETURNS trigger
        LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '{APPEND_ONLY}'; END $$""",
    """CREATE TRIGGER balance_transactions_append_only BEFORE UPDATE OR DELETE
        ON balance_transactions FOR EACH ROW EXECUTE FUNCTION balance_transactions_append_only()""",
    """CREATE TRIGGER balance_transactions_no_truncate BEFORE TRUNCATE
        ON balance_transactions FOR EACH STATEMENT
        EXECUTE FUNCTION balance_transactions_append_only()""",
]
SQLITE_TRIGGER = [
    f"""CREATE TRIGGER balance_transactions_no_update BEFORE UPDATE ON balance_transactions
        BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END""",
    f"""CREATE TRIGGER balance_transactions_no_delete BEFORE DELETE ON balance_transactions
        BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END""",
]


async def append_only_ledger(apps, schema_editor) -> None:
    client = schema_editor.client
    postgres = client.capabilities.dialect == "postgres"
    for statement in POSTGRES_TRIGGER if postgres else SQLITE_TRIGGER:
        await client.execute_script(statement)


def _merchant(related_name):
    return fields.ForeignKeyField('models.Merchant', source_field='merchant_id',
                                  db_constraint=True, to_field='id', related_name=related_name,
                                  on_delete=OnDelete.RESTRICT)


def _moment(null=False):
    return fields.DatetimeField(null=null, auto_now=False, auto_now_add=False)


def _id(default):
    return fields.CharField(primary_key=True, default=default, unique=True, db_index=True,
                            max_length=40)


class Migration(migrations.Migration):
    dependencies = [('models', '0007_webhook_endpoints')]

    initial = False

    operations = [
        ops.CreateModel(
            name='BalanceTransaction',
            fields=[
                ('id', _id(new_txn_id)),
                ('merchant', _merchant('balance_transactions')),
                ('type', fields.CharEnumField(enum_type=TransactionType, max_length=20)),
                ('amount', fields.BigIntField()),
                ('fee', fields.BigIntField()),
                ('net', fields.BigIntField()),
                ('currency', fields.CharField(max_length=3)),
                ('available_on', _moment()),
                ('created_at', _moment()),
                ('payment_intent_id', fields.CharField(null=True, max_length=40)),
                ('refund_id', fields.CharField(null=True, max_length=40)),
                ('dispute_id', fields.CharField(null=True, max_length=40)),
                ('payout_id', fields.CharField(null=True, max_length=40)),
                ('description', fields.CharField(null=True, max_length=500)),
            ],
            options={'table': 'balance_transactions', 'app': 'models', 'pk_attr': 'id',
                     'indexes': [Index(fields=['merchant_id', 'created_at', 'id']),
                                 Index(fields=['merchant_id', 'available_on']),
                                 Index(fields=['payment_intent_id']),
                                 Index(fields=['payout_id'])]},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='BalanceTotal',
            fields=[
                ('id', fields.CharField(primary_key=True, unique=True, db_index=True,
                                        max_length=48)),
                ('merchant', _merchant('balance_totals')),
                ('currency', fields.CharField(max_length=3)),
                ('net', fields.BigIntField()),
            ],
            options={'table': 'balance_totals', 'app': 'models', 'pk_attr': 'id',
                     'indexes': [Index(fields=['merchant_id', 'currency'])]},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Payout',
            fields=[
                ('id', _id(new_po_id)),
                ('merchant', _merchant('payouts')),
                ('amount', fields.BigIntField()),
                ('currency', fields.CharField(max_length=3)),
                ('status', fields.CharEnumField(enum_type=PayoutStatus, max_length=12)),
                ('automatic', fields.BooleanField()),
                ('destination_last4', fields.CharField(max_length=4)),
                ('arrival_date', _moment()),
                ('failure_code', fields.CharField(null=True, max_length=40)),
                ('created_at', _moment()),
                ('updated_at', _moment()),
            ],
            options={'table': 'payouts', 'app': 'models', 'pk_attr': 'id',
                     'indexes': [Index(fields=['merchant_id', 'created_at', 'id']),
                                 PartialIndex(fields=['arrival_date'], name='payouts_in_transit',
                                              condition={'status': 'IN_TRANSIT'})]},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Dispute',
            fields=[
                ('id', _id(new_dp_id)),
                ('merchant', _merchant('disputes')),
                ('payment_intent', fields.ForeignKeyField(
                    'models.PaymentIntent', source_field='payment_intent_id', db_constraint=True,
                    to_field='id', related_name='disputes', on_delete=OnDelete.RESTRICT)),
                ('amount', fields.BigIntField()),
                ('currency', fields.CharField(max_length=3)),
                ('reason', fields.CharField(max_length=40)),
                ('status', fields.CharEnumField(enum_type=DisputeStatus, max_length=16)),
                ('evidence', fields.TextField(null=True)),
                ('evidence_due_by', _moment()),
                ('review_due_at', _moment(null=True)),
                ('created_at', _moment()),
                ('closed_at', _moment(null=True)),
            ],
            options={'table': 'disputes', 'app': 'models', 'pk_attr': 'id',
                     'indexes': [Index(fields=['merchant_id', 'created_at', 'id']),
                                 Index(fields=['status', 'evidence_due_by']),
                                 Index(fields=['status', 'review_due_at'])]},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Schedule',
            fields=[
                ('name', fields.CharField(primary_key=True, unique=True, db_index=True,
                                          max_length=40)),
                ('next_run_at', _moment()),
            ],
            options={'table': 'schedules', 'app': 'models', 'pk_attr': 'name'},
            bases=['Model'],
        ),
        ops.AddField(model_name='Merchant', name='payout_schedule', field=fields.CharField(
            default='AUTOMATIC', db_default='AUTOMATIC', max_length=10)),
        ops.AddField(model_name='Merchant', name='payout_destination',
                     field=fields.TextField(null=True)),
        ops.AddField(model_name='Merchant', name='payout_destination_last4',
                     field=fields.CharField(null=True, max_length=4)),
        ops.AddField(model_name='PaymentIntent', name='fee',
                     field=fields.BigIntField(null=True)),
        ops.AddField(model_name='PaymentIntent', name='disputes_on_capture',
                     field=fields.BooleanField(default=False, db_default=False)),
        ops.AddField(model_name='PaymentIntent', name='dispute_due_at', field=_moment(null=True)),
        ops.AddField(model_name='PaymentIntent', name='dispute_status',
                     field=fields.CharField(null=True, max_length=16)),
        ops.AddIndex(model_name='PaymentIntent', index=Index(fields=['dispute_due_at'])),
        ops.RunPython(append_only_ledger),
    ]
