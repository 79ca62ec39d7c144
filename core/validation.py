"""Checks of single input values. Each raises a VALIDATION_ERROR naming the field."""

from __future__ import annotations

import ipaddress
import re
from typing import Any
from urllib.parse import urlsplit

import idna

from core.errors import invalid

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_EMAIL = re.compile(rf"^[^@\s]{{1,64}}@{_LABEL}(?:\.{_LABEL})+$")
_PHONE = re.compile(r"^\+?[0-9 ().-]{5,25}$")

# Free text may hold tab, newline and carriage return; every other string holds no control
# character at all (CONTRACT §12.5). C0, DEL and C1 controls are all "control characters".
FREE_TEXT_FIELDS = frozenset({"description", "reason", "evidence"})
# Outside free text, bidi overrides, embeddings and isolates are refused too: a name holding
# U+202E shows its text reversed ("Total: $1.00" spelt backwards).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_CONTROL_IN_FREE_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# Public ids: a lower-case type prefix, "_", base62 (core.security.new_id); the column is 40.
_ID = re.compile(r"[a-z]{1,12}_[A-Za-z0-9]{1,32}")
MAX_ID_LENGTH = 40

MAX_EMAIL_LENGTH = 254  # RFC 5321's path limit, and the columns' size

MAX_METADATA_KEYS = 50
MAX_METADATA_KEY_LENGTH = 40
MAX_METADATA_VALUE_LENGTH = 500


def text_problem(value: str, *, free_text: bool = False) -> str | None:
    """Why a string may not enter the gateway at all, or None: the one text-hygiene rule."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "Must be valid Unicode text (no lone surrogates)"
    control = _CONTROL_IN_FREE_TEXT if free_text else _CONTROL
    if control.search(value):
        return "Must not contain control characters" if not free_text \
            else "Must not contain control characters other than tab and line breaks"
    return None


def is_well_formed_id(value: object) -> bool:
    """An id the gateway could have made; anything else can only read as not found."""
    return isinstance(value, str) and len(value) <= MAX_ID_LENGTH and bool(_ID.fullmatch(value))


def email(value: str, field: str = "email") -> str:
    """A normalised (trimmed, lower-case) email address."""
    normalised = value.strip().lower()
    if len(normalised) > MAX_EMAIL_LENGTH or not _EMAIL.match(normalised):
        raise invalid(field, "Enter a valid email address")
    return normalised


def text(value: str, field: str, *, max_length: int = 200, required: bool = True) -> str:
    cleaned = value.strip()
    if required and not cleaned:
        raise invalid(field, "This field is required")
    if len(cleaned) > max_length:
        raise invalid(field, f"Must be at most {max_length} characters")
    problem = text_problem(cleaned, free_text=field in FREE_TEXT_FIELDS)
    if problem:
        raise invalid(field, problem)
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
    if any(ch.isspace() for ch in cleaned) or text_problem(cleaned):
        raise invalid(field, "A URL cannot contain spaces or control characters")
    if not is_valid_host(parts.hostname):
        raise invalid(field, "The URL's host must be a valid domain name or IP address")
    return cleaned


def is_valid_host(host: str) -> bool:
    """A DNS name that IDNA encodes (letters, digits, hyphens per label) or an IP literal.

    This keeps `;`, `,`, quotes and the like out of every header a URL's host lands in
    (the checkout page's CSP) and out of the HTTP client's IDNA encoder at delivery.
    """
    if "%" in host:  # an IPv6 zone id: free text, and meaningless beyond this machine
        return False
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    try:
        encoded = idna.encode(host.rstrip("."), uts46=True, std3_rules=True)
    except (idna.IDNAError, UnicodeError, ValueError):
        return False
    return 0 < len(encoded) <= 253


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
