"""Pending buckets by hour: the worker's sweep deletes those of hours already past, which
are never read again (resolvers/money/ledger.forget_past_buckets)."""

from tortoise import migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [('models', '0012_reads_by_parent')]

    initial = False

    operations = [
        ops.AddIndex(model_name='BalancePending', index=Index(fields=['available_hour'])),
    ]
