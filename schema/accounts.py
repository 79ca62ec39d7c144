"""Queries and mutations of the account side: auth, merchants, teams, API keys."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from core.errors import UserError
from resolvers import api_keys, auth, merchants, team
from schema.account_types import (
    ApiKey,
    Invitation,
    Membership,
    Merchant,
    MerchantSettings,
    RoleInfo,
    User,
)
from schema.context import caller_of
from schema.enums import Role
from schema.inputs import gateway_input
from schema.payloads import UserErrorType, payload


# --- inputs -----------------------------------------------------------------------------
@gateway_input
class RegisterInput:
    name: str
    email: str
    password: str


@gateway_input
class LoginInput:
    email: str
    password: str


@gateway_input
class RefreshTokenInput:
    refresh_token: str


@gateway_input
class LogoutInput:
    everywhere: bool = False


@gateway_input
class ChangePasswordInput:
    old_password: str
    new_password: str


@gateway_input
class CreateMerchantInput:
    business_name: str
    email: str
    legal_name: str | None = None
    phone: str | None = None
    website: str | None = None


@gateway_input
class UpdateMerchantInput:
    merchant_id: strawberry.ID
    business_name: str | None = None
    email: str | None = None
    phone: str | None = None
    website: str | None = None


@gateway_input
class UpdateMerchantSettingsInput:
    merchant_id: strawberry.ID
    webhook_url: str | None = strawberry.field(
        default=None, description='An http(s) URL; "" turns webhooks off.')
    default_currency: str | None = None


@gateway_input
class RotateWebhookSecretInput:
    merchant_id: strawberry.ID


@gateway_input
class InviteMemberInput:
    merchant_id: strawberry.ID
    email: str
    role: Role


@gateway_input
class RevokeInvitationInput:
    id: strawberry.ID


@gateway_input
class AcceptInvitationInput:
    token: str


@gateway_input
class UpdateMemberRoleInput:
    merchant_id: strawberry.ID
    user_id: strawberry.ID
    role: Role


@gateway_input
class RemoveMemberInput:
    merchant_id: strawberry.ID
    user_id: strawberry.ID


@gateway_input
class CreateApiKeyInput:
    merchant_id: strawberry.ID
    name: str


@gateway_input
class RevokeApiKeyInput:
    id: strawberry.ID


# --- payloads ---------------------------------------------------------------------------
@strawberry.type
class RegisterPayload:
    user_errors: list[UserErrorType]
    user: User | None = None


@strawberry.type
class LoginPayload:
    user_errors: list[UserErrorType]
    access_token: str | None = None
    refresh_token: str | None = None
    token_type: str | None = None
    expires_in: int | None = strawberry.field(default=None,
                                              description="Access token lifetime, seconds")
    user: User | None = None


@strawberry.type
class OkPayload:
    user_errors: list[UserErrorType]
    ok: bool = False


@strawberry.type
class LogoutPayload(OkPayload):
    pass


@strawberry.type
class ChangePasswordPayload(OkPayload):
    pass


@strawberry.type
class RemoveMemberPayload(OkPayload):
    pass


@strawberry.type
class MerchantPayload:
    user_errors: list[UserErrorType]
    merchant: Merchant | None = None


@strawberry.type
class MerchantSettingsPayload:
    user_errors: list[UserErrorType]
    settings: MerchantSettings | None = None


@strawberry.type
class InviteMemberPayload:
    user_errors: list[UserErrorType]
    invitation: Invitation | None = None
    token: str | None = strawberry.field(
        default=None, description="The invitation's token, to send to the invitee: shown this "
                                  "one time, stored only as a hash.")


@strawberry.type
class RevokeInvitationPayload(OkPayload):
    pass


@strawberry.type
class MembershipPayload:
    user_errors: list[UserErrorType]
    membership: Membership | None = None


@strawberry.type
class CreateApiKeyPayload:
    user_errors: list[UserErrorType]
    api_key: ApiKey | None = None
    secret: str | None = strawberry.field(default=None,
                                          description="The full key; shown this one time.")


@strawberry.type
class ApiKeyPayload:
    user_errors: list[UserErrorType]
    api_key: ApiKey | None = None


def _login_fields(tokens: auth.Tokens) -> dict:
    return {"access_token": tokens.access_token, "refresh_token": tokens.refresh_token,
            "token_type": tokens.token_type, "expires_in": tokens.expires_in,
            "user": User.of(tokens.user)}


def _ok(_: object) -> dict:
    return {"ok": True}


def _merchant(model) -> dict:
    return {"merchant": Merchant.of(model)}


def _settings(model) -> dict:
    return {"settings": Merchant.of(model).settings()}


def _membership(model) -> dict:
    return {"membership": Membership.of(model)}


# --- operations -------------------------------------------------------------------------
@strawberry.type
class AccountQuery:
    @strawberry.field
    async def me(self, info: Info) -> User:
        return User.of((await caller_of(info)).require_user())

    @strawberry.field(description="Merchants I belong to.")
    async def merchants(self, info: Info) -> list[Merchant]:
        return [Merchant.of(m) for m in await merchants.merchants_of(await caller_of(info))]

    @strawberry.field(description="A merchant I belong to; null otherwise.")
    async def merchant(self, info: Info, id: strawberry.ID) -> Merchant | None:
        caller = await caller_of(info)
        caller.require_authenticated()
        try:
            return Merchant.of(await merchants.get_merchant(caller, id))
        except UserError:
            return None

    @strawberry.field(description="Each role and its permissions (resource:action).")
    def roles(self) -> list[RoleInfo]:
        return [RoleInfo(role=role, permissions=perms) for role, perms in team.roles()]


@strawberry.type
class AccountMutation:
    @strawberry.mutation
    async def register(self, info: Info, input: RegisterInput) -> RegisterPayload:
        action = auth.register(input.name, input.email, input.password,
                               info.context.auth_throttle())
        return await payload(RegisterPayload, action,
                             lambda user: {"user": User.of(user)})

    @strawberry.mutation
    async def login(self, info: Info, input: LoginInput) -> LoginPayload:
        agent = info.context.request.headers.get("user-agent")
        action = auth.login(input.email, input.password, info.context.auth_throttle(), agent)
        return await payload(LoginPayload, action, _login_fields)

    @strawberry.mutation
    async def refresh_token(self, input: RefreshTokenInput) -> LoginPayload:
        return await payload(LoginPayload, auth.refresh(input.refresh_token), _login_fields)

    @strawberry.mutation
    async def logout(self, info: Info, input: LogoutInput | None = None) -> LogoutPayload:
        everywhere = bool(input and input.everywhere)
        return await payload(LogoutPayload, auth.logout(await caller_of(info), everywhere), _ok)

    @strawberry.mutation
    async def change_password(self, info: Info,
                              input: ChangePasswordInput) -> ChangePasswordPayload:
        action = auth.change_password(await caller_of(info), input.old_password,
                                      input.new_password, info.context.auth_throttle())
        return await payload(ChangePasswordPayload, action, _ok)

    @strawberry.mutation
    async def create_merchant(self, info: Info, input: CreateMerchantInput) -> MerchantPayload:
        action = merchants.create_merchant(
            await caller_of(info), input.business_name, input.email, input.legal_name,
            input.phone, input.website)
        return await payload(MerchantPayload, action, _merchant)

    @strawberry.mutation
    async def update_merchant(self, info: Info, input: UpdateMerchantInput) -> MerchantPayload:
        action = merchants.update_merchant(
            await caller_of(info), input.merchant_id, input.business_name, input.email,
            input.phone, input.website)
        return await payload(MerchantPayload, action, _merchant)

    @strawberry.mutation
    async def update_merchant_settings(
            self, info: Info, input: UpdateMerchantSettingsInput) -> MerchantSettingsPayload:
        action = merchants.update_settings(await caller_of(info), input.merchant_id,
                                           input.webhook_url, input.default_currency)
        return await payload(MerchantSettingsPayload, action, _settings)

    @strawberry.mutation
    async def rotate_webhook_secret(
            self, info: Info, input: RotateWebhookSecretInput) -> MerchantSettingsPayload:
        action = merchants.rotate_webhook_secret(await caller_of(info), input.merchant_id)
        return await payload(MerchantSettingsPayload, action, _settings)

    @strawberry.mutation
    async def invite_member(self, info: Info, input: InviteMemberInput) -> InviteMemberPayload:
        action = team.invite(await caller_of(info), input.merchant_id, input.email, input.role)
        return await payload(InviteMemberPayload, action, lambda sent: {
            "invitation": Invitation.of(sent.invitation), "token": sent.token})

    @strawberry.mutation(description="Take back a pending invitation; its token stops working.")
    async def revoke_invitation(self, info: Info,
                                input: RevokeInvitationInput) -> RevokeInvitationPayload:
        action = team.revoke_invitation(await caller_of(info), input.id)
        return await payload(RevokeInvitationPayload, action, _ok)

    @strawberry.mutation
    async def accept_invitation(self, info: Info,
                                input: AcceptInvitationInput) -> MembershipPayload:
        action = team.accept(await caller_of(info), input.token)
        return await payload(MembershipPayload, action, _membership)

    @strawberry.mutation
    async def update_member_role(self, info: Info,
                                 input: UpdateMemberRoleInput) -> MembershipPayload:
        action = team.update_role(await caller_of(info), input.merchant_id, input.user_id,
                                  input.role)
        return await payload(MembershipPayload, action, _membership)

    @strawberry.mutation
    async def remove_member(self, info: Info, input: RemoveMemberInput) -> RemoveMemberPayload:
        action = team.remove(await caller_of(info), input.merchant_id, input.user_id)
        return await payload(RemoveMemberPayload, action, _ok)

    @strawberry.mutation
    async def create_api_key(self, info: Info, input: CreateApiKeyInput) -> CreateApiKeyPayload:
        action = api_keys.create(await caller_of(info), input.merchant_id, input.name)
        return await payload(CreateApiKeyPayload, action,
                             lambda pair: {"api_key": ApiKey.of(pair[0]), "secret": pair[1]})

    @strawberry.mutation
    async def revoke_api_key(self, info: Info, input: RevokeApiKeyInput) -> ApiKeyPayload:
        action = api_keys.revoke(await caller_of(info), input.id)
        return await payload(ApiKeyPayload, action, lambda key: {"api_key": ApiKey.of(key)})
