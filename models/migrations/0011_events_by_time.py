"""Events by `created_at`: every API process's live hub reads the events of the last moments
(resolvers/live.py) on each wake-up; without this index each read scanned the whole table."""

from tortoise import migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [('models', '0010_lean_indexes')]

    initial = False

    operations = [
        ops.AddIndex(model_name='Event', index=Index(fields=['created_at'])),
    ]
