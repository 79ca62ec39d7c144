"""CONTRACT §12.5 over the whole schema: every String, ID and JSON argument of every operation,
at any depth of its input objects, is sent a lone surrogate, a NUL, values longer than any
column, and (for `after`) cursors that mean nothing: by an anonymous caller, a user token and
an API key.

The cases come from the schema itself (introspected in-process at collection time; the test
`test_the_fuzzed_operations_are_the_live_schema` checks, through the API, that they are exactly
the live schema's), so a new operation or argument is fuzzed without anyone writing a case.

Queries and mutations go over HTTP; the subscription root's cases go over a real WebSocket
(graphql-transport-ws, authenticated in connection_init as the caller), where the answer is the
subscription's first message: an `error` ending it, or a `next`. A hang or a closed socket
fails.

Whatever the input: never HTTP 500, always a JSON body, every top-level error coded, never
INTERNAL_SERVER_ERROR. A surrogate or a NUL is a VALIDATION_ERROR naming the field (an id may
instead read as not found), unless the caller was refused before the input mattered
(UNAUTHENTICATED, FORBIDDEN). A bad cursor is a VALIDATION_ERROR on `after`.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from tests.helpers import (
    CREATE_INTENT,
    CREATE_KEY,
    EVENTS,
    Shop,
    create_intent,
    gql,
    open_shop,
    payload_of,
)
from tests.receiver import LocalServer
from tests.ws import LiveClient

ROOT = Path(__file__).resolve().parents[2]

INTROSPECTION = """query FuzzIntrospection { __schema {
  queryType { name } mutationType { name } subscriptionType { name }
  types { kind name
    fields { name args { name defaultValue type { ...Ref } } type { ...Ref } }
    inputFields { name defaultValue type { ...Ref } }
    enumValues { name } } } }
fragment Ref on __Type { kind name ofType { kind name ofType { kind name ofType {
  kind name ofType { kind name } } } } }"""

TEXT_SCALARS = ("String", "ID", "JSON")
FREE_TEXT = ("description", "reason", "evidence")  # may hold tab, newline, carriage return
# Optional in the schema, needed in practice (a user token must name its merchant): always sent.
SCOPING_IDS = ("merchantId",)
AUTH_REFUSALS = {"UNAUTHENTICATED", "FORBIDDEN"}
CHUNK = 6  # requests in flight at once: the machine has two cores, SQLite one writer
FIRST_MESSAGE_SECONDS = 10  # a subscription silent longer than this hangs


def longest_column() -> int:
    """The longest CharField of the models: a value one longer reaches past every column."""
    lengths = [int(n) for source in (ROOT / "models").glob("*.py")
               for n in re.findall(r"max_length\s*=\s*(\d+)", source.read_text())]
    return max(lengths)


TOO_LONG = longest_column() + 1
ID_TOO_LONG = 41
EMAIL_TOO_LONG = 256


# The schema, as introspection describes it ------------------------------------------------

def named(ref: dict) -> dict:
    while ref.get("ofType"):
        ref = ref["ofType"]
    return ref


def sdl(ref: dict) -> str:
    """A type reference as a variable declaration writes it."""
    if ref["kind"] == "NON_NULL":
        return sdl(ref["ofType"]) + "!"
    if ref["kind"] == "LIST":
        return f"[{sdl(ref['ofType'])}]"
    return ref["name"]


def required(entry: dict) -> bool:
    return entry["type"]["kind"] == "NON_NULL" and entry.get("defaultValue") is None


@dataclass(frozen=True)
class Target:
    """One string to attack: an argument, or a field inside an input object argument."""

    root: str  # query, mutation or subscription
    operation: str
    path: tuple[str, ...]  # the argument, then input fields down to the string
    scalar: str  # String, ID or JSON

    @property
    def leaf(self) -> str:
        return self.path[-1]

    @property
    def name(self) -> str:
        return f"{self.root}.{self.operation}({'.'.join(self.path)})"


class SchemaMap:
    def __init__(self, introspection: dict) -> None:
        schema = introspection["__schema"]
        self.types = {entry["name"]: entry for entry in schema["types"]}
        self.roots = {root: (schema.get(f"{root}Type") or {}).get("name")
                      for root in ("query", "mutation", "subscription")}

    def operations(self) -> dict[tuple[str, str], dict]:
        return {(root, entry["name"]): entry
                for root, type_name in self.roots.items() if type_name
                for entry in self.types[type_name]["fields"]}

    def targets(self) -> list[Target]:
        return [Target(root, name, path, scalar)
                for (root, name), operation in self.operations().items()
                for argument in operation["args"]
                for path, scalar in self._strings(argument["type"], (argument["name"],),
                                                  frozenset())]

    def _strings(self, ref: dict, path: tuple[str, ...], seen: frozenset
                 ) -> Iterator[tuple[tuple[str, ...], str]]:
        base = named(ref)
        if base["kind"] == "SCALAR" and base["name"] in TEXT_SCALARS:
            yield path, base["name"]
        elif base["kind"] == "INPUT_OBJECT" and base["name"] not in seen:
            for entry in self.types[base["name"]]["inputFields"]:
                yield from self._strings(entry["type"], (*path, entry["name"]),
                                         seen | {base["name"]})

    def selection(self, operation: dict) -> str:
        base = self.types.get(named(operation["type"])["name"], {})
        if base.get("kind") not in ("OBJECT", "INTERFACE", "UNION"):
            return ""
        fields = {entry["name"] for entry in base.get("fields") or []}
        return ("{ __typename userErrors { code field message } }" if "userErrors" in fields
                else "{ __typename }")


def schema_in_process() -> SchemaMap:
    """The schema the app serves, introspected without a server (for collection)."""
    from schema.schema import build_schema

    result = build_schema().execute_sync(INTROSPECTION)
    assert not result.errors, result.errors
    return SchemaMap(result.data)


COLLECTED = schema_in_process()
TARGETS = COLLECTED.targets()


# Plausible values, and the bad ones -------------------------------------------------------

@dataclass
class World:
    """One merchant with a key, an intent, an invitation and an event; the schema as served."""

    schema: SchemaMap
    shop: Shop
    key_id: str
    intent: dict
    invitation_id: str
    event_id: str
    live_url: str  # the same app behind uvicorn, for the WebSocket
    email_seed: str = field(default_factory=lambda: secrets.token_hex(4))

    def id_for(self, name: str, operation: str) -> str:
        by_name = {"merchantId": self.shop.merchant_id, "userId": self.shop.owner.user_id,
                   "paymentIntentId": self.intent["id"], "intentId": self.intent["id"]}
        if name in by_name:
            return by_name[name]
        lowered = operation.lower()
        for word, value in (("invitation", self.invitation_id), ("apikey", self.key_id),
                            ("event", self.event_id), ("merchant", self.shop.merchant_id),
                            ("member", self.shop.owner.user_id), ("intent", self.intent["id"]),
                            ("checkout", self.intent["id"]), ("refund", self.intent["id"])):
            if word in lowered:
                return value
        return "obj_fuzz0000"

    def string_for(self, name: str, scalar: str, operation: str) -> str:
        if scalar == "ID":
            return self.id_for(name, operation)
        lowered = name.lower()
        choices = (
            (name == "clientSecret", self.intent["clientSecret"]),
            (lowered.endswith("email"), f"fuzz-{self.email_seed}@example.com"),
            (lowered.endswith("url") or lowered == "website", "https://shop.test/ok"),
            ("currency" in lowered, "usd"),
            ("password" in lowered, "not the password 42"),
            (name == "number", "4242424242424242"),
            (name == "cvc", "123"),
            ("phone" in lowered, "+1 555 0100"),
            (name == "type", "payment_intent.created"),
            ("token" in lowered, "fuzz-token-0000"),
        )
        return next((value for matches, value in choices if matches), "Fuzz value")


def plausible(world: World, entry: dict, operation: str) -> Any:
    """A believable value for an argument or input field, of its type."""
    ref = entry["type"]
    while ref["kind"] == "NON_NULL":
        ref = ref["ofType"]
    if ref["kind"] == "LIST":
        return [plausible(world, {**entry, "type": ref["ofType"]}, operation)]
    kind, name = ref["kind"], ref["name"]
    if kind == "ENUM":
        return world.schema.types[name]["enumValues"][0]["name"]
    if kind == "INPUT_OBJECT":
        return {field_entry["name"]: plausible(world, field_entry, operation)
                for field_entry in world.schema.types[name]["inputFields"]
                if required(field_entry)}
    scalars = {"Int": {"expYear": 2035, "expMonth": 12, "amount": 500}.get(entry["name"], 1),
               "Float": 1.0, "Boolean": False, "JSON": {},
               "DateTime": "2030-01-01T00:00:00+00:00"}
    return scalars[name] if name in scalars else world.string_for(entry["name"], name, operation)


def with_bad(world: World, entry: dict, rest: tuple[str, ...], bad: Any, operation: str) -> Any:
    """The entry's value with the string at `rest` (below it) replaced by `bad`."""
    ref = entry["type"]
    while ref["kind"] == "NON_NULL":
        ref = ref["ofType"]
    if ref["kind"] == "LIST":
        return [with_bad(world, {**entry, "type": ref["ofType"]}, rest, bad, operation)]
    if not rest:
        return bad
    fields = world.schema.types[ref["name"]]["inputFields"]
    return {field_entry["name"]: with_bad(world, field_entry, rest[1:], bad, operation)
            if field_entry["name"] == rest[0] else plausible(world, field_entry, operation)
            for field_entry in fields if required(field_entry) or field_entry["name"] == rest[0]}


def entry_at(world: World, target: Target) -> dict:
    """The argument or input field the target names."""
    operation = world.schema.operations()[(target.root, target.operation)]
    entry = next(arg for arg in operation["args"] if arg["name"] == target.path[0])
    for name in target.path[1:]:
        fields = world.schema.types[named(entry["type"])["name"]]["inputFields"]
        entry = next(field_entry for field_entry in fields if field_entry["name"] == name)
    return entry


def inserted(base: str, bad: str) -> str:
    middle = max(1, len(base) // 2)
    return base[:middle] + bad + base[middle:]


def lengthened(base: str, length: int) -> str:
    """`base` padded to `length` characters, keeping its shape (email, URL, id)."""
    if "@" in base:
        local, domain = base.split("@", 1)
        return local + "a" * (length - len(base)) + "@" + domain
    return base + "a" * (length - len(base))


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


def bad_values(target: Target, base: str) -> dict[str, str]:
    """The attacks on one string, by kind; each kind's rule is in `rule_problem`."""
    values = {"lone surrogate": inserted(base, "\ud800"), "NUL": inserted(base, "\x00"),
              "escape character": inserted(base, "\x1b"),
              f"{TOO_LONG} characters": lengthened(base, TOO_LONG)}
    if target.scalar == "ID":
        values[f"id of {ID_TOO_LONG}"] = lengthened(base, ID_TOO_LONG)
    if target.leaf.lower().endswith("email"):
        values[f"email of {EMAIL_TOO_LONG}"] = lengthened(base, EMAIL_TOO_LONG)
    if target.leaf in ("after", "before"):
        values |= {"undecodable cursor": "not a cursor!", "base64 nonsense": b64("nonsense"),
                   "cursor with a long id": b64("2026-01-01T00:00:00+00:00|pi_" + "a" * 100)}
    return values


TEXT_KINDS = ("lone surrogate", "NUL", "escape character")
CURSOR_KINDS = ("undecodable cursor", "base64 nonsense", "cursor with a long id")


# Requests and what their answers must be --------------------------------------------------

@dataclass
class Case:
    target: Target
    kind: str
    caller: str
    query: str
    variables: dict


def build_case(world: World, target: Target, kind: str, bad: Any, caller: str) -> Case:
    operation = world.schema.operations()[(target.root, target.operation)]
    variables = {}
    for argument in operation["args"]:
        if argument["name"] == target.path[0]:
            variables[argument["name"]] = with_bad(world, argument, target.path[1:], bad,
                                                   target.operation)
        elif required(argument) or argument["name"] in SCOPING_IDS:
            variables[argument["name"]] = plausible(world, argument, target.operation)
    types = {argument["name"]: sdl(argument["type"]) for argument in operation["args"]}
    declared = ", ".join(f"${name}: {types[name]}" for name in variables)
    passed = ", ".join(f"{name}: ${name}" for name in variables)
    query = (f"{target.root} Fuzz{f'({declared})' if declared else ''} "
             f"{{ {target.operation}{f'({passed})' if passed else ''} "
             f"{world.schema.selection(operation)} }}")
    return Case(target, kind, caller, query, variables)


def cases_for(world: World, target: Target) -> list[Case]:
    entry = entry_at(world, target)
    if target.scalar == "JSON":
        attacks = {kind: {"key": value} for kind, value in
                   bad_values(target, "Fuzz value").items() if kind in TEXT_KINDS}
        attacks[f"{TOO_LONG} characters"] = {"key": "a" * TOO_LONG}
    else:
        attacks = bad_values(target, world.string_for(entry["name"], target.scalar,
                                                      target.operation))
    return [build_case(world, target, kind, bad, caller)
            for kind, bad in attacks.items() for caller in ("anonymous", "user", "api key")]


def init_payload(world: World, caller: str) -> dict[str, str] | None:
    """The connection_init payload that authenticates `caller`, as the headers would."""
    if caller == "user":
        return {"authorization": f"Bearer {world.shop.owner.token}"}
    if caller == "api key":
        return {"apiKey": world.shop.api_key}
    return None


def headers_for(world: World, caller: str) -> dict[str, str]:
    headers = {"content-type": "application/json"}
    if caller == "user":
        headers["authorization"] = f"Bearer {world.shop.owner.token}"
    elif caller == "api key":
        headers["x-api-key"] = world.shop.api_key
    return headers


@dataclass
class Outcome:
    case: Case
    status: int  # HTTP status; over WebSocket 200 when a message came, 0 when none did
    body: Any  # the JSON answer (a message's payload), or None when it was not JSON
    text: str  # the HTTP body, or the WebSocket message's type
    failure: str | None = None  # over WebSocket: no answer at all (a hang, a closed socket)

    def errors(self) -> list[dict]:
        return (self.body or {}).get("errors") or []

    def user_errors(self) -> list[dict]:
        return list(_user_errors((self.body or {}).get("data")))

    def codes(self) -> set[str]:
        return ({(error.get("extensions") or {}).get("code") for error in self.errors()}
                | {error.get("code") for error in self.user_errors()})

    def summary(self) -> str:
        if self.failure:
            return f"WebSocket: {self.failure}"
        if self.body is None:
            return f"HTTP {self.status}, not JSON: {self.text[:120]!r}"
        tops = [f"{(e.get('extensions') or {}).get('code')}"
                f"{_field_text((e.get('extensions') or {}).get('field'))}" for e in self.errors()]
        users = [f"{e.get('code')}{_field_text(e.get('field'))}" for e in self.user_errors()]
        data = (self.body.get("data") or {}).get(self.case.target.operation, "-")
        shown = "null" if data is None else "data" if data != "-" else "-"
        transport = (f"WebSocket {self.text}" if self.case.target.root == "subscription"
                     else f"HTTP {self.status}")
        return (f"{transport} errors={tops or '[]'} userErrors={users or '[]'} "
                f"{self.case.target.operation}={shown}")


def _field_text(path: Any) -> str:
    return f"@{'.'.join(map(str, path)) if isinstance(path, list) else path}" if path else ""


def _user_errors(data: Any) -> Iterator[dict]:
    if isinstance(data, dict):
        for key, value in data.items():
            if key == "userErrors" and isinstance(value, list):
                yield from (error for error in value if isinstance(error, dict))
            else:
                yield from _user_errors(value)
    elif isinstance(data, list):
        for item in data:
            yield from _user_errors(item)


async def send(client, world: World, case: Case) -> Outcome:
    if case.target.root == "subscription":
        return await subscribe(world, case)
    body = json.dumps({"query": case.query, "variables": case.variables}, ensure_ascii=True)
    response = await client.post("/graphql", content=body,
                                 headers=headers_for(world, case.caller))
    try:
        answer = response.json()
    except ValueError:
        answer = None
    return Outcome(case, response.status_code, answer, response.text)


async def subscribe(world: World, case: Case) -> Outcome:
    """A subscription case on a connection of its own; its first message is the answer."""
    live = await LiveClient.connect(world.live_url, init_payload(world, case.caller), ack=False)
    try:
        ack = await first_message(live, live.others)
        if isinstance(ack, str) or ack.get("type") != "connection_ack":
            return Outcome(case, 0, None, "", f"connection_init answered {ack}")
        operation = await live.subscribe(case.query, case.variables)
        message = await first_message(live, live.inbox(operation))
        if isinstance(message, str):
            return Outcome(case, 0, None, "", message)
        if message["type"] == "error":
            return Outcome(case, 200, {"errors": message["payload"]}, "error")
        if message["type"] == "next" and message["payload"].get("errors") \
                and message["payload"].get("data") is None:  # must end it, as `error` does
            after = await first_message(live, live.inbox(operation))
            ended = not isinstance(after, str) and after["type"] == "complete"
            return Outcome(case, 200, message["payload"], "next", None if ended else
                           f"a next with errors only, then {after} instead of complete")
        if message["type"] == "next":
            await live.complete(operation)
            return Outcome(case, 200, message["payload"], "next")
        return Outcome(case, 0, None, "", f"{message['type']} before any result")
    finally:
        await live.close()


async def first_message(live: LiveClient, inbox: asyncio.Queue) -> dict | str:
    """The next message of `inbox`, or why none came: the socket closed, or nothing in time."""
    getting = asyncio.ensure_future(inbox.get())
    done, _ = await asyncio.wait({getting, live.reader}, timeout=FIRST_MESSAGE_SECONDS,
                                 return_when=asyncio.FIRST_COMPLETED)
    if getting in done:
        return getting.result()
    getting.cancel()
    if not inbox.empty():  # it came with the close: the reader read it before ending
        return inbox.get_nowait()
    if live.reader in done:
        return f"the socket closed ({live.socket.close_code} {live.socket.close_reason!r})"
    return f"no message within {FIRST_MESSAGE_SECONDS}s (a hang)"


def names_the_field(path: Any, leaf: str) -> bool:
    if isinstance(path, str):
        path = [path]
    named_parts = [part for part in path or [] if not str(part).isdigit()]
    return bool(named_parts) and named_parts[-1] == leaf


def validation_error_naming(outcome: Outcome, leaf: str) -> bool:
    tops = [(error.get("extensions") or {}) for error in outcome.errors()]
    return (any(ext.get("code") == "VALIDATION_ERROR" and names_the_field(ext.get("field"), leaf)
                for ext in tops)
            or any(error.get("code") == "VALIDATION_ERROR"
                   and names_the_field(error.get("field"), leaf)
                   for error in outcome.user_errors()))


def reads_as_not_found(outcome: Outcome) -> bool:
    data = (outcome.body or {}).get("data") or {}
    return "NOT_FOUND" in outcome.codes() or (
        not outcome.errors() and outcome.case.target.operation in data
        and data[outcome.case.target.operation] is None)


def general_problem(outcome: Outcome) -> str | None:
    """What no input of any shape may cause (§5, §12.5, §12.6)."""
    if outcome.failure:
        return "no answer"
    if outcome.status >= 500:
        return "a 5xx"
    if not isinstance(outcome.body, dict):
        return "a body that is not GraphQL JSON"
    if any(not (error.get("extensions") or {}).get("code") for error in outcome.errors()):
        return "a top-level error without a code"
    if "INTERNAL_SERVER_ERROR" in outcome.codes():
        return "INTERNAL_SERVER_ERROR"
    if outcome.codes() & {"GRAPHQL_PARSE_FAILED", "GRAPHQL_VALIDATION_FAILED"}:
        return "the fuzzer's own request was not valid GraphQL (a bug in this test)"
    return None


def rule_problem(outcome: Outcome) -> str | None:
    """The specific §12.5 rule for the kind of value sent, or None when it holds."""
    case = outcome.case
    if outcome.codes() & AUTH_REFUSALS:
        return None  # refused before the input mattered
    if case.kind in TEXT_KINDS:
        if validation_error_naming(outcome, case.target.leaf):
            return None
        if case.target.scalar == "ID" and reads_as_not_found(outcome):
            return None
        return f"no VALIDATION_ERROR naming {case.target.leaf}" + (
            " (nor not found)" if case.target.scalar == "ID" else "")
    if case.kind in CURSOR_KINDS and not validation_error_naming(outcome, case.target.leaf):
        return f"no VALIDATION_ERROR on {case.target.leaf}"
    return None


def violations(outcome: Outcome) -> list[str]:
    problem = general_problem(outcome) or rule_problem(outcome)
    if not problem:
        return []
    return [f"{outcome.case.kind} as {outcome.case.caller}: {problem} <- {outcome.summary()}"]


async def send_all(client, world: World, cases: list[Case]) -> list[Outcome]:
    outcomes: list[Outcome] = []
    for start in range(0, len(cases), CHUNK):
        outcomes += await asyncio.gather(*(send(client, world, case)
                                           for case in cases[start:start + CHUNK]))
    return outcomes


# The world the cases run against ----------------------------------------------------------

INVITE = """mutation($input: InviteMemberInput!) { inviteMember(input: $input) {
  invitation { id } userErrors { code field message } } }"""
KEY_IDS = "query($id: ID!) { merchant(id: $id) { apiKeys { id } } }"


async def introspect(client, token: str | None = None) -> dict:
    answer = await gql(client, INTROSPECTION, token=token)
    assert answer["_status"] == 200 and "errors" not in answer, answer
    return answer["data"]


@pytest_asyncio.fixture(scope="session")
async def socket_server(app):
    """The tests' app behind a real uvicorn: subscriptions need a WebSocket."""
    local = LocalServer(app)
    await local.start()
    yield local
    await local.stop()


@pytest.fixture(scope="session")
async def world(client, socket_server) -> World:
    shop = await open_shop(client)
    keys = await gql(client, KEY_IDS, {"id": shop.merchant_id}, token=shop.owner.token)
    intent = await create_intent(client, shop, description="fuzz target")
    invited = payload_of(await gql(client, INVITE, {"input": {
        "merchantId": shop.merchant_id, "email": "invitee@example.com", "role": "STAFF"}},
        token=shop.owner.token), "inviteMember")
    assert invited["userErrors"] == [], invited
    events = await gql(client, EVENTS, {"first": 1}, api_key=shop.api_key)
    edges = events["data"]["events"]["edges"]
    return World(schema=SchemaMap(await introspect(client)), shop=shop,
                 key_id=keys["data"]["merchant"]["apiKeys"][0]["id"], intent=intent,
                 invitation_id=invited["invitation"]["id"],
                 event_id=edges[0]["node"]["id"] if edges else "evt_fuzz0000",
                 live_url=socket_server.url)


# The tests --------------------------------------------------------------------------------

async def test_the_fuzzed_operations_are_the_live_schema(client, world):
    """The cases were collected from the schema in-process; the API serves the same one, so no
    operation or string argument escapes the fuzzing."""
    live = SchemaMap(await introspect(client, token=world.shop.owner.token))
    assert set(live.operations()) == set(COLLECTED.operations())
    assert {target.name for target in live.targets()} == {target.name for target in TARGETS}
    assert TARGETS  # a schema without strings would fuzz nothing


@pytest.mark.parametrize("target", TARGETS, ids=lambda target: target.name)
async def test_no_string_argument_breaks_the_gateway(client, world, target):
    outcomes = await send_all(client, world, cases_for(world, target))
    found = [line for outcome in outcomes for line in violations(outcome)]
    assert not found, f"{target.name}:\n  " + "\n  ".join(found)


FREE_TEXT_TARGETS = [target for target in TARGETS
                     if target.leaf in FREE_TEXT and target.scalar == "String"]


@pytest.mark.parametrize("target", FREE_TEXT_TARGETS, ids=lambda target: target.name)
async def test_free_text_arguments_take_tabs_and_line_breaks(client, world, target):
    """Against an intent of its own, so that a void or a refund changes nothing shared."""
    fresh = dataclasses.replace(world, intent=await create_intent(client, world.shop))
    text = "Line one\tcolumn\r\nLine two\nend"
    cases = [build_case(fresh, target, "tab and line breaks", text, caller)
             for caller in ("user", "api key")]
    found = [f"{outcome.case.caller}: {problem} <- {outcome.summary()}"
             for outcome in await send_all(client, fresh, cases)
             for problem in [general_problem(outcome) or (
                 f"VALIDATION_ERROR on {target.leaf}"
                 if validation_error_naming(outcome, target.leaf) else None)] if problem]
    assert not found, f"{target.name}:\n  " + "\n  ".join(found)


async def test_free_text_keeps_tabs_and_line_breaks(client, world):
    description = "Line one\tcolumn\r\nLine two\nend"
    answer = await gql(client, CREATE_INTENT, {"input": {
        "amount": 500, "currency": "usd", "successUrl": "https://shop.test/ok",
        "description": description}}, api_key=world.shop.api_key)
    created = payload_of(answer, "createPaymentIntent")
    assert created["userErrors"] == [], created
    assert "\t" in created["paymentIntent"]["description"]
    assert "\n" in created["paymentIntent"]["description"]


async def test_a_control_character_in_a_name_is_still_refused(client, world):
    """The free-text allowance is for description, reason and evidence only."""
    answer = await gql(client, CREATE_KEY, {"input": {
        "merchantId": world.shop.merchant_id, "name": "key\tname"}},
        token=world.shop.owner.token)
    refused = payload_of(answer, "createApiKey")["userErrors"]
    assert [(error["code"], error["field"]) for error in refused] == [
        ("VALIDATION_ERROR", ["input", "name"])], refused
