"""Accounts through HTTP: register, login, lockout, refresh rotation, logout, passwords."""

from __future__ import annotations

from tests.helpers import (
    CHANGE_PASSWORD,
    LOGIN,
    LOGOUT,
    ME,
    PASSWORD,
    REFRESH,
    REGISTER,
    error_code,
    gql,
    payload_of,
    register_and_login,
    unique_email,
    user_error_codes,
)


async def register(client, email, password=PASSWORD, name="Dev"):
    return payload_of(await gql(client, REGISTER, {"input": {
        "name": name, "email": email, "password": password}}), "register")


async def login(client, email, password=PASSWORD):
    return payload_of(await gql(client, LOGIN, {"input": {"email": email,
                                                           "password": password}}), "login")


async def test_register_normalises_email_and_refuses_duplicates(client):
    email = unique_email()
    first = await register(client, "  " + email.upper() + " ")
    assert first["userErrors"] == []
    assert first["user"]["email"] == email
    again = await register(client, email)
    assert user_error_codes(again) == ["EMAIL_TAKEN"]
    assert again["user"] is None
    assert again["userErrors"][0]["field"] == ["input", "email"]


async def test_register_validates_each_field(client):
    bad_email = await register(client, "not-an-email")
    assert user_error_codes(bad_email) == ["VALIDATION_ERROR"]
    assert bad_email["userErrors"][0]["field"] == ["input", "email"]
    assert user_error_codes(await register(client, unique_email(), "short")) == ["WEAK_PASSWORD"]
    assert user_error_codes(await register(client, unique_email(), "password123")) == \
        ["WEAK_PASSWORD"]
    blank = await register(client, unique_email(), name="   ")
    assert blank["userErrors"][0]["field"] == ["input", "name"]


async def test_login_and_me(client):
    account = await register_and_login(client)
    me = await gql(client, ME, token=account.token)
    assert me["data"]["me"]["email"] == account.email
    assert [s["current"] for s in me["data"]["me"]["sessions"]] == [True]


async def test_login_refuses_wrong_password_and_unknown_email(client):
    account = await register_and_login(client)
    assert user_error_codes(await login(client, account.email, "wrong password!")) == \
        ["INVALID_CREDENTIALS"]
    assert user_error_codes(await login(client, unique_email(), PASSWORD)) == \
        ["INVALID_CREDENTIALS"]


async def test_five_failures_lock_the_account(client):
    account = await register_and_login(client)
    codes = [user_error_codes(await login(client, account.email, "wrong password!"))[0]
             for _ in range(5)]
    assert codes == ["INVALID_CREDENTIALS"] * 4 + ["ACCOUNT_LOCKED"]
    # Locked: even the right password is refused.
    assert user_error_codes(await login(client, account.email)) == ["ACCOUNT_LOCKED"]


async def test_a_success_resets_the_failure_count(client):
    account = await register_and_login(client)
    for _ in range(4):
        await login(client, account.email, "wrong password!")
    assert (await login(client, account.email))["userErrors"] == []
    for _ in range(4):
        assert user_error_codes(await login(client, account.email, "wrong password!")) == \
            ["INVALID_CREDENTIALS"]


async def test_me_needs_a_valid_token(client):
    assert error_code(await gql(client, ME)) == "UNAUTHENTICATED"
    assert error_code(await gql(client, ME, token="garbage")) == "UNAUTHENTICATED"
    assert error_code(await gql(client, ME, token="a.b.c")) == "UNAUTHENTICATED"


async def test_expired_access_token_is_refused(client, settings):
    from core.security import encode_access_token

    account = await register_and_login(client)
    me = await gql(client, ME, token=account.token)
    session_id = me["data"]["me"]["sessions"][0]["id"]
    expired = encode_access_token(settings.jwt_secret, account.user_id, session_id, -10)
    assert error_code(await gql(client, ME, token=expired)) == "UNAUTHENTICATED"
    forged = encode_access_token("another secret of at least 32 bytes", account.user_id,
                                 session_id, 600)
    assert error_code(await gql(client, ME, token=forged)) == "UNAUTHENTICATED"


async def test_refresh_rotates_and_reuse_revokes_the_family(client):
    account = await register_and_login(client)
    rotated = payload_of(await gql(client, REFRESH, {"input": {
        "refreshToken": account.refresh_token}}), "refreshToken")
    assert rotated["userErrors"] == []
    assert rotated["refreshToken"] != account.refresh_token
    assert (await gql(client, ME, token=rotated["accessToken"]))["data"]["me"]

    replay = payload_of(await gql(client, REFRESH, {"input": {
        "refreshToken": account.refresh_token}}), "refreshToken")
    assert user_error_codes(replay) == ["INVALID_CREDENTIALS"]
    # The whole family is dead: the newest refresh token and every access token too.
    newest = payload_of(await gql(client, REFRESH, {"input": {
        "refreshToken": rotated["refreshToken"]}}), "refreshToken")
    assert user_error_codes(newest) == ["INVALID_CREDENTIALS"]
    assert error_code(await gql(client, ME, token=rotated["accessToken"])) == "UNAUTHENTICATED"


async def test_refresh_with_unknown_token(client):
    unknown = payload_of(await gql(client, REFRESH, {"input": {"refreshToken": "rt_nope"}}),
                         "refreshToken")
    assert user_error_codes(unknown) == ["INVALID_CREDENTIALS"]


async def test_logout_revokes_this_session_only(client):
    account = await register_and_login(client)
    other = await login(client, account.email)
    out = payload_of(await gql(client, LOGOUT, {}, token=account.token), "logout")
    assert out == {"ok": True, "userErrors": []}
    assert error_code(await gql(client, ME, token=account.token)) == "UNAUTHENTICATED"
    assert (await gql(client, ME, token=other["accessToken"]))["data"]["me"]
    dead_refresh = payload_of(await gql(client, REFRESH, {"input": {
        "refreshToken": account.refresh_token}}), "refreshToken")
    assert user_error_codes(dead_refresh) == ["INVALID_CREDENTIALS"]


async def test_logout_everywhere(client):
    account = await register_and_login(client)
    other = await login(client, account.email)
    await gql(client, LOGOUT, {"input": {"everywhere": True}}, token=account.token)
    assert error_code(await gql(client, ME, token=other["accessToken"])) == "UNAUTHENTICATED"


async def test_logout_needs_a_token(client):
    assert error_code(await gql(client, LOGOUT, {})) == "UNAUTHENTICATED"


async def test_change_password_revokes_every_session(client):
    account = await register_and_login(client)
    wrong = payload_of(await gql(client, CHANGE_PASSWORD, {"input": {
        "oldPassword": "not it at all", "newPassword": "another good one"}},
        token=account.token), "changePassword")
    assert user_error_codes(wrong) == ["INVALID_CREDENTIALS"]
    weak = payload_of(await gql(client, CHANGE_PASSWORD, {"input": {
        "oldPassword": PASSWORD, "newPassword": "short"}}, token=account.token),
        "changePassword")
    assert user_error_codes(weak) == ["WEAK_PASSWORD"]
    assert weak["userErrors"][0]["field"] == ["input", "newPassword"]

    changed = payload_of(await gql(client, CHANGE_PASSWORD, {"input": {
        "oldPassword": PASSWORD, "newPassword": "another good one"}}, token=account.token),
        "changePassword")
    assert changed == {"ok": True, "userErrors": []}
    assert error_code(await gql(client, ME, token=account.token)) == "UNAUTHENTICATED"
    assert user_error_codes(await login(client, account.email)) == ["INVALID_CREDENTIALS"]
    assert (await login(client, account.email, "another good one"))["userErrors"] == []


async def test_password_hash_is_argon2id(client):
    from models.users import User

    account = await register_and_login(client)
    user = await User.get(id=account.user_id)
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash
