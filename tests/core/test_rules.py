"""Unit tests of the pure rules in core/."""

from __future__ import annotations

import secrets
from datetime import date

import pytest

from core import cards, money, security, validation
from core import webhooks as hooks
from core.config import load_settings, read_dotenv
from core.errors import ErrorCode, UserError
from core.permissions import Role, may_assign, role_allows
from core.ratelimit import (
    Limits,
    LocalStore,
    Rate,
    RateLimiter,
    Verdict,
    take_in_turn,
    tightest,
)


def field_of(error: pytest.ExceptionInfo) -> tuple:
    assert error.value.code is ErrorCode.VALIDATION_ERROR
    return error.value.field


def test_settings_defaults(tmp_path):
    settings = load_settings({"DATA_DIR": str(tmp_path)})
    assert settings.database_url == f"sqlite://{tmp_path}/gateway.sqlite3"
    assert settings.redis_url is None and settings.intent_ttl_seconds == 3600
    assert settings.port == 8000 and settings.graphiql and not settings.webhook_allow_private
    assert settings.webhook_retry_schedule == (5, 300, 1800, 7200, 18000, 36000, 36000)
    # The generated JWT secret is stored and reused.
    assert load_settings({"DATA_DIR": str(tmp_path)}).jwt_secret == settings.jwt_secret
    assert (tmp_path / "jwt_secret").stat().st_mode & 0o777 == 0o600


def test_settings_from_variables(tmp_path):
    settings = load_settings({"DATA_DIR": str(tmp_path), "GRAPHIQL": "0", "PORT": "9000",
                              "WEBHOOK_ALLOW_PRIVATE": "1", "JWT_SECRET": "s" * 40,
                              "PUBLIC_BASE_URL": "https://pay.example.com/"})
    assert not settings.graphiql and settings.port == 9000 and settings.webhook_allow_private
    assert settings.public_base_url == "https://pay.example.com"
    assert settings.jwt_secret == "s" * 40


def test_dotenv_parsing(tmp_path):
    env = tmp_path / ".env"
    env.write_text("# comment\nexport A=1\nB='two'\n\nC = \"three\"\n")
    assert read_dotenv(env) == {"A": "1", "B": "two", "C": "three"}


def test_passwords():
    assert security.password_problem("short") and security.password_problem("password123")
    assert security.password_problem("aaaaaaaaaa")
    assert security.password_problem("correct horse battery") is None
    hashed = security.hash_password("correct horse battery")
    assert security.verify_password(hashed, "correct horse battery")
    assert not security.verify_password(hashed, "wrong")
    assert not security.verify_password("not a hash", "wrong")


def test_tokens_and_keys():
    key = security.new_api_key()
    assert key.startswith("sk_test_") and len(key) == 48 and key[8:].isalnum()
    assert security.new_client_secret().startswith("pi_secret_")
    assert len(security.new_client_secret()) >= 10 + 32
    assert security.new_id("pi").startswith("pi_")
    token = security.encode_access_token("k" * 32, "usr_1", "ses_1", 60)
    assert security.decode_access_token("k" * 32, token)["sid"] == "ses_1"
    assert security.decode_access_token("x" * 32, token) is None
    assert security.decode_access_token("k" * 32, security.encode_access_token(
        "k" * 32, "usr_1", "ses_1", -1)) is None


def test_validation():
    assert validation.email(" A@Example.COM ") == "a@example.com"
    for bad in ["", "a", "a@", "@b.co", "a@b", "a b@c.co"]:
        with pytest.raises(UserError):
            validation.email(bad)
    assert validation.http_url("https://x.test/ok?a=1", "u") == "https://x.test/ok?a=1"
    for bad in ["x.test", "ftp://x.test", "javascript:alert(1)", "http://", "http://x:99999"]:
        with pytest.raises(UserError) as error:
            validation.http_url(bad, "successUrl")
        assert field_of(error) == ("successUrl",)


def test_metadata_limits():
    assert validation.metadata({"order": "42"}) == {"order": "42"}
    for bad in [[1], {"k": 1}, {"k" * 41: "v"}, {"k": "v" * 501},
                {f"k{i}": "v" for i in range(51)}, {"nested": {"a": "b"}}]:
        with pytest.raises(UserError):
            validation.metadata(bad)


def test_money():
    assert money.currency("usd") == "USD"
    with pytest.raises(UserError):
        money.currency("ZZZ")
    assert money.amount(1) == 1 and money.amount(99_999_999) == 99_999_999
    for bad in [0, -5, 100_000_000]:
        with pytest.raises(UserError):
            money.amount(bad)
    assert money.format_amount(9999, "USD") == "$99.99"
    assert money.format_amount(500, "JPY") == "¥500"
    assert money.format_amount(123456789, "EUR") == "€1,234,567.89"
    assert money.format_amount(1250, "MAD") == "MAD12.50"
    assert money.format_amount(1001, "KWD") == "KWD1.001"


def test_money_by_locale_uses_cldr_patterns_and_iso_digits():
    assert money.format_amount(9999, "USD", "fr") == "99,99\xa0$US"
    assert money.format_amount(123456789, "EUR", "fr") == "1\u202f234\u202f567,89\xa0€"
    assert money.format_amount(9999, "USD", "ar") == "\u200f99.99\xa0US$"
    assert money.format_amount(500, "JPY", "fr") == "500\xa0JPY"
    # ISO 4217's three decimals, whatever CLDR's pattern says
    assert money.format_amount(1001, "KWD", "fr") == "1,001\xa0KWD"
    assert money.minor_digits("KWD") == 3 and money.minor_digits("USD") == 2
    assert money.minor_digits("JPY") == 0


def test_card_checks():
    today = date(2026, 11, 23)
    card = cards.check_card("4242 4242 4242 4242", "Ada", 12, 2030, "123", today)
    assert (card.brand, card.last4) == ("visa", "4242")
    assert "4242424242424242" not in repr(card)
    assert cards.check_card("5555-5555-5555-4444", "Ada", 1, 30, "123", today).brand == \
        "mastercard"
    bad_cases = {
        ("4242 4242 4242 4241", 12, 2030, "123"): ("card", "number"),  # Luhn
        ("4242abcd42424242", 12, 2030, "123"): ("card", "number"),
        ("378282246310005", 12, 2030, "123"): ("card", "number"),  # Amex
        ("4242424242424242", 13, 2030, "123"): ("card", "expMonth"),
        ("4242424242424242", 10, 2026, "123"): ("card", "expYear"),
        ("4242424242424242", 12, 2030, "12"): ("card", "cvc"),
        ("4242424242424242", 12, 2030, "1234"): ("card", "cvc"),
    }
    for (number, month, year, cvc), field in bad_cases.items():
        with pytest.raises(UserError) as error:
            cards.check_card(number, "Ada", month, year, cvc, today)
        assert field_of(error) == field, number
    # This month is still valid.
    assert cards.check_card("4242424242424242", "Ada", 11, 2026, "123", today)


def test_simulator():
    today = date(2026, 1, 1)

    def respond(number):
        return cards.simulate_issuer(cards.check_card(number, "A", 1, 2030, "123", today))

    assert respond("4242424242424242").approved
    assert respond("5555555555554444").approved
    assert [respond(n).code for n in ["4000000000000002", "4000000000009995",
                                      "4000000000000069", "4000000000000127",
                                      "4000000000000119"]] == ["05", "51", "54", "N7", "96"]
    assert respond("4111111111111111").code == "05"  # any other valid card


def test_webhook_signature_matches_the_standard():
    from standardwebhooks import Webhook

    secret = hooks.new_webhook_secret()
    body = hooks.payload_body("evt_1", "webhook.test", "2026-01-01T00:00:00Z", {"object": {}})
    import time
    stamp = int(time.time())
    header = hooks.signature_header([secret], "evt_1", stamp, body)
    headers = {"webhook-id": "evt_1", "webhook-timestamp": str(stamp),
               "webhook-signature": header}
    assert Webhook(secret).verify(body, headers)["id"] == "evt_1"
    other = hooks.new_webhook_secret()
    both = hooks.signature_header([other, secret], "evt_1", stamp, body)
    assert Webhook(secret).verify(body, {**headers, "webhook-signature": both})


def test_addresses_and_retry_schedule():
    for private in ["127.0.0.1", "10.1.2.3", "192.168.0.1", "172.16.0.1", "169.254.169.254",
                    "::1", "fe80::1", "0.0.0.0", "::ffff:127.0.0.1", "100.64.0.1"]:
        assert not hooks.is_public_address(private), private
    assert hooks.is_public_address("93.184.216.34")
    schedule = (5, 300, 1800, 7200, 18000, 36000, 36000)
    assert [hooks.next_retry_delay(schedule, n) for n in range(1, 9)] == [*schedule, None]


def test_roles():
    assert role_allows(Role.OWNER, "members:remove")
    assert not role_allows(Role.ADMIN, "members:remove")
    assert role_allows(Role.MANAGER, "payment_intents:refund")
    assert not role_allows(Role.STAFF, "payment_intents:capture")
    assert not may_assign(Role.OWNER, Role.OWNER)
    assert may_assign(Role.ADMIN, Role.ADMIN) and not may_assign(Role.MANAGER, Role.ADMIN)


async def test_rate_limiter():
    clock = [0.0]
    limiter = RateLimiter("test", Rate.steady(per_second=2, burst_seconds=1),
                          LocalStore(clock=lambda: clock[0]))
    assert [await limiter.retry_after("a") for _ in range(3)] == [0, 0, 1]
    assert await limiter.retry_after("b") == 0
    clock[0] = 0.5
    assert await limiter.retry_after("a") == 0


async def test_rate_limiter_verdicts_say_what_is_left():
    """What the X-RateLimit-* headers carry: burst, whole requests left, whole seconds until
    full again; a refusal adds the seconds to wait."""
    clock = [0.0]
    limiter = RateLimiter("test", Rate.steady(per_second=2, burst_seconds=2),
                          LocalStore(clock=lambda: clock[0]))
    verdicts = [await limiter.take("a") for _ in range(5)]
    assert verdicts[0] == Verdict(limit=4, remaining=3, reset=1, retry_after=0)
    assert verdicts[3] == Verdict(limit=4, remaining=0, reset=2, retry_after=0)
    assert verdicts[4] == Verdict(limit=4, remaining=0, reset=2, retry_after=1)
    clock[0] = 0.75  # 1.5 tokens back: one more request, half a token left
    assert await limiter.take("a") == Verdict(limit=4, remaining=0, reset=2, retry_after=0)


def test_the_tightest_verdict():
    roomy = Verdict(limit=10, remaining=8, reset=1, retry_after=0)
    tight = Verdict(limit=2, remaining=1, reset=3, retry_after=0)
    refused = Verdict(limit=50, remaining=0, reset=9, retry_after=2)
    assert tightest(roomy, tight) == tight
    assert tightest(tight, refused, roomy) == refused
    assert Verdict(limit=2, remaining=1, reset=3, retry_after=0).headers() == {
        "X-RateLimit-Limit": "2", "X-RateLimit-Remaining": "1", "X-RateLimit-Reset": "3"}


def test_ttl_cache(monkeypatch):
    import time

    from core.cache import TTLCache

    clock = [100.0]
    monkeypatch.setattr(time, "monotonic", lambda: clock[0])
    cache: TTLCache[str, int] = TTLCache(ttl_seconds=1.0, max_entries=2)
    cache.put("a", 1)
    assert cache.get("a") == 1
    clock[0] += 1.0
    assert cache.get("a") is None
    cache.put("a", 1)
    cache.put("b", 2)
    cache.put("c", 3)  # over the bound: forgets everything else rather than grow
    assert cache.get("a") is None and cache.get("c") == 3


async def test_ttl_cache_shares_one_load_among_concurrent_misses():
    import asyncio

    from core.cache import TTLCache

    cache: TTLCache[str, int] = TTLCache(ttl_seconds=60.0)
    loads = []

    async def load() -> int:
        loads.append(1)
        await asyncio.sleep(0.01)
        return 7

    assert await asyncio.gather(*(cache.get_or_load("k", load) for _ in range(32))) == [7] * 32
    assert len(loads) == 1
    assert await cache.get_or_load("k", load) == 7 and len(loads) == 1  # cached

    async def nothing() -> None:
        return None

    assert await cache.get_or_load("gone", nothing) is None
    assert cache.get("gone") is None  # None is never cached

    async def failing() -> int:
        await asyncio.sleep(0.01)
        raise RuntimeError("database down")

    outcomes = await asyncio.gather(*(cache.get_or_load("f", failing) for _ in range(3)),
                                    return_exceptions=True)
    assert all(isinstance(outcome, RuntimeError) for outcome in outcomes)

    loader = asyncio.create_task(cache.get_or_load("c", load))
    await asyncio.sleep(0)
    waiter = asyncio.create_task(cache.get_or_load("c", load))
    await asyncio.sleep(0)
    loader.cancel()  # the waiter was not cancelled: it loads for itself
    assert await waiter == 7


def test_random_ids_are_base62_and_distinct():
    ids = {security.random_base62(24) for _ in range(2000)}
    assert len(ids) == 2000
    assert all(len(i) == 24 and i.isalnum() and i.isascii() for i in ids)


def test_debug_logging_never_logs_query_values():
    import logging

    from main import configure_logging

    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    try:
        configure_logging("debug")
        assert logging.getLogger("tortoise.db_client").getEffectiveLevel() >= logging.INFO
    finally:
        root.setLevel(level)
        root.handlers[:] = handlers


def test_ipv6_addresses_are_judged_by_the_ipv4_they_carry():
    carrying_private = ["64:ff9b::7f00:1", "64:ff9b::a00:1", "2002:7f00:1::", "2002:a00:1::",
                        "::7f00:1", "::ffff:10.0.0.1", "::ffff:169.254.169.254",
                        "64:ff9b:1:7f00:0:100::", "::ffff:0:7f00:1", "fec0::1", "192.0.0.8"]
    for address in carrying_private:
        assert not hooks.is_public_address(address), address
    for address in ["64:ff9b::808:808", "2002:808:808::", "::ffff:8.8.8.8",
                    "2606:4700:4700::1111"]:
        assert hooks.is_public_address(address), address


def test_hosts_are_dns_names_or_ip_literals():
    for host in ["example.com", "bücher.example", "127.0.0.1", "::1", "localhost"]:
        assert validation.is_valid_host(host), host
    for host in ["xn--a.example", "a;b.com", "a,b.com", 'a"b', "a b", "-a.com", "a" * 300,
                 "::1%;sandbox"]:
        assert not validation.is_valid_host(host), host


def test_a_csp_source_is_rebuilt_from_the_parsed_url():
    from core.urls import origin

    assert origin("https://Shop.test:8443/ok?x=1") == "https://shop.test:8443"
    assert origin("http://user:pw@shop.test/ok") == "http://shop.test"
    assert origin("https://a;b.example/ok") is None
    assert origin("javascript:alert(1)") is None


async def test_a_flood_of_new_clients_cannot_reset_a_spent_bucket():
    clock = [0.0]
    store = LocalStore(max_keys=100, clock=lambda: clock[0])
    login = RateLimiter("auth-email", Rate.per_minute(2), store)
    assert [await login.retry_after("victim") for _ in range(3)][-1] > 0
    flood = RateLimiter("key", Rate.steady(per_second=500, burst_seconds=2), store)
    for n in range(1000):  # made-up credentials, each a bucket that refills in moments
        clock[0] += 0.001
        await flood.retry_after(f"sk_{n}")
    assert await login.retry_after("victim") > 0  # still spent


def test_bidi_overrides_are_refused_outside_free_text():
    for override in ("\u202e", "\u202d", "\u2066", "\u2069"):
        assert validation.text_problem(f"Total{override}00.1$")
    assert validation.text_problem("\u200fكتاب\u200e") is None  # marks, not overrides: fine
    assert validation.text_problem("line\u202e", free_text=True) is None


@pytest.fixture(params=["local", "redis"])
async def limit_store(request):
    """Both stores: this process's buckets, and the fleet's on a real Redis (a namespace of
    this test's own)."""
    if request.param == "local":
        yield LocalStore()
        return
    from redis.asyncio import Redis

    from tasks.limit_store import RedisStore
    from tests.conftest import TEST_REDIS_URL

    store = RedisStore(Redis.from_url(TEST_REDIS_URL), f"test:limits:{secrets.token_hex(6)}")
    try:
        yield store
    finally:
        await store.close()


async def test_limits_taken_in_turn_stop_at_the_first_refusal(limit_store):
    """Per IP, then per credential: a request the first refuses is not counted by the next
    (one round trip to Redis for both)."""
    ip = RateLimiter("ip", Rate(per_second=0.001, burst=1), limit_store)
    key = RateLimiter("key", Rate(per_second=0.001, burst=3), limit_store)
    first = await take_in_turn((ip, "10.0.0.1"), (key, "k"))
    assert [v.retry_after for v in first] == [0, 0] and first[1].remaining == 2
    refused = await take_in_turn((ip, "10.0.0.1"), (key, "k"))
    assert len(refused) == 1 and refused[0].retry_after >= 1  # the key's bucket untouched
    assert (await key.take("k")).remaining == 1


async def test_checkout_limits_take_the_ip_then_the_intent_in_one_turn(limit_store, tmp_path):
    """A checkout POST: per IP (3 intents' worth), then per intent, each counted only while
    the one before let it through."""
    settings = load_settings({"DATA_DIR": str(tmp_path), "CHECKOUT_POSTS_PER_MINUTE": "1"})
    limits = Limits.of(settings, limit_store)
    assert (await limits.checkout("10.0.0.1", "pi_a")).retry_after == 0
    assert (await limits.checkout("10.0.0.1", "pi_a")).retry_after >= 1  # the intent's limit
    assert (await limits.checkout("10.0.0.1", "pi_b")).retry_after == 0
    assert (await limits.checkout("10.0.0.1", "pi_c")).retry_after >= 1  # the IP's: 3 taken
    assert (await limits.checkout("10.0.0.2", "pi_c")).retry_after == 0  # pi_c not counted
