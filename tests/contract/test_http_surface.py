"""The HTTP surface and the error model: health, GraphiQL, coded top-level errors, limits."""

from __future__ import annotations

import logging

from core.config import get_settings
from core.ratelimit import Limits, LocalStore, Rate, RateLimiter
from tests.helpers import REGISTER, error_code, gql


async def test_healthz_and_readyz(client):
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"]["database"] == "ok"


async def test_readyz_reports_redis_when_configured(client, settings):
    checks = (await client.get("/readyz")).json()["checks"]
    assert ("redis" in checks) == bool(settings.redis_url)


async def test_graphiql_is_served_on_get(client):
    page = await client.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert "graphiql" in page.text.lower()


async def test_parse_errors_are_coded(client):
    body = await gql(client, "{ me { id ")
    assert error_code(body) == "GRAPHQL_PARSE_FAILED"


async def test_validation_errors_are_coded(client):
    assert error_code(await gql(client, "{ nope }")) == "GRAPHQL_VALIDATION_FAILED"
    wrong_type = await gql(client, REGISTER, {"input": {"name": 1.5, "email": "a@b.co"}})
    assert error_code(wrong_type) == "GRAPHQL_VALIDATION_FAILED"


async def test_malformed_json_body_is_coded(client):
    response = await client.post("/graphql", content=b"{not json",
                                 headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"


def nested(levels: int) -> str:
    """A document `levels` fields deep: me → memberships → merchant → members → user → …"""
    path = ["me"] + ["memberships", "merchant", "members", "user"] * 3
    inner = "__typename"
    for name in reversed(path[:levels - 1]):
        inner = f"{name} {{ {inner} }}"
    return "{ " + inner + " }"


def bare_view(**schema_options):
    """The GraphQL endpoint alone (no database), for what is decided before anything runs."""
    import httpx

    from schema.schema import build_schema
    from schema.view import GraphQLView

    introspection = schema_options.pop("introspection", True)
    view = GraphQLView(build_schema(introspection=introspection, **schema_options),
                       graphiql=introspection, limits=Limits.of(get_settings(), LocalStore()))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=view),
                             base_url="http://testserver")


async def test_eleven_levels_are_too_complex_ten_are_not(client):
    too_deep = await gql(client, nested(11))
    assert error_code(too_deep) == "QUERY_TOO_COMPLEX"
    assert "depth" in too_deep["errors"][0]["message"]
    # Ten levels pass the depth rule; through these nested lists only their cost refuses them.
    assert "cost" in (await gql(client, nested(10)))["errors"][0]["extensions"]
    async with bare_view(max_query_cost=10**12) as http:
        assert error_code(await gql(http, nested(10))) == "UNAUTHENTICATED"  # it ran


async def test_too_many_aliases_are_too_complex(client):
    aliases = " ".join(f"a{i}: roles {{ role }}" for i in range(40))
    assert error_code(await gql(client, "{ " + aliases + " }")) == "QUERY_TOO_COMPLEX"


async def test_too_many_tokens_are_too_complex(client):
    fields = " ".join("__typename" for _ in range(6000))
    assert error_code(await gql(client, "{ " + fields + " }")) == "QUERY_TOO_COMPLEX"


async def test_oversized_bodies_are_refused(client):
    response = await client.post("/graphql", json={"query": "{ roles { role } }",
                                                   "padding": "x" * 100_000})
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"


async def test_unexpected_errors_are_masked_and_logged(client, monkeypatch, caplog):
    from resolvers import team

    def explode():
        raise RuntimeError("secret detail from deep inside")

    monkeypatch.setattr(team, "roles", explode)
    with caplog.at_level(logging.ERROR, logger="gateway.graphql"):
        body = await gql(client, "{ roles { role } }")
    assert error_code(body) == "INTERNAL_SERVER_ERROR"
    assert "secret detail" not in str(body)
    assert "secret detail from deep inside" in caplog.text


async def test_rate_limits_answer_with_retry_after(client, app):
    limits = app.state.graphql.limits
    saved = limits.graphql_ip
    limits.graphql_ip = RateLimiter.local("ip", Rate.steady(per_second=1, burst_seconds=2))
    try:
        codes = [error_code(b) if "errors" in b else "ok"
                 for b in [await gql(client, "{ roles { role } }") for _ in range(4)]]
        limited = await client.post("/graphql", json={"query": "{ roles { role } }"})
    finally:
        limits.graphql_ip = saved
    assert codes[:2] == ["ok", "ok"] and "RATE_LIMITED" in codes
    assert limited.status_code == 429
    assert limited.json()["errors"][0]["extensions"]["retryAfter"] >= 1
    assert int(limited.headers["Retry-After"]) >= 1


async def test_every_top_level_error_has_a_code(client):
    for document in ["{", "{ me { id } }", "{ nope }", "query { merchant { id } }",
                     "mutation { register { user { id } } }"]:
        body = await gql(client, document)
        assert body["errors"] and all(e["extensions"]["code"] for e in body["errors"]), body


async def test_graphiql_and_introspection_can_be_turned_off():
    async with bare_view(introspection=False) as http:
        page = await http.get("/", headers={"Accept": "text/html"})
        introspection = (await http.post("/", json={
            "query": "{ __schema { types { name } } }"})).json()
    assert page.status_code == 404
    assert introspection["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


async def test_readyz_answers_503_when_the_database_does_not(client, monkeypatch):
    from models import db

    async def down() -> str:
        return "error: ConnectionRefusedError"

    monkeypatch.setattr(db, "ping", down)
    response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["database"].startswith("error")
