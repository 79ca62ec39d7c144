"""Checks of single input values. Each raises a VALIDATION_ERROR naming the field."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from core.errors import invalid

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_EMAIL = re.compile(rf"^[^@\s]{{1,64}}@{_LABEL}(?:\.{_LABEL})+$")
_PHONE = re.compile(r"^\+?[0-9 ().-]{5,25}$")

MAX_METADATA_KEYS = 50
MAX_METADATA_KEY_LENGTH = 40
MAX_METADATA_VALUE_LENGTH = 500


def email(value: str, field: str = "email") -> str:
    """A normalised (trimmed, lower-case) email address."""
    normalised = value.strip().lower()
    if len(normalised) > 254 or not _EMAIL.match(normalised):
        raise invalid(field, "Enter a valid email address")
    return normalised


def text(value: str, field: str, *, max_length: int = 200, required: bool = True) -> str:
    cleaned = value.strip()
    if required and not cleaned:
        raise invalid(field, "This field is required")
    if len(cleaned) > max_length:
        raise invalid(field, f"Must be at most {max_length} characters")
    if any(ord(ch) < 32 and ch not in "\t\n" for ch in cleaned):
        raise invalid(field, "Must not contain control characters")
    return cleaned


def optional_text(value: str | None, field: str, *, max_length: int = 200) -> str | None:
    if value is None:
        return None
    cleaned = text(value, field, max_length=max_length, required=False)
    return cleaned or None


def http_url(value: str, field: str) -> str:
    """An absolute http(s) URL with a host."""
    cleaned = value.strip()
    try:
        parts = urlsplit(cleaned)
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        raise invalid(field, "Enter an absolute http(s) URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or len(cleaned) > 2048:
        raise invalid(field, "Enter an absolute http(s) URL")
    if any(ch.isspace() or ord(ch) < 32 for ch in cleaned):
        raise invalid(field, "A URL cannot contain spaces or control characters")
    return cleaned


def optional_url(value: str | None, field: str) -> str | None:
    return None if value is None or not value.strip() else http_url(value, field)


def phone(value: str | None, field: str = "phone") -> str | None:
    if value is None or not value.strip():
        return None
    if not _PHONE.match(value.strip()):
        raise invalid(field, "Enter a valid phone number")
    return value.strip()


def idempotency_key(value: str | None) -> str | None:
    if value is None:
        return None
    if not 1 <= len(value) <= 255:
        raise invalid("idempotencyKey", "Must be 1 to 255 characters")
    return value


def metadata(value: Any, field: str = "metadata") -> dict[str, str] | None:
    """A flat object: at most 50 keys of up to 40 characters, string values up to 500."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise invalid(field, "Metadata must be a JSON object")
    if len(value) > MAX_METADATA_KEYS:
        raise invalid(field, f"Metadata holds at most {MAX_METADATA_KEYS} keys")
    for key, item in value.items():
        if not 1 <= len(key) <= MAX_METADATA_KEY_LENGTH:
            raise invalid(field, f"Metadata keys are 1 to {MAX_METADATA_KEY_LENGTH} characters")
        if not isinstance(item, str) or len(item) > MAX_METADATA_VALUE_LENGTH:
            raise invalid(field, f"Metadata values are strings of at most "
                                 f"{MAX_METADATA_VALUE_LENGTH} characters")
    return dict(value)
