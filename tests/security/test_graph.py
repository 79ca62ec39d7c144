"""CONTRACT §12.1, §12.2 and the caps of §12.7 through HTTP: what a caller sees at any depth,
invitations shown once and stored hashed, roles handed out only up to one's own."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest

from core import limits, security
from core.config import get_settings, use_settings
from core.permissions import Role
from models.api_keys import ApiKey
from models.merchants import Invitation, Membership, Merchant
from models.users import User
from tests.helpers import (
    ACCEPT,
    CREATE_KEY,
    CREATE_MERCHANT,
    INVITE,
    UPDATE_ROLE,
    add_member,
    create_api_key,
    create_merchant,
    error_code,
    gql,
    payload_of,
    register_and_login,
    set_webhook_url,
    unique_email,
    user_error_codes,
)
from tests.helpers import Shop as _Shop

DEEP_WALK = """{ me { memberships { merchant { id businessName email phone
  settings { webhookUrl webhookSecret }
  members { role user { id email memberships { role merchant { id businessName email
    settings { webhookUrl webhookSecret } members { user { email } }
    invitations { id email } apiKeys { id prefix } } } } } } } } }"""
REVOKE_INVITATION = """mutation($input: RevokeInvitationInput!) { revokeInvitation(input: $input) {
  ok userErrors { code field message } } }"""
MERCHANT_AS_KEY = """query($id: ID!) { merchant(id: $id) { id businessName
  settings { webhookUrl webhookSecret } members { role } invitations { id } apiKeys { id } } }"""


@pytest.fixture
def no_cost_limit():
    """The walks below cost far over MAX_QUERY_COST (§12.7 refuses them before they run);
    lifted here so that the visibility rule itself is what they test."""
    saved = get_settings()
    use_settings(saved.with_overrides(max_query_cost=10**12))
    yield
    use_settings(saved)


@pytest.fixture
async def two_merchants(client, no_cost_limit):
    """An owner of A and of B, and a STAFF member of A only."""
    owner = await register_and_login(client, "owner")
    merchant_a = await create_merchant(client, owner, "Alpha Books")
    merchant_b = await create_merchant(client, owner, "Secret Bravo Ltd")
    await set_webhook_url(client, _Shop(owner, merchant_b, ""), "https://bravo.test/hooks")
    staff = await add_member(client, owner, merchant_a, "STAFF")
    return owner, merchant_a, merchant_b, staff


async def test_a_deep_walk_never_reaches_a_merchant_the_caller_is_not_in(client, two_merchants):
    owner, merchant_a, merchant_b, staff = two_merchants
    answer = await gql(client, DEEP_WALK, token=staff.token)
    assert "errors" not in answer, answer
    text = json.dumps(answer)
    assert merchant_a in text
    assert merchant_b not in text and "Secret Bravo" not in text and "bravo.test" not in text
    # the owner, seen through A, shows only the merchant the two share
    members = answer["data"]["me"]["memberships"][0]["merchant"]["members"]
    owner_seen = next(m for m in members if m["user"]["id"] == owner.user_id)
    assert [m["merchant"]["id"] for m in owner_seen["user"]["memberships"]] == [merchant_a]


async def test_the_owner_still_sees_every_merchant_of_their_own(client, two_merchants):
    owner, merchant_a, merchant_b, _ = two_merchants
    answer = await gql(client, DEEP_WALK, token=owner.token)
    seen = {m["merchant"]["id"] for m in answer["data"]["me"]["memberships"]}
    assert seen == {merchant_a, merchant_b}


@pytest.mark.parametrize("role, sees_secret, sees_keys, sees_invitations", [
    ("STAFF", False, False, False), ("MANAGER", False, False, True),
    ("ADMIN", True, True, True)])
async def test_settings_keys_and_invitations_follow_the_roles_at_depth(
        client, two_merchants, role, sees_secret, sees_keys, sees_invitations):
    owner, merchant_a, _, _ = two_merchants
    await set_webhook_url(client, _Shop(owner, merchant_a, ""), "https://alpha.test/hooks")
    await create_api_key(client, owner, merchant_a)
    await gql(client, INVITE, {"input": {"merchantId": merchant_a, "email": unique_email(),
                                         "role": "STAFF"}}, token=owner.token)
    member = await add_member(client, owner, merchant_a, role)
    merchant = (await gql(client, DEEP_WALK, token=member.token))[
        "data"]["me"]["memberships"][0]["merchant"]
    deep = next(m for m in merchant["members"] if m["user"]["id"] == member.user_id)[
        "user"]["memberships"][0]["merchant"]
    for view in (merchant, deep):
        assert view["settings"]["webhookUrl"] == "https://alpha.test/hooks"
        assert (view["settings"]["webhookSecret"] is not None) is sees_secret
    assert bool(deep["apiKeys"]) is sees_keys
    assert bool(deep["invitations"]) is sees_invitations


async def test_an_api_key_sees_its_merchant_but_no_people_settings_or_keys(client,
                                                                           two_merchants):
    owner, merchant_a, merchant_b, _ = two_merchants
    key = await create_api_key(client, owner, merchant_b)
    own = (await gql(client, MERCHANT_AS_KEY, {"id": merchant_b}, api_key=key))["data"]
    assert own["merchant"]["id"] == merchant_b
    assert own["merchant"]["settings"] == {"webhookUrl": None, "webhookSecret": None}
    assert own["merchant"]["members"] == own["merchant"]["apiKeys"] == []
    other = (await gql(client, MERCHANT_AS_KEY, {"id": merchant_a}, api_key=key))["data"]
    assert other["merchant"] is None
    assert error_code(await gql(client, DEEP_WALK, api_key=key)) == "UNAUTHENTICATED"


# --- invitations ------------------------------------------------------------------------------
async def invite(client, inviter, merchant_id, role, email=None):
    return payload_of(await gql(client, INVITE, {"input": {
        "merchantId": merchant_id, "email": email or unique_email(), "role": role}},
        token=inviter.token), "inviteMember")


async def test_the_token_is_shown_once_and_stored_only_as_a_hash(client, two_merchants):
    owner, merchant_a, _, _ = two_merchants
    sent = await invite(client, owner, merchant_a, "ADMIN")
    token = sent["token"]
    assert token and "token" not in sent["invitation"]
    listed = await gql(client, "query($id: ID!) { merchant(id: $id) { invitations { id } } }",
                       {"id": merchant_a}, token=owner.token)
    assert token not in json.dumps(listed)
    stored = await Invitation.get(id=sent["invitation"]["id"])
    assert stored.token_hash == security.sha256_hex(token) != token
    fields = await gql(client, '{ __type(name: "Invitation") { fields { name } } }')
    assert "token" not in {f["name"] for f in fields["data"]["__type"]["fields"]}


async def test_a_manager_can_no_longer_become_admin_through_an_invitation(client, two_merchants):
    owner, merchant_a, _, _ = two_merchants
    manager = await add_member(client, owner, merchant_a, "MANAGER")
    await invite(client, owner, merchant_a, "ADMIN")  # the owner's: its token is not readable
    refused = await gql(client, INVITE, {"input": {"merchantId": merchant_a,
                                                   "email": unique_email(), "role": "ADMIN"}},
                        token=manager.token)
    assert error_code(refused) == "FORBIDDEN"
    assert (await invite(client, manager, merchant_a, "MANAGER"))["userErrors"] == []


@pytest.mark.parametrize("actor, role, allowed", [
    ("MANAGER", "STAFF", True), ("MANAGER", "MANAGER", True), ("MANAGER", "ADMIN", False),
    ("ADMIN", "ADMIN", True), ("ADMIN", "OWNER", False), ("OWNER", "OWNER", False)])
async def test_roles_are_handed_out_only_up_to_ones_own(client, two_merchants, actor, role,
                                                        allowed):
    owner, merchant_a, _, _ = two_merchants
    inviter = owner if actor == "OWNER" else await add_member(client, owner, merchant_a, actor)
    answer = await gql(client, INVITE, {"input": {"merchantId": merchant_a,
                                                  "email": unique_email(), "role": role}},
                       token=inviter.token)
    if allowed:
        assert payload_of(answer, "inviteMember")["userErrors"] == []
        return
    codes = [error_code(answer)] if "errors" in answer else user_error_codes(
        answer["data"]["inviteMember"])
    assert codes in (["FORBIDDEN"], ["VALIDATION_ERROR"])
    if actor != "MANAGER":  # a role change to it is refused the same way
        target = await add_member(client, owner, merchant_a, "STAFF")
        changed = await gql(client, UPDATE_ROLE, {"input": {
            "merchantId": merchant_a, "userId": target.user_id, "role": role}},
            token=inviter.token)
        assert "errors" in changed or user_error_codes(
            changed["data"]["updateMemberRole"]) == ["VALIDATION_ERROR"]


async def test_a_revoked_or_accepted_token_is_not_found(client, two_merchants):
    owner, merchant_a, _, staff = two_merchants
    manager = await add_member(client, owner, merchant_a, "MANAGER")
    invitee = await register_and_login(client, "invitee")
    sent = await invite(client, owner, merchant_a, "STAFF", invitee.email)
    as_staff = await gql(client, REVOKE_INVITATION, {"input": {"id": sent["invitation"]["id"]}},
                         token=staff.token)
    assert error_code(as_staff) == "FORBIDDEN"
    revoked = payload_of(await gql(client, REVOKE_INVITATION, {"input": {
        "id": sent["invitation"]["id"]}}, token=manager.token), "revokeInvitation")
    assert revoked == {"ok": True, "userErrors": []}
    accepted = payload_of(await gql(client, ACCEPT, {"input": {"token": sent["token"]}},
                                    token=invitee.token), "acceptInvitation")
    assert user_error_codes(accepted) == ["NOT_FOUND"]

    again = await invite(client, owner, merchant_a, "STAFF", invitee.email)
    first = payload_of(await gql(client, ACCEPT, {"input": {"token": again["token"]}},
                                 token=invitee.token), "acceptInvitation")
    assert first["userErrors"] == []
    second = payload_of(await gql(client, ACCEPT, {"input": {"token": again["token"]}},
                                  token=invitee.token), "acceptInvitation")
    assert user_error_codes(second) == ["NOT_FOUND"]


# --- caps ------------------------------------------------------------------------------------
async def test_a_user_owns_at_most_ten_merchants(client):
    owner = await register_and_login(client, "owner")
    for n in range(limits.MERCHANTS_OWNED_PER_USER):
        await create_merchant(client, owner, f"Shop {n}")
    refused = payload_of(await gql(client, CREATE_MERCHANT, {"input": {
        "businessName": "One too many", "email": "x@shop.test"}}, token=owner.token),
        "createMerchant")
    assert user_error_codes(refused) == ["VALIDATION_ERROR"]
    assert await Membership.filter(user_id=owner.user_id).count() == 10


async def test_a_user_belongs_to_at_most_fifty_merchants(client):
    owner = await register_and_login(client, "owner")
    invitee = await register_and_login(client, "busy")
    for n in range(limits.MERCHANTS_PER_USER):
        merchant = await Merchant.create(business_name=f"Other {n}", email="o@shop.test")
        await Membership.create(user_id=invitee.user_id, merchant=merchant, role=Role.STAFF)
    merchant_id = await create_merchant(client, owner)
    sent = await invite(client, owner, merchant_id, "STAFF", invitee.email)
    accepted = payload_of(await gql(client, ACCEPT, {"input": {"token": sent["token"]}},
                                    token=invitee.token), "acceptInvitation")
    assert user_error_codes(accepted) == ["VALIDATION_ERROR"]
    assert not await Membership.exists(user_id=invitee.user_id, merchant_id=merchant_id)


async def test_a_merchant_has_at_most_a_hundred_members_and_pending_invitations(client):
    owner = await register_and_login(client, "owner")
    merchant_id = await create_merchant(client, owner)
    for n in range(limits.MEMBERS_PER_MERCHANT - 1):
        user = await User.create(name=f"M{n}", email=unique_email("m"), password_hash="x")
        await Membership.create(user=user, merchant_id=merchant_id, role=Role.STAFF)
    invitee = await register_and_login(client, "late")
    sent = await invite(client, owner, merchant_id, "STAFF", invitee.email)
    accepted = payload_of(await gql(client, ACCEPT, {"input": {"token": sent["token"]}},
                                    token=invitee.token), "acceptInvitation")
    assert user_error_codes(accepted) == ["VALIDATION_ERROR"]
    for _ in range(limits.PENDING_INVITATIONS_PER_MERCHANT - 1):
        assert (await invite(client, owner, merchant_id, "STAFF"))["userErrors"] == []
    assert user_error_codes(await invite(client, owner, merchant_id, "STAFF")) == [
        "VALIDATION_ERROR"]


async def test_concurrent_key_creation_never_passes_the_cap(client):
    owner = await register_and_login(client, "owner")
    merchant_id = await create_merchant(client, owner)
    await ApiKey.bulk_create([
        ApiKey(merchant_id=merchant_id, name=f"k{n}", prefix="sk_test_x",
               key_hash=security.sha256_hex(f"{merchant_id}-{n}"))
        for n in range(limits.ACTIVE_API_KEYS_PER_MERCHANT - 3)])
    answers = await asyncio.gather(*[gql(client, CREATE_KEY, {"input": {
        "merchantId": merchant_id, "name": "race"}}, token=owner.token) for _ in range(8)])
    created = [a for a in answers if a["data"]["createApiKey"]["userErrors"] == []]
    assert len(created) == 3
    assert await ApiKey.filter(merchant_id=merchant_id, revoked_at=None).count() == 100


async def test_the_deep_walk_is_refused_by_its_cost_before_it_runs(client):
    staff = await register_and_login(client, "staff")
    answer = await gql(client, DEEP_WALK, token=staff.token)
    assert error_code(answer) == "QUERY_TOO_COMPLEX"
    assert answer["data"] is None


async def test_concurrent_invitations_never_pass_the_cap(client):
    owner = await register_and_login(client, "owner")
    merchant_id = await create_merchant(client, owner)
    await Invitation.bulk_create([
        Invitation(merchant_id=merchant_id, email=f"i{n}@shop.test", role=Role.STAFF,
                   token_hash=security.sha256_hex(f"{merchant_id}-{n}"),
                   pending_key=f"{merchant_id}:i{n}@shop.test",
                   expires_at=datetime.now(UTC) + timedelta(days=1))
        for n in range(limits.PENDING_INVITATIONS_PER_MERCHANT - 2)])
    answers = await asyncio.gather(*[invite(client, owner, merchant_id, "STAFF")
                                     for _ in range(6)])
    assert sum(a["userErrors"] == [] for a in answers) == 2
    assert {c for a in answers for c in user_error_codes(a)} == {"VALIDATION_ERROR"}
    assert await Invitation.filter(merchant_id=merchant_id, status="pending").count() == 100
