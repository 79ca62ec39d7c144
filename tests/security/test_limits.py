"""CONTRACT §12.4 (login) and §12.10 (rate limits), through HTTP, on both backends.

The shared app lifts the auth limits; these tests start apps of their own with small limits,
on the same database (the shared app's connection) and a Redis namespace of their own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator

import httpx

from core import security
from core.config import Settings, get_settings, use_settings
from tests.conftest import ROOT, settings_env, wait_until_ready
from tests.helpers import (
    CHANGE_PASSWORD,
    LOGIN,
    PASSWORD,
    REGISTER,
    create_intent,
    gql,
    open_shop,
    register_and_login,
    unique_email,
)
from tests.receiver import free_port

ROLES = "{ roles { role } }"


@contextlib.asynccontextmanager
async def own_app(settings: Settings, **overrides) -> AsyncIterator[Settings]:
    """An app with these settings over the shared app's database connection; its limits live
    under a Redis namespace of its own. The global settings are put back afterwards."""
    from main import create_app

    saved = get_settings()
    mine = settings.with_overrides(
        queue_name=f"{settings.queue_name}:limits-{secrets.token_hex(4)}", **overrides)
    application = create_app(mine)
    try:
        yield application
    finally:
        await application.state.limits.store.close()
        use_settings(saved)


def http(application, ip: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=application, client=(ip, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


@contextlib.asynccontextmanager
async def clients(settings: Settings, *ips: str, **overrides
                  ) -> AsyncIterator[list[httpx.AsyncClient]]:
    """One client per peer address, on an app of `own_app`."""
    async with own_app(settings, **overrides) as application, \
            contextlib.AsyncExitStack() as stack:
        yield [await stack.enter_async_context(http(application, ip)) for ip in ips]


async def login_outcome(client: httpx.AsyncClient, email: str, password: str) -> str:
    """"ok", a userErrors code, or a top-level error code."""
    body = await gql(client, LOGIN, {"input": {"email": email, "password": password}})
    if body.get("errors"):
        return body["errors"][0]["extensions"]["code"]
    result = body["data"]["login"]
    return result["userErrors"][0]["code"] if result["userErrors"] else "ok"


def top_level_error(body: dict) -> dict:
    assert body.get("errors"), body
    return body["errors"][0]


# --- §12.4 login ----------------------------------------------------------------------------

async def test_a_burst_of_logins_checks_at_most_five_passwords(settings, app, client):
    account = await register_and_login(client, "burst")
    async with clients(settings, "127.0.0.1") as (burst,):
        # The right password first: it is among the five checked, and still proves nothing.
        passwords = [PASSWORD] + ["wrong password!"] * 11
        outcomes = await asyncio.gather(
            *[login_outcome(burst, account.email, password) for password in passwords])
        afterwards = await login_outcome(burst, account.email, PASSWORD)
    assert "ok" not in outcomes, outcomes
    assert outcomes.count("INVALID_CREDENTIALS") <= 5, outcomes
    assert set(outcomes) <= {"INVALID_CREDENTIALS", "ACCOUNT_LOCKED", "RATE_LIMITED"}, outcomes
    assert afterwards == "ACCOUNT_LOCKED"


async def test_one_login_at_a_time_still_succeeds_after_a_failure(settings, app, client):
    account = await register_and_login(client, "calm")
    async with clients(settings, "127.0.0.1") as (calm,):
        first = await login_outcome(calm, account.email, "wrong password!")
        second = await login_outcome(calm, account.email, PASSWORD)
    assert (first, second) == ("INVALID_CREDENTIALS", "ok")


async def test_auth_limits_per_email(settings, app, client):
    account = await register_and_login(client, "limited")
    async with clients(settings, "10.0.0.1", "10.0.0.2", auth_email_per_minute=3,
                       auth_ip_per_minute=100) as (one, two):
            outcomes = [await login_outcome(one, account.email, "wrong password!")
                        for _ in range(3)]
            # The same email from another address, and through register: the same limit.
            limited = await gql(two, LOGIN, {"input": {"email": account.email,
                                                       "password": PASSWORD}})
            register = await gql(two, REGISTER, {"input": {
                "name": "Again", "email": account.email, "password": PASSWORD}})
            other_email = await login_outcome(one, unique_email(), PASSWORD)
    assert outcomes == ["INVALID_CREDENTIALS"] * 3
    for body in (limited, register):
        error = top_level_error(body)
        assert error["extensions"]["code"] == "RATE_LIMITED"
        assert error["extensions"]["retryAfter"] >= 1
    assert other_email == "INVALID_CREDENTIALS"


async def test_auth_limits_per_ip(settings, app):
    async with clients(settings, "10.0.1.1", "10.0.1.2", auth_email_per_minute=100,
                       auth_ip_per_minute=4) as (one, two):
            outcomes = [await login_outcome(one, unique_email(), PASSWORD) for _ in range(4)]
            response = await one.post("/graphql", json={"query": LOGIN, "variables": {
                "input": {"email": unique_email(), "password": PASSWORD}}})
            limited = response.json()
            elsewhere = await login_outcome(two, unique_email(), PASSWORD)
    assert outcomes == ["INVALID_CREDENTIALS"] * 4
    error = top_level_error(limited)
    assert error["extensions"]["code"] == "RATE_LIMITED" and error["extensions"]["retryAfter"]
    assert response.status_code == 429 and int(response.headers["Retry-After"]) >= 1
    # the tightest limit that applied is the per-address login limit: 4 a minute, none left
    assert (response.headers["X-RateLimit-Limit"], response.headers["X-RateLimit-Remaining"]) \
        == ("4", "0")
    assert elsewhere == "INVALID_CREDENTIALS"


async def test_change_password_is_limited_per_email(settings, app, client):
    account = await register_and_login(client, "changer")
    attempt = {"input": {"oldPassword": "not my password", "newPassword": "another long one"}}
    async with clients(settings, "127.0.0.1", auth_email_per_minute=2) as (changer,):
        answers = [await gql(changer, CHANGE_PASSWORD, attempt, token=account.token)
                   for _ in range(3)]
    assert [a["data"]["changePassword"]["userErrors"][0]["code"] for a in answers[:2]] == \
        ["INVALID_CREDENTIALS"] * 2
    assert top_level_error(answers[2])["extensions"]["code"] == "RATE_LIMITED"


async def test_hash_concurrency_bounds_argon2_at_once(client, monkeypatch):
    verify = security.verify_password
    running, peak, guard = [0], [0], threading.Lock()

    def counted(password_hash: str, password: str) -> bool:
        with guard:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        try:
            time.sleep(0.02)  # hold the slot long enough for the others to pile up
            return verify(password_hash, password)
        finally:
            with guard:
                running[0] -= 1

    monkeypatch.setattr(security, "verify_password", counted)
    outcomes = await asyncio.gather(
        *[login_outcome(client, unique_email(), PASSWORD) for _ in range(8)])
    assert outcomes == ["INVALID_CREDENTIALS"] * 8
    assert 1 <= peak[0] <= get_settings().hash_concurrency


# --- §12.10 rate limits ---------------------------------------------------------------------

async def test_checkout_posts_are_limited_per_intent(settings, app, client):
    shop = await open_shop(client)
    intent = await create_intent(client, shop)
    form = {"client_secret": intent["clientSecret"], "card_number": "4242",
            "cardholder_name": "Ada Lovelace", "expiry": "12/35", "cvc": "123"}
    async with clients(settings, "10.0.2.1", "10.0.2.2",
                       checkout_posts_per_minute=2) as (one, two):
            first = [(await one.post(f"/checkout/{intent['id']}", data=form)).status_code
                     for _ in range(2)]
            third = await two.post(f"/checkout/{intent['id']}", data=form)
    assert first == [400, 400]  # the form shown again: a bad card number
    assert third.status_code == 429 and int(third.headers["Retry-After"]) >= 1


async def test_checkout_posts_are_limited_per_ip(settings, app):
    async with clients(settings, "10.0.3.1", "10.0.3.2",
                       checkout_posts_per_minute=1) as (one, two):
            statuses = [(await one.post(f"/checkout/pi_{n}", data={})).status_code
                        for n in range(4)]
            elsewhere = await two.post("/checkout/pi_other", data={})
    assert statuses[:3] == [404, 404, 404]  # three intents a minute from one address
    assert statuses[3] == 429
    assert elsewhere.status_code == 404


async def roles_statuses(client: httpx.AsyncClient, count: int) -> list[int]:
    return [(await client.post("/graphql", json={"query": ROLES},
                               headers={"X-Forwarded-For": f"203.0.113.{n}"})).status_code
            for n in range(count)]


async def test_forwarded_for_from_an_untrusted_peer_is_ignored(settings, app):
    async with clients(settings, "10.0.4.1", rate_limit_ip_per_second=1.0) as (direct,):
        statuses = await roles_statuses(direct, 4)
    assert statuses[:2] == [200, 200] and 429 in statuses[2:]


async def test_forwarded_for_from_a_listed_proxy_is_believed(settings, app):
    async with clients(settings, "10.0.5.7", rate_limit_ip_per_second=1.0,
                       forwarded_allow_ips=("10.0.5.0/24",)) as (proxy,):
        several = await roles_statuses(proxy, 6)  # six clients behind the proxy, one each
        one_client = [(await proxy.post("/graphql", json={"query": ROLES}, headers={
            "X-Forwarded-For": "198.51.100.9, 10.0.5.8"})).status_code for _ in range(4)]
    assert several == [200] * 6
    assert one_client[:2] == [200, 200] and 429 in one_client[2:]


async def test_redis_failing_falls_back_to_this_process_limits(settings, app, caplog):
    """Redis down: no request fails for it; each process limits on its own, and says so."""
    dead_redis = f"redis://127.0.0.1:{free_port()}/0"
    with caplog.at_level(logging.WARNING, logger="gateway.ratelimit"):
        async with clients(settings, "10.0.6.1", redis_url=dead_redis,
                           rate_limit_ip_per_second=1.0) as (direct,):
            statuses = await roles_statuses(direct, 4)
    assert statuses[:2] == [200, 200] and 429 in statuses[2:]
    assert "fall back to this process's buckets" in caplog.text


def rate_headers(response: httpx.Response) -> tuple[int, int, int]:
    """X-RateLimit-Limit, -Remaining and -Reset (CONTRACT §16)."""
    return tuple(int(response.headers[f"X-RateLimit-{name}"])
                 for name in ("Limit", "Remaining", "Reset"))


async def test_graphql_answers_carry_the_tightest_limit(settings, app):
    """Per IP: a burst of 6 (3/s); per credential: a burst of 2 (1/s), the tighter one."""
    async with clients(settings, "10.0.7.1", rate_limit_ip_per_second=3.0,
                       rate_limit_key_per_second=1.0) as (direct,):
        anonymous = await direct.post("/graphql", json={"query": ROLES})
        keyed = [await direct.post("/graphql", json={"query": ROLES},
                                   headers={"Authorization": "Bearer not-a-real-token"})
                 for _ in range(3)]
    limit, remaining, reset = rate_headers(anonymous)
    assert (limit, remaining) == (6, 5) and 1 <= reset <= 2
    assert rate_headers(keyed[0]) == (2, 1, 1)
    assert rate_headers(keyed[1])[:2] == (2, 0)
    assert keyed[2].status_code == 429 and int(keyed[2].headers["Retry-After"]) >= 1
    assert rate_headers(keyed[2])[:2] == (2, 0) and rate_headers(keyed[2])[2] >= 1


async def test_the_csv_report_counts_against_the_same_limits(settings, app):
    """An export reads up to the whole ledger: the per-key limit (a burst of 2 at 1/s) holds
    for it as for GraphQL, with the same headers, and a refusal streams nothing."""
    async with clients(settings, "10.0.7.2", rate_limit_key_per_second=1.0) as (direct,):
        answers = [await direct.get("/reports/balance-transactions.csv",
                                    headers={"X-API-Key": "sk_test_not_a_real_key"})
                   for _ in range(3)]
    assert [answer.status_code for answer in answers] == [401, 401, 429]
    assert rate_headers(answers[0]) == (2, 1, 1)
    assert answers[2].text.startswith("RATE_LIMITED")
    assert int(answers[2].headers["Retry-After"]) >= 1 and rate_headers(answers[2])[:2] == (2, 0)


async def test_checkout_answers_carry_the_tightest_limit(settings, app):
    """Two posts a minute per intent (burst 2), six per IP: the intent's limit is tighter."""
    async with clients(settings, "10.0.8.1", checkout_posts_per_minute=2) as (one,):
        answers = [await one.post("/checkout/pi_headers", data={}) for _ in range(3)]
    assert [answer.status_code for answer in answers] == [404, 404, 429]
    assert rate_headers(answers[0]) == (2, 1, 30)
    assert rate_headers(answers[1]) == (2, 0, 60)
    assert rate_headers(answers[2])[:2] == (2, 0) and int(answers[2].headers["Retry-After"]) >= 1


# --- the fleet ------------------------------------------------------------------------------

@contextlib.contextmanager
def api_processes(settings: Settings, tmp_path, count: int, **variables: str):
    """`python main.py serve` (WORKERS=1) `count` times over one database and one Redis."""
    env = {**settings_env(settings), "WORKERS": "1",
           "ARQ_QUEUE_NAME": f"{settings.queue_name}:fleet-{secrets.token_hex(4)}", **variables}
    if not settings.redis_url:  # embedded mode is one process on its own SQLite file
        env.pop("DATABASE_URL")
        env["DATA_DIR"] = str(tmp_path)
    processes, urls = [], []
    try:
        for _ in range(count):
            port = free_port()
            process = subprocess.Popen(
                [sys.executable, "main.py", "serve"], cwd=ROOT,
                env={**env, "PORT": str(port), "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}"},
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            processes.append(process)
            urls.append(f"http://127.0.0.1:{port}")
            wait_until_ready(urls[-1], process)
        yield urls
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=15)


async def test_the_fleet_shares_each_limit(settings, tmp_path):
    """Two API processes with a per-IP limit of 2/s (a burst of 4) allow about that in
    total, not twice it; a changing X-Forwarded-For from loopback (no proxy listed) does not
    escape it. Embedded mode runs one process, which holds the same limit."""
    count = 2 if settings.redis_url else 1
    with api_processes(settings, tmp_path, count, RATE_LIMIT_IP_PER_SECOND="2") as urls:
        async with httpx.AsyncClient(timeout=10) as fleet:
            started = time.monotonic()
            statuses = [(await fleet.post(f"{urls[n % count]}/graphql", json={"query": ROLES},
                                          headers={"X-Forwarded-For": f"198.51.100.{n}"})
                         ).status_code for n in range(24)]
            elapsed = time.monotonic() - started
    allowed = statuses.count(200)
    assert set(statuses) <= {200, 429}, statuses
    assert 4 <= allowed <= 4 + 2 * elapsed + 1, (allowed, elapsed)
    assert elapsed > 3 or allowed < 8  # a bucket per process would let 8 through



async def test_subscribe_messages_count_against_the_graphql_limits(settings, app):
    """Over a WebSocket, each subscribe message is a request as over HTTP: past the per-IP
    limit (a burst of 6 at 3/s) it is refused RATE_LIMITED with retryAfter, not run."""
    from tests.receiver import LocalServer
    from tests.ws import LiveClient

    subscription = "subscription($id: ID!) { paymentIntentUpdated(id: $id) { id } }"
    async with own_app(settings, rate_limit_ip_per_second=3.0) as application:
        server = LocalServer(application)
        await server.start()
        live = await LiveClient.connect(server.url)
        try:
            codes = [await live.error_code(await live.subscribe(subscription, {"id": "pi_x"}))
                     for _ in range(8)]
        finally:
            await live.close()
            await server.stop()
    assert codes[:6] == ["UNAUTHENTICATED"] * 6 and codes[6:] == ["RATE_LIMITED"] * 2
