from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import PartialIndex

class Migration(migrations.Migration):
    dependencies = [('models', '0001_initial')]

    initial = False

    operations = [
        ops.RemoveIndex(
            model_name='PaymentIntent',
            name=None,
            fields=['status', 'expires_at'],
        ),
        ops.RemoveIndex(
            model_name='PaymentIntent',
            name=None,
            fields=['status', 'authorized_at'],
        ),
        ops.AddIndex(
            model_name='PaymentIntent',
            index=PartialIndex(fields=['expires_at'], name='payment_intents_due', condition={'status': 'AWAITING_PAYMENT_METHOD'}),
        ),
        ops.AddIndex(
            model_name='PaymentIntent',
            index=PartialIndex(fields=['authorized_at'], name='payment_intents_authorized', condition={'status': 'AUTHORIZED'}),
        ),
    ]
