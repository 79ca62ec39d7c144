"""What an intent is for (CONTRACT §17): its line items, and the languages of the page."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core import limits
from core.errors import invalid
from core.validation import text

MAX_NAME_LENGTH = 200
MAX_QUANTITY = 999
LOCALES = ("en", "fr", "ar")
FIELD = "lineItems"


@dataclass(frozen=True)
class LineItem:
    name: str
    quantity: int
    unit_amount: int


def line_items(items: list[LineItem] | None, amount: int) -> list[dict[str, Any]] | None:
    """The items as stored ({"name", "quantity", "unit_amount", "amount"}), or None without
    any; their quantity × unit amount must add up to the intent's amount."""
    if items is None:
        return None
    if len(items) > limits.LINE_ITEMS_PER_INTENT:
        raise invalid(FIELD, f"At most {limits.LINE_ITEMS_PER_INTENT} line items")
    stored = [_line_item(item, index) for index, item in enumerate(items)]
    if sum(item["amount"] for item in stored) != amount:
        raise invalid(FIELD, "The line items' quantity × unitAmount must add up to amount")
    return stored


def _line_item(item: LineItem, index: int) -> dict[str, Any]:
    name = text(item.name, (FIELD, str(index), "name"), max_length=MAX_NAME_LENGTH)
    if not 1 <= item.quantity <= MAX_QUANTITY:
        raise invalid((FIELD, str(index), "quantity"), f"Must be 1 to {MAX_QUANTITY}")
    if item.unit_amount < 0:
        raise invalid((FIELD, str(index), "unitAmount"), "Must be 0 or more")
    return {"name": name, "quantity": item.quantity, "unit_amount": item.unit_amount,
            "amount": item.quantity * item.unit_amount}


def locale(value: str | None, field: str = "locale") -> str | None:
    """ "en", "fr" or "ar"; None leaves the choice to the shopper's browser."""
    if value is None:
        return None
    if value not in LOCALES:
        raise invalid(field, 'Must be "en", "fr" or "ar"')
    return value
