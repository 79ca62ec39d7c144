"""Accounts: register, log in, refresh, log out, change password, authenticate a token."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import timedelta

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F, Q
from tortoise.transactions import in_transaction

from core import limits, security, validation
from core.clock import now
from core.config import get_settings
from core.errors import ErrorCode, UserError, unauthenticated
from core.ratelimit import Limits, LimitStore, Verdict, rate_limited
from models.users import RefreshToken, Session, User
from resolvers.access import Caller
from resolvers.cpu import Gate

MAX_FAILED_LOGINS = 5
LOCK_DURATION = timedelta(minutes=30)
# When MAX_FAILED_LOGINS attempts are being checked at once, the next waits for their verdict.
ATTEMPTS_IN_FLIGHT_RETRY_SECONDS = 1


@dataclass
class Tokens:
    access_token: str
    refresh_token: str
    expires_in: int
    user: User
    token_type: str = "Bearer"


# Argon2 costs ~100 ms of CPU a hash: at most HASH_CONCURRENCY at once per process
# (CONTRACT §12.4), so a burst of logins queues here instead of starving every other request.
_hashing = Gate(lambda: get_settings().hash_concurrency)


async def _hash(password: str) -> str:
    """Argon2 costs tens of milliseconds of CPU: off the event loop, a few at a time."""
    return await _hashing.run(security.hash_password, password)


async def _verify(password_hash: str, password: str) -> bool:
    return await _hashing.run(security.verify_password, password_hash, password)


@dataclass(frozen=True)
class AuthThrottle:
    """Where an account operation comes from: login, register and changePassword have their
    own limits per email and per IP (CONTRACT §12.4), on the app's limit store."""

    limits: Limits
    client_ip: str
    verdicts: list[Verdict] = field(default_factory=list)  # for the X-RateLimit-* headers

    async def admit(self, email: str) -> None:
        """RATE_LIMITED (with `retryAfter`) past either limit; the email is hashed so that no
        address is kept in the store. Each verdict is kept for the response's headers."""
        for limiter, client in ((self.limits.auth_ip, self.client_ip),
                                (self.limits.auth_email,
                                 security.sha256_hex(email.strip().lower()))):
            verdict = await limiter.take(client)
            self.verdicts.append(verdict)
            if verdict.retry_after:
                raise rate_limited(verdict.retry_after)


def _check_password(password: str, field: str) -> None:
    problem = security.password_problem(password)
    if problem:
        raise UserError(ErrorCode.WEAK_PASSWORD, problem, field)


async def register(name: str, email: str, password: str, throttle: AuthThrottle) -> User:
    name = validation.text(name, "name", max_length=200)
    email = validation.email(email)
    await throttle.admit(email)
    _check_password(password, "password")
    if await User.exists(email=email):
        raise _email_taken()
    password_hash = await _hash(password)
    try:
        return await User.create(name=name, email=email, password_hash=password_hash)
    except IntegrityError:  # registered by a concurrent request a moment ago
        raise _email_taken() from None


def _email_taken() -> UserError:
    return UserError(ErrorCode.EMAIL_TAKEN, "An account with this email already exists", "email")


def _bad_credentials() -> UserError:
    return UserError(ErrorCode.INVALID_CREDENTIALS, "Wrong email or password")


async def login(email: str, password: str, throttle: AuthThrottle,
                user_agent: str | None = None) -> Tokens:
    email = email.strip().lower()
    await throttle.admit(email)
    user = await User.get_or_none(email=email) \
        if len(email) <= validation.MAX_EMAIL_LENGTH else None  # no such account can exist
    if user is None:
        await _verify(security.DUMMY_PASSWORD_HASH, password)  # same time either way
        raise _bad_credentials()
    if not await _password_holds(user, password, throttle.limits.store):
        raise await _failed_login(user.id)
    await _clear_failures(user.id)
    return await _open_session(user, user_agent)


async def _password_holds(user: User, password: str, store: LimitStore) -> bool:
    """Whether this attempt proves the password, counted against the lock (CONTRACT §12.4).

    The attempt is counted as a failure *before* the slow check, in one conditional UPDATE, so
    however many arrive at once at most MAX_FAILED_LOGINS are checked per lock window. A right
    password whose check overlapped another attempt on the account proves nothing (it is one
    guess of a burst) and is answered exactly as a wrong one: the answer must not tell which.
    """
    attempt, key = secrets.token_hex(8), f"login:{user.id}"
    await store.begin_attempt(key, attempt)
    try:
        await _count_attempt(user.id)
        right = await _verify(user.password_hash, password)
    finally:
        overlapped = await store.end_attempt(key, attempt)
    return right and not overlapped


def _unlocked() -> Q:
    return Q(locked_until=None) | Q(locked_until__lte=now())


async def _count_attempt(user_id: str) -> None:
    """Count the attempt as a failure up front, unless the account is locked or as many
    attempts as may fail are already counted (some still being checked)."""
    counted = await User.filter(_unlocked(), id=user_id,
                                failed_login_count__lt=MAX_FAILED_LOGINS).update(
        failed_login_count=F("failed_login_count") + 1)
    if counted:
        return
    user = await User.get(id=user_id)
    if user.locked_until and user.locked_until > now():
        raise _locked()
    raise rate_limited(ATTEMPTS_IN_FLIGHT_RETRY_SECONDS)


async def _failed_login(user_id: str) -> UserError:
    """The answer to a failed login, whose failure is already counted: the one that finds
    MAX_FAILED_LOGINS counted locks the account (and starts counting afresh after the lock)."""
    locked = await User.filter(_unlocked(), id=user_id,
                               failed_login_count__gte=MAX_FAILED_LOGINS).update(
        locked_until=now() + LOCK_DURATION, failed_login_count=0)
    return _locked() if locked else _bad_credentials()


async def _clear_failures(user_id: str) -> None:
    """A proven password ends the run of failures, unless the account was locked meanwhile."""
    if not await User.filter(_unlocked(), id=user_id).update(failed_login_count=0):
        raise _locked()


def _locked() -> UserError:
    return UserError(ErrorCode.ACCOUNT_LOCKED,
                     "Too many failed logins: the account is locked for 30 minutes")


async def _open_session(user: User, user_agent: str | None) -> Tokens:
    settings = get_settings()
    async with in_transaction():
        session = await Session.create(
            user=user, user_agent=(user_agent or "")[:255] or None,
            expires_at=now() + timedelta(seconds=settings.refresh_token_ttl_seconds))
        refresh = await _issue_refresh_token(session)
    return _tokens(user, session, refresh)


async def _issue_refresh_token(session: Session) -> str:
    token = security.new_refresh_token()
    await RefreshToken.create(token_hash=security.sha256_hex(token), session=session)
    return token


def _tokens(user: User, session: Session, refresh: str) -> Tokens:
    settings = get_settings()
    access = security.encode_access_token(settings.jwt_secret, user.id, session.id,
                                          settings.access_token_ttl_seconds)
    return Tokens(access, refresh, settings.access_token_ttl_seconds, user)


async def refresh(refresh_token: str) -> Tokens:
    """Rotate: the presented token dies and a new one is issued in the same session.

    A token presented a second time means it was stolen or replayed: the whole session (the
    token family) is revoked, logging out both the thief and the user.
    """
    token_hash = security.sha256_hex(refresh_token)
    record = await RefreshToken.get_or_none(token_hash=token_hash).select_related(
        "session__user")
    if record is None or not _session_alive(record.session):
        raise UserError(ErrorCode.INVALID_CREDENTIALS, "Refresh token is invalid or expired")
    claimed = await RefreshToken.filter(token_hash=token_hash, used_at=None).update(
        used_at=now())
    if not claimed:
        await Session.filter(id=record.session_id).update(revoked_at=now())
        raise UserError(ErrorCode.INVALID_CREDENTIALS,
                        "Refresh token was already used: the session has been revoked")
    session = record.session
    await Session.filter(id=session.id).update(last_used_at=now())
    new_token = await _issue_refresh_token(session)
    return _tokens(session.user, session, new_token)


def _session_alive(session: Session) -> bool:
    return session.revoked_at is None and session.expires_at > now()


async def logout(caller: Caller, everywhere: bool) -> None:
    user = caller.require_user()
    sessions = Session.filter(user_id=user.id) if everywhere else Session.filter(
        id=caller.session_id)
    await sessions.filter(revoked_at=None).update(revoked_at=now())


async def change_password(caller: Caller, old_password: str, new_password: str,
                          throttle: AuthThrottle) -> None:
    user = caller.require_user()
    await throttle.admit(user.email)
    if not await _verify(user.password_hash, old_password):
        raise UserError(ErrorCode.INVALID_CREDENTIALS, "Current password is wrong",
                        "oldPassword")
    _check_password(new_password, "newPassword")
    async with in_transaction():
        await User.filter(id=user.id).update(
            password_hash=await _hash(new_password))
        await Session.filter(user_id=user.id, revoked_at=None).update(revoked_at=now())


async def authenticate_access_token(token: str) -> Caller:
    """The caller behind a bearer JWT; UNAUTHENTICATED unless its session is alive."""
    claims = security.decode_access_token(get_settings().jwt_secret, token)
    if claims is None:
        raise unauthenticated("Access token is invalid or expired")
    session = await Session.get_or_none(id=claims["sid"], user_id=claims["sub"]).select_related(
        "user")
    if session is None or not _session_alive(session):
        raise unauthenticated("Session has ended; log in again")
    return Caller(user=session.user, session_id=session.id)


async def sessions_of(user: User) -> list[Session]:
    """The newest live sessions (at most the number the query cost counts them at)."""
    return await Session.filter(user_id=user.id, revoked_at=None, expires_at__gt=now()).order_by(
        "-created_at").limit(limits.SESSIONS_LISTED_PER_USER)
