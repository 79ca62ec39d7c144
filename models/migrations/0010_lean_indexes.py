"""Fewer index entries per payment: each one is a B-tree insert in the statement that
creates, confirms or expires an intent.

- events (delivery_state, next_attempt_at): no query reads it since deliveries became
  (event, endpoint) pairs (0007); every event paid an entry for it.
- payment_intents (dispute_due_at): an entry for every intent, where only those paid with the
  dispute test card ever have a due date; now partial, over those.
- endpoint_deliveries (state, next_attempt_at): every query on it wants the PENDING ones
  (the pump's claim, the backlog gauge, the sweep's overdue scan); now partial, over those, so
  a delivered pair leaves it.
"""

from tortoise import migrations
from tortoise.indexes import PartialIndex
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [('models', '0009_pending_buckets')]

    initial = False

    operations = [
        ops.RemoveIndex(model_name='Event', name=None,
                        fields=['delivery_state', 'next_attempt_at']),
        ops.RemoveIndex(model_name='PaymentIntent', name=None, fields=['dispute_due_at']),
        ops.AddIndex(model_name='PaymentIntent', index=PartialIndex(
            fields=['dispute_due_at'], name='payment_intents_dispute_due',
            condition={'disputes_on_capture': True})),
        ops.RemoveIndex(model_name='EndpointDelivery', name=None,
                        fields=['state', 'next_attempt_at']),
        ops.AddIndex(model_name='EndpointDelivery', index=PartialIndex(
            fields=['next_attempt_at'], name='endpoint_deliveries_due',
            condition={'state': 'PENDING'})),
    ]
