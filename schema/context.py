"""Per-request context: the caller (resolved once, lazily) and request-scoped caches."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from strawberry.types import Info

from core.permissions import Role
from resolvers import api_keys, auth
from resolvers.access import ANONYMOUS, Caller, role_of, visible_merchant_ids


def presented_api_key(request: Request) -> str | None:
    """`X-API-Key: sk_…`, or `Authorization: Bearer sk_…`."""
    key = request.headers.get("x-api-key")
    if key:
        return key.strip()
    bearer = bearer_token(request)
    return bearer if bearer and bearer.startswith("sk_") else None


def bearer_token(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


async def authenticate(request: Request) -> Caller:
    ip = request.client.host if request.client else None
    key = presented_api_key(request)
    if key is not None:
        return Caller(api_key=await api_keys.authenticate(key), ip=ip)
    token = bearer_token(request)
    if token is not None:
        caller = await auth.authenticate_access_token(token)
        caller.ip = ip
        return caller
    return Caller(ip=ip) if ip else ANONYMOUS


@dataclass
class Context:
    request: Request
    response: Any = None
    _caller: Caller | None = None
    _roles: dict[str, Role | None] = field(default_factory=dict)
    _visible: frozenset[str] | None = None
    loaders: dict[str, Any] = field(default_factory=dict)

    async def caller(self) -> Caller:
        if self._caller is None:
            self._caller = await authenticate(self.request)
        return self._caller

    async def visible_merchants(self) -> frozenset[str]:
        """The merchants this caller may see anything of (resolvers.access), once per
        request."""
        if self._visible is None:
            self._visible = await visible_merchant_ids(await self.caller())
        return self._visible

    async def role_in(self, merchant_id: str) -> Role | None:
        """The calling user's role in a merchant, looked up once per request."""
        caller = await self.caller()
        if caller.user is None:
            return None
        if merchant_id not in self._roles:
            self._roles[merchant_id] = await role_of(caller.user.id, merchant_id)
        return self._roles[merchant_id]


async def caller_of(info: Info) -> Caller:
    return await info.context.caller()


async def related(model: Any, name: str, kind: type) -> Any:
    """A foreign-key object, from `select_related` when it was loaded, else one query."""
    value = getattr(model, name)
    return value if isinstance(value, kind) else await value
