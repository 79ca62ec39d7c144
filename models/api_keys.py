from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from models.base import id_field


class ApiKey(Model):
    id = id_field("key")
    merchant = fields.ForeignKeyField("models.Merchant", related_name="api_keys",
                                      on_delete=fields.CASCADE)
    name = fields.CharField(max_length=100)
    prefix = fields.CharField(max_length=16)
    key_hash = fields.CharField(max_length=64, unique=True)  # SHA-256; the key is never stored
    created_by = fields.ForeignKeyField("models.User", related_name="api_keys_created",
                                        null=True, on_delete=fields.SET_NULL)
    created_at = fields.DatetimeField(auto_now_add=True)
    last_used_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "api_keys"
