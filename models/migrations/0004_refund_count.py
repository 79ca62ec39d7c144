"""Each intent counts its refunds, so that the cap of refunds per intent (core.limits) is
decided on the intent's own row, under its version check, like every other transition."""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [('models', '0003_invitation_token_hash')]

    initial = False

    operations = [
        ops.AddField(
            model_name='PaymentIntent',
            name='refund_count',
            field=fields.IntField(default=0, db_default=0),  # rows that exist get 0 too
        ),
        ops.RunSQL(
            "UPDATE payment_intents SET refund_count = (SELECT count(*) FROM refunds "
            "WHERE refunds.payment_intent_id = payment_intents.id)",
            reverse_sql="",
        ),
    ]
