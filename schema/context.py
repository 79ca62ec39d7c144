"""Per-request context: the caller (resolved once, lazily) and request-scoped caches."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from strawberry.dataloader import DataLoader
from strawberry.types import Info

from core.proxies import client_ip
from core.ratelimit import Limits, Verdict
from resolvers import api_keys, auth
from resolvers.access import Caller


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
    ip = client_ip(request)
    key = presented_api_key(request)
    if key is not None:
        return Caller(api_key=await api_keys.authenticate(key), ip=ip)
    token = bearer_token(request)
    if token is not None:
        caller = await auth.authenticate_access_token(token)
        caller.ip = ip
        return caller
    return Caller(ip=ip)


@dataclass
class Context:
    request: Request
    response: Any = None
    limits: Limits | None = None
    _caller: Caller | None = None
    loaders: dict[str, Any] = field(default_factory=dict)

    async def caller(self) -> Caller:
        if self._caller is None:
            self._caller = await authenticate(self.request)
        return self._caller

    def auth_throttle(self) -> auth.AuthThrottle:
        """The per-email and per-IP limits of login, register and changePassword; what they
        answer joins the request's limit verdicts (for its X-RateLimit-* headers)."""
        return auth.AuthThrottle(self.limits, client_ip(self.request),
                                 rate_verdicts(self.request))


def rate_verdicts(request: Request) -> list[Verdict]:
    """The verdicts of the limits taken inside the operation, kept on the request's state
    (shared by every Request object built on the same ASGI scope)."""
    if not hasattr(request.state, "rate_verdicts"):
        request.state.rate_verdicts = []
    return request.state.rate_verdicts


async def caller_of(info: Info) -> Caller:
    return await info.context.caller()


def loader(info: Info, name: str, load_fn: Callable[[list[Any]], Awaitable[list[Any]]]
           ) -> DataLoader:
    """The request's DataLoader called `name` (one query for every parent in the response),
    made on first use."""
    loaders = info.context.loaders
    if name not in loaders:
        loaders[name] = DataLoader(load_fn=load_fn)
    return loaders[name]


async def related(model: Any, name: str, kind: type) -> Any:
    """A foreign-key object, from `select_related` when it was loaded, else one query."""
    value = getattr(model, name)
    return value if isinstance(value, kind) else await value
