"""Where the shopper goes back to (CONTRACT §7)."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

SESSION_PLACEHOLDER = "{CHECKOUT_SESSION_ID}"


def return_url(template: str, intent_id: str) -> str:
    """The merchant's URL with `{CHECKOUT_SESSION_ID}` filled in and `payment_intent=<id>`."""
    url = template.replace(SESSION_PLACEHOLDER, intent_id)
    parts = urlsplit(url)
    query = f"{parts.query}&payment_intent={intent_id}" if parts.query \
        else f"payment_intent={intent_id}"
    return urlunsplit(parts._replace(query=query))


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
