"""Where the shopper goes back to (CONTRACT §7)."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from core.validation import is_valid_host

SESSION_PLACEHOLDER = "{CHECKOUT_SESSION_ID}"


def return_url(template: str, intent_id: str) -> str:
    """The merchant's URL with `{CHECKOUT_SESSION_ID}` filled in and `payment_intent=<id>`."""
    url = template.replace(SESSION_PLACEHOLDER, intent_id)
    parts = urlsplit(url)
    query = f"{parts.query}&payment_intent={intent_id}" if parts.query \
        else f"payment_intent={intent_id}"
    return urlunsplit(parts._replace(query=query))


def origin(url: str) -> str | None:
    """scheme://host[:port], rebuilt from the parsed parts (no userinfo), for a CSP source.

    Hosts are checked when a URL is accepted (CONTRACT §12.9); a stored URL whose host would
    not pass gives None, so nothing of it reaches a header.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https") or not is_valid_host(host):
        return None
    host = f"[{host}]" if ":" in host else host
    return f"{parts.scheme}://{host}:{parts.port}" if parts.port else f"{parts.scheme}://{host}"
