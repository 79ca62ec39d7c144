"""The checkout page's look and what an intent is for (CONTRACT §17): each merchant's
branding (colours and corners with their defaults on rows that exist, an optional display name
and logo), the logos themselves (content-addressed), and each intent's line items, locale and
button wording (PAY for intents that exist)."""

import functools
from json import dumps, loads

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


def _merchant_field(name, field):
    return ops.AddField(model_name='Merchant', name=name, field=field)


def _intent_field(name, field):
    return ops.AddField(model_name='PaymentIntent', name=name, field=field)


class Migration(migrations.Migration):
    dependencies = [('models', '0005_event_request_id')]

    initial = False

    operations = [
        ops.CreateModel(
            name='MerchantLogo',
            fields=[
                ('sha256', fields.CharField(primary_key=True, unique=True, db_index=True,
                                            max_length=64)),
                ('content_type', fields.CharField(max_length=20)),
                ('data', fields.BinaryField()),
            ],
            options={'table': 'merchant_logos', 'app': 'models', 'pk_attr': 'sha256'},
            bases=['Model'],
        ),
        _merchant_field('background_color',
                        fields.CharField(default='#ffffff', db_default='#ffffff', max_length=7)),
        _merchant_field('border_style',
                        fields.CharField(default='ROUNDED', db_default='ROUNDED', max_length=10)),
        _merchant_field('button_color',
                        fields.CharField(default='#635bff', db_default='#635bff', max_length=7)),
        _merchant_field('display_name', fields.CharField(null=True, max_length=100)),
        _merchant_field('logo_content_type', fields.CharField(null=True, max_length=20)),
        _merchant_field('logo_sha256', fields.CharField(null=True, max_length=64)),
        _merchant_field('primary_color',
                        fields.CharField(default='#1a1f36', db_default='#1a1f36', max_length=7)),
        _intent_field('line_items', fields.JSONField(
            null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
        _intent_field('locale', fields.CharField(null=True, max_length=5)),
        _intent_field('submit_type',
                      fields.CharField(default='PAY', db_default='PAY', max_length=10)),
    ]
