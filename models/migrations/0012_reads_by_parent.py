"""What is read by its parent had no index on it, so each read scanned the whole table: an
event's delivery attempts (`Event.deliveries`, one row per attempt, the fastest-growing
table), an intent's refunds and an intent's disputes."""

from tortoise import migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [('models', '0011_events_by_time')]

    initial = False

    operations = [
        ops.AddIndex(model_name='WebhookDelivery', index=Index(fields=['event_id', 'created_at'])),
        ops.AddIndex(model_name='Refund', index=Index(fields=['payment_intent_id', 'created_at'])),
        ops.AddIndex(model_name='Dispute', index=Index(fields=['payment_intent_id', 'created_at'])),
    ]
