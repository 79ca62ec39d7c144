"""Relay paging over any merchant's list: newest first by (created_at, id), `first` at most
100 (CONTRACT §4), continuing past an `after` cursor."""

from __future__ import annotations

from typing import Any

from tortoise.expressions import Q

from core import cursors
from core.errors import invalid
from resolvers.access import Caller, authorize

MAX_PAGE = 100


def cursor_of(row: Any) -> str:
    return cursors.encode(row.created_at, row.id)


def page_size(first: int) -> int:
    if not 0 <= first <= MAX_PAGE:
        raise invalid("first", f"first must be between 0 and {MAX_PAGE}")
    return first


def keyset(query: Any, after: str | None) -> Any:
    """Newest first, by (created_at, id); `after` continues past a cursor."""
    if after:
        created, object_id = cursors.decode(after)
        query = query.filter(Q(created_at__lt=created) | Q(created_at=created, id__lt=object_id))
    return query.order_by("-created_at", "-id")


async def page(query: Any, first: int, after: str | None) -> tuple[list[Any], bool]:
    """One page of rows, and whether more follow."""
    rows = await keyset(query, after).limit(page_size(first) + 1)
    return rows[:first], len(rows) > first


async def merchant_page(caller: Caller, model: Any, merchant_id: str | None, permission: str,
                        first: int, after: str | None,
                        status: Any = None) -> tuple[list[Any], bool]:
    """One page of a merchant's rows (newest first), optionally of one status."""
    query = model.filter(merchant_id=await list_merchant_id(caller, merchant_id, permission))
    if status is not None:
        query = query.filter(status=status)
    return await page(query, first, after)


async def list_merchant_id(caller: Caller, merchant_id: str | None, permission: str) -> str:
    """Which merchant a list reads: the key's own, or (user token) the one named."""
    if caller.api_key is not None:
        merchant_id = merchant_id or caller.api_key.merchant_id
    elif merchant_id is None:
        caller.require_user()
        raise invalid("merchantId", "merchantId is required with a user token")
    await authorize(caller, merchant_id, permission)
    return merchant_id
