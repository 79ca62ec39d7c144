"""Merchants, settings, roles, invitations and API keys through HTTP."""

from __future__ import annotations

import pytest

from tests.helpers import (
    ACCEPT,
    CREATE_KEY,
    CREATE_MERCHANT,
    INVITE,
    MERCHANT,
    MERCHANTS,
    REMOVE_MEMBER,
    REVOKE_KEY,
    ROLES,
    ROTATE_SECRET,
    UPDATE_MERCHANT,
    UPDATE_ROLE,
    UPDATE_SETTINGS,
    add_member,
    create_api_key,
    create_merchant,
    error_code,
    gql,
    payload_of,
    register_and_login,
    user_error_codes,
)


@pytest.fixture
async def owner(client):
    return await register_and_login(client, "owner")


@pytest.fixture
async def merchant_id(client, owner):
    return await create_merchant(client, owner)


async def test_create_merchant_makes_the_caller_owner(client, owner, merchant_id):
    body = await gql(client, MERCHANT, {"id": merchant_id}, token=owner.token)
    merchant = body["data"]["merchant"]
    assert merchant["businessName"] == "Acme Books"
    assert [(m["role"], m["user"]["id"]) for m in merchant["members"]] == \
        [("OWNER", owner.user_id)]
    assert merchant["settings"] == {"webhookUrl": None, "webhookSecret": None,
                                    "defaultCurrency": "USD"}
    second = await create_merchant(client, owner, "Acme Games")
    listed = (await gql(client, MERCHANTS, token=owner.token))["data"]["merchants"]
    assert [m["id"] for m in listed] == [merchant_id, second]


async def test_create_merchant_validates(client, owner):
    bad = payload_of(await gql(client, CREATE_MERCHANT, {"input": {
        "businessName": "X", "email": "nope", "website": "ftp://x"}}, token=owner.token),
        "createMerchant")
    assert user_error_codes(bad) == ["VALIDATION_ERROR"]
    assert bad["merchant"] is None
    assert error_code(await gql(client, CREATE_MERCHANT, {"input": {
        "businessName": "X", "email": "a@b.co"}})) == "UNAUTHENTICATED"


async def test_update_merchant(client, owner, merchant_id):
    updated = payload_of(await gql(client, UPDATE_MERCHANT, {"input": {
        "merchantId": merchant_id, "businessName": "Acme Ltd", "phone": "+44 20 7946 0000",
        "website": "https://acme.test"}}, token=owner.token), "updateMerchant")
    assert updated["merchant"]["businessName"] == "Acme Ltd"
    assert updated["merchant"]["website"] == "https://acme.test"
    bad = payload_of(await gql(client, UPDATE_MERCHANT, {"input": {
        "merchantId": merchant_id, "website": "javascript:alert(1)"}}, token=owner.token),
        "updateMerchant")
    assert bad["userErrors"][0]["field"] == ["input", "website"]


async def test_settings_generate_and_rotate_the_webhook_secret(client, owner, merchant_id):
    bad = payload_of(await gql(client, UPDATE_SETTINGS, {"input": {
        "merchantId": merchant_id, "webhookUrl": "not a url"}}, token=owner.token),
        "updateMerchantSettings")
    assert bad["userErrors"][0]["field"] == ["input", "webhookUrl"]
    set_url = payload_of(await gql(client, UPDATE_SETTINGS, {"input": {
        "merchantId": merchant_id, "webhookUrl": "http://127.0.0.1:9/hooks",
        "defaultCurrency": "eur"}}, token=owner.token), "updateMerchantSettings")
    settings = set_url["settings"]
    assert settings["webhookSecret"].startswith("whsec_")
    assert settings["defaultCurrency"] == "EUR"
    rotated = payload_of(await gql(client, ROTATE_SECRET, {"input": {
        "merchantId": merchant_id}}, token=owner.token), "rotateWebhookSecret")
    assert rotated["settings"]["webhookSecret"] not in (None, settings["webhookSecret"])
    bad_currency = payload_of(await gql(client, UPDATE_SETTINGS, {"input": {
        "merchantId": merchant_id, "defaultCurrency": "XXX1"}}, token=owner.token),
        "updateMerchantSettings")
    assert bad_currency["userErrors"][0]["field"] == ["input", "defaultCurrency"]


async def test_roles_lists_permissions(client):
    roles = {r["role"]: r["permissions"] for r in (await gql(client, ROLES))["data"]["roles"]}
    assert set(roles) == {"OWNER", "ADMIN", "MANAGER", "STAFF"}
    assert "members:remove" in roles["OWNER"] and "members:remove" not in roles["ADMIN"]
    assert "payment_intents:refund" in roles["MANAGER"]
    assert "payment_intents:refund" not in roles["STAFF"]
    assert all(":" in p for perms in roles.values() for p in perms)


async def test_invitation_flow_and_its_rules(client, owner, merchant_id):
    invitee = await register_and_login(client, "invitee")
    stranger = await register_and_login(client, "stranger")
    invited = payload_of(await gql(client, INVITE, {"input": {
        "merchantId": merchant_id, "email": invitee.email.upper(), "role": "MANAGER"}},
        token=owner.token), "inviteMember")
    token = invited["token"]
    assert invited["invitation"]["status"] == "pending"
    again = payload_of(await gql(client, INVITE, {"input": {
        "merchantId": merchant_id, "email": invitee.email, "role": "STAFF"}},
        token=owner.token), "inviteMember")
    assert user_error_codes(again) == ["VALIDATION_ERROR"]
    owner_role = payload_of(await gql(client, INVITE, {"input": {
        "merchantId": merchant_id, "email": stranger.email, "role": "OWNER"}},
        token=owner.token), "inviteMember")
    assert owner_role["userErrors"][0]["field"] == ["input", "role"]

    assert error_code(await gql(client, ACCEPT, {"input": {"token": token}},
                                token=stranger.token)) == "FORBIDDEN"
    accepted = payload_of(await gql(client, ACCEPT, {"input": {"token": token}},
                                    token=invitee.token), "acceptInvitation")
    assert accepted["membership"]["role"] == "MANAGER"
    assert accepted["membership"]["merchant"]["id"] == merchant_id
    reused = payload_of(await gql(client, ACCEPT, {"input": {"token": token}},
                                  token=invitee.token), "acceptInvitation")
    assert user_error_codes(reused) == ["NOT_FOUND"]
    member_view = (await gql(client, MERCHANT, {"id": merchant_id},
                             token=invitee.token))["data"]["merchant"]
    assert {m["role"] for m in member_view["members"]} == {"OWNER", "MANAGER"}


async def test_staff_may_read_but_not_manage(client, owner, merchant_id):
    staff = await add_member(client, owner, merchant_id, "STAFF")
    view = (await gql(client, MERCHANT, {"id": merchant_id}, token=staff.token))["data"]
    assert view["merchant"]["id"] == merchant_id
    assert view["merchant"]["apiKeys"] == [] and view["merchant"]["invitations"] == []
    for document, variables in [
        (INVITE, {"merchantId": merchant_id, "email": "x@example.com", "role": "STAFF"}),
        (CREATE_KEY, {"merchantId": merchant_id, "name": "k"}),
        (UPDATE_MERCHANT, {"merchantId": merchant_id, "businessName": "Hijack"}),
        (UPDATE_SETTINGS, {"merchantId": merchant_id, "webhookUrl": "https://evil.test"}),
        (REMOVE_MEMBER, {"merchantId": merchant_id, "userId": owner.user_id}),
    ]:
        assert error_code(await gql(client, document, {"input": variables},
                                    token=staff.token)) == "FORBIDDEN", document


async def test_manager_invites_but_cannot_administer(client, owner, merchant_id):
    manager = await add_member(client, owner, merchant_id, "MANAGER")
    staff = await register_and_login(client, "newstaff")
    ok = payload_of(await gql(client, INVITE, {"input": {
        "merchantId": merchant_id, "email": staff.email, "role": "STAFF"}},
        token=manager.token), "inviteMember")
    assert ok["userErrors"] == []
    assert error_code(await gql(client, INVITE, {"input": {
        "merchantId": merchant_id, "email": "boss@example.com", "role": "ADMIN"}},
        token=manager.token)) == "FORBIDDEN"
    assert error_code(await gql(client, CREATE_KEY, {"input": {
        "merchantId": merchant_id, "name": "k"}}, token=manager.token)) == "FORBIDDEN"
    secret_view = (await gql(client, MERCHANT, {"id": merchant_id},
                             token=manager.token))["data"]["merchant"]["settings"]
    assert secret_view["webhookSecret"] is None


async def test_webhook_secret_is_shown_to_owner_and_admin_only(client, owner, merchant_id):
    await gql(client, UPDATE_SETTINGS, {"input": {
        "merchantId": merchant_id, "webhookUrl": "http://127.0.0.1:9/h"}}, token=owner.token)
    admin = await add_member(client, owner, merchant_id, "ADMIN")
    staff = await add_member(client, owner, merchant_id, "STAFF")

    def secret(body):
        return body["data"]["merchant"]["settings"]["webhookSecret"]

    assert secret(await gql(client, MERCHANT, {"id": merchant_id}, token=admin.token))
    assert secret(await gql(client, MERCHANT, {"id": merchant_id}, token=staff.token)) is None


async def test_role_changes_and_removal(client, owner, merchant_id):
    admin = await add_member(client, owner, merchant_id, "ADMIN")
    staff = await add_member(client, owner, merchant_id, "STAFF")
    promoted = payload_of(await gql(client, UPDATE_ROLE, {"input": {
        "merchantId": merchant_id, "userId": staff.user_id, "role": "MANAGER"}},
        token=admin.token), "updateMemberRole")
    assert promoted["membership"]["role"] == "MANAGER"
    assert error_code(await gql(client, UPDATE_ROLE, {"input": {
        "merchantId": merchant_id, "userId": owner.user_id, "role": "STAFF"}},
        token=admin.token)) == "FORBIDDEN"
    assert error_code(await gql(client, REMOVE_MEMBER, {"input": {
        "merchantId": merchant_id, "userId": staff.user_id}}, token=admin.token)) == "FORBIDDEN"
    assert error_code(await gql(client, REMOVE_MEMBER, {"input": {
        "merchantId": merchant_id, "userId": owner.user_id}}, token=owner.token)) == "FORBIDDEN"
    removed = payload_of(await gql(client, REMOVE_MEMBER, {"input": {
        "merchantId": merchant_id, "userId": staff.user_id}}, token=owner.token),
        "removeMember")
    assert removed == {"ok": True, "userErrors": []}
    assert (await gql(client, MERCHANT, {"id": merchant_id},
                      token=staff.token))["data"]["merchant"] is None
    missing = payload_of(await gql(client, REMOVE_MEMBER, {"input": {
        "merchantId": merchant_id, "userId": staff.user_id}}, token=owner.token),
        "removeMember")
    assert user_error_codes(missing) == ["NOT_FOUND"]


async def test_other_merchants_are_not_found(client, owner, merchant_id):
    outsider = await register_and_login(client, "outsider")
    assert (await gql(client, MERCHANT, {"id": merchant_id},
                      token=outsider.token))["data"]["merchant"] is None
    for document, variables in [
        (INVITE, {"merchantId": merchant_id, "email": "x@example.com", "role": "STAFF"}),
        (CREATE_KEY, {"merchantId": merchant_id, "name": "k"}),
        (UPDATE_MERCHANT, {"merchantId": merchant_id, "businessName": "Hijack"}),
    ]:
        body = await gql(client, document, {"input": variables}, token=outsider.token)
        field = next(iter(body["data"]))
        assert user_error_codes(body["data"][field]) == ["NOT_FOUND"], document


async def test_api_key_lifecycle(client, owner, merchant_id):
    created = payload_of(await gql(client, CREATE_KEY, {"input": {
        "merchantId": merchant_id, "name": "backend"}}, token=owner.token), "createApiKey")
    secret = created["secret"]
    assert secret.startswith("sk_test_") and len(secret) >= 8 + 32
    assert secret[8:].isalnum()
    assert created["apiKey"]["prefix"] == secret[:12]
    keys = (await gql(client, MERCHANT, {"id": merchant_id},
                      token=owner.token))["data"]["merchant"]["apiKeys"]
    assert secret not in str(keys)

    from models.api_keys import ApiKey
    stored = await ApiKey.get(id=created["apiKey"]["id"])
    assert secret not in (stored.key_hash, stored.prefix) and len(stored.key_hash) == 64

    # The key reads its own merchant (X-API-Key or Bearer), and nothing of users or keys.
    assert (await gql(client, MERCHANT, {"id": merchant_id}, api_key=secret))["data"][
        "merchant"]["id"] == merchant_id
    bearer = await gql(client, MERCHANT, {"id": merchant_id},
                       headers={"Authorization": f"Bearer {secret}"})
    assert bearer["data"]["merchant"]["id"] == merchant_id
    assert error_code(await gql(client, "{ me { id } }", api_key=secret)) == "UNAUTHENTICATED"
    assert error_code(await gql(client, CREATE_KEY, {"input": {
        "merchantId": merchant_id, "name": "k2"}}, api_key=secret)) == "FORBIDDEN"
    listed = (await gql(client, MERCHANT, {"id": merchant_id},
                        token=owner.token))["data"]["merchant"]["apiKeys"]
    assert listed[0]["lastUsedAt"] is not None

    revoked = payload_of(await gql(client, REVOKE_KEY, {"input": {
        "id": created["apiKey"]["id"]}}, token=owner.token), "revokeApiKey")
    assert revoked["apiKey"]["revokedAt"]
    assert error_code(await gql(client, MERCHANT, {"id": merchant_id},
                                api_key=secret)) == "UNAUTHENTICATED"


async def test_an_api_key_sees_only_its_own_merchant(client, owner, merchant_id):
    other_owner = await register_and_login(client, "other")
    other_merchant = await create_merchant(client, other_owner, "Other")
    key = await create_api_key(client, owner, merchant_id)
    assert (await gql(client, MERCHANT, {"id": other_merchant},
                      api_key=key))["data"]["merchant"] is None
    assert error_code(await gql(client, MERCHANT, {"id": merchant_id},
                                api_key="sk_test_" + "x" * 40)) == "UNAUTHENTICATED"
    revoke_other = payload_of(await gql(client, REVOKE_KEY, {"input": {"id": "key_nope"}},
                                        token=owner.token), "revokeApiKey")
    assert user_error_codes(revoke_other) == ["NOT_FOUND"]


async def test_a_key_revoked_elsewhere_stops_working_within_a_second(client, owner,
                                                                      merchant_id):
    """Keys are cached for a second; a revocation by another process waits at most that."""
    import asyncio

    from core.clock import now
    from models.api_keys import ApiKey

    key = await create_api_key(client, owner, merchant_id)
    assert (await gql(client, MERCHANT, {"id": merchant_id}, api_key=key))["data"]["merchant"]
    await ApiKey.filter(merchant_id=merchant_id).update(revoked_at=now())  # not via this API
    await asyncio.sleep(1.05)
    assert error_code(await gql(client, MERCHANT, {"id": merchant_id},
                                api_key=key)) == "UNAUTHENTICATED"
