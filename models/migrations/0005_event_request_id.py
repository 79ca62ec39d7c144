"""Each event records the X-Request-ID of the request that made it (CONTRACT §16), so that
its deliveries log under that id. Events that exist, and those the sweep writes, have none."""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [('models', '0004_refund_count')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Event',
            name='request_id',
            field=fields.CharField(max_length=128, null=True),
        ),
    ]
