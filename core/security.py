"""Passwords, tokens and keys. Pure functions; the secrets themselves come from the caller."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
import time
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_BASE62 = string.ascii_letters + string.digits
_hasher = PasswordHasher()  # argon2id with the library's recommended parameters

MIN_PASSWORD_LENGTH = 8
# The most common leaked passwords of 8+ characters; anything shorter is refused anyway.
COMMON_PASSWORDS = frozenset("""
    password password1 password123 passw0rd 12345678 123456789 1234567890 11111111 00000000
    12341234 87654321 qwertyuiop qwerty123 1q2w3e4r 1qaz2wsx iloveyou sunshine princess
    football baseball welcome1 welcome123 letmein1 trustno1 superman starwars abc12345
    abcd1234 admin123 administrator changeme monkey123 dragon123 master123 qwerty12 asdfghjk
    asdfasdf zaq12wsx michelle jennifer computer internet whatever password! p@ssw0rd
    p@ssword 123123123 987654321 qazwsxedc 1234qwer qwer1234 secret123 letmein123 football1
    baseball1 iloveyou1 princess1 sunshine1 shadow12 master12
""".split())


def password_problem(password: str) -> str | None:
    """Why a password is too weak, or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Password must be at least {MIN_PASSWORD_LENGTH} characters"
    if password.lower() in COMMON_PASSWORDS or len(set(password)) == 1:
        return "This password is too common"
    return None


def use_password_hasher(hasher: PasswordHasher) -> None:
    """Replace the hasher for new hashes. The test suite uses a cheap one (as Django's test
    settings do), since it registers hundreds of accounts; the gateway never calls this."""
    global _hasher
    _hasher = hasher


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# A hash to verify against when the email is unknown, so both paths cost the same time.
DUMMY_PASSWORD_HASH = hash_password(secrets.token_hex(16))


def random_base62(length: int) -> str:
    """`length` base62 characters from the OS's CSPRNG.

    The low `length` base-62 digits of a uniform 8·length-bit number: bias below 2^-35 per
    string, and one random draw instead of one per character (ids are on every hot path).
    """
    number = int.from_bytes(secrets.token_bytes(length), "big")
    chars = []
    for _ in range(length):
        number, digit = divmod(number, 62)
        chars.append(_BASE62[digit])
    return "".join(chars)


def new_id(prefix: str) -> str:
    """Public object ids: a type prefix and 24 random base62 characters (~143 bits)."""
    return f"{prefix}_{random_base62(24)}"


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def new_api_key() -> str:
    return f"sk_test_{random_base62(40)}"


def api_key_prefix(key: str) -> str:
    """What the dashboard shows of a key: its type and first characters."""
    return key[:12]


def new_client_secret() -> str:
    return f"pi_secret_{random_base62(40)}"


def new_refresh_token() -> str:
    return f"rt_{random_base62(48)}"


def new_invitation_token() -> str:
    return f"inv_{random_base62(40)}"


def keyed_fingerprint(key: str, value: str) -> str:
    """An HMAC that recognises the same card again without storing its number."""
    return hmac.new(key.encode(), value.encode(), hashlib.sha256).hexdigest()


def encode_access_token(secret: str, user_id: str, session_id: str, ttl_seconds: int) -> str:
    now = int(time.time())
    claims = {"sub": user_id, "sid": session_id, "iat": now, "exp": now + ttl_seconds,
              "typ": "access"}
    return jwt.encode(claims, secret, algorithm="HS256")


def decode_access_token(secret: str, token: str) -> dict[str, Any] | None:
    """The claims of a valid, unexpired access token, or None."""
    try:
        claims = jwt.decode(token, secret, algorithms=["HS256"],
                            options={"require": ["sub", "sid", "exp"]})
    except jwt.PyJWTError:
        return None
    return claims if claims.get("typ") == "access" else None
