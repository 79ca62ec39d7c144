from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from models.base import id_field


class User(Model):
    id = id_field("usr")
    name = fields.CharField(max_length=200)
    email = fields.CharField(max_length=254, unique=True)
    password_hash = fields.CharField(max_length=255)
    failed_login_count = fields.IntField(default=0)
    locked_until = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "users"


class Session(Model):
    # One login: the refresh-token family its access tokens are tied to.

    id = id_field("ses")
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="sessions", on_delete=fields.CASCADE)
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField()
    last_used_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)
    user_agent = fields.CharField(max_length=255, null=True)

    class Meta:
        table = "sessions"


class RefreshToken(Model):
    # A refresh token, by hash. Each is used once; a second use revokes its session.

    token_hash = fields.CharField(primary_key=True, max_length=64)
    session: fields.ForeignKeyRelation[Session] = fields.ForeignKeyField(
        "models.Session", related_name="refresh_tokens", on_delete=fields.CASCADE)
    created_at = fields.DatetimeField(auto_now_add=True)
    used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "refresh_tokens"
