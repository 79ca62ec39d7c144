"""Queries and mutations of the account side: auth, merchants, teams, API keys."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from core.errors import UserError
from resolvers import api_keys, auth, merchants, team
from resolvers.money import settings as payout_settings
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
from schema.enums import BorderStyle, Role
from schema.inputs import gateway_input
from schema.money_types import PayoutSchedule
from schema.payloads import UserErrorType, payload

# --- inputs -----------------------------------------------------------------------------
USER_ERRORS = "Why the operation was refused; empty when it succeeded."
MERCHANT_ID = "The merchant's id."
USER_ID = "The member's user id."
OK = "True when it was done."
INPUT = "What to do."


@gateway_input(description="A new user account.")
class RegisterInput:
    name: str = strawberry.field(description="Your name, up to 200 characters.")
    email: str = strawberry.field(description="Your login email (stored lower-case).")
    password: str = strawberry.field(description="At least 8 characters, not a common "
                                                 "password.")


@gateway_input(description="Credentials to log in with.")
class LoginInput:
    email: str = strawberry.field(description="The login email, any case.")
    password: str = strawberry.field(description="The password.")


@gateway_input(description="A refresh token to exchange for new tokens.")
class RefreshTokenInput:
    refresh_token: str = strawberry.field(
        description="The refreshToken from login or the last refreshToken; usable once.")


@gateway_input(description="Which sessions to end.")
class LogoutInput:
    everywhere: bool = strawberry.field(
        default=False, description="True ends every session of yours; false only this one.")


@gateway_input(description="A new password for yourself.")
class ChangePasswordInput:
    old_password: str = strawberry.field(description="Your current password.")
    new_password: str = strawberry.field(description="At least 8 characters, not a common "
                                                     "password.")


@gateway_input(description="A new merchant; you become its OWNER.")
class CreateMerchantInput:
    business_name: str = strawberry.field(description="The name shoppers see, up to 200 "
                                                      "characters.")
    email: str = strawberry.field(description="The business's contact email.")
    legal_name: str | None = strawberry.field(default=None,
                                              description="The registered company name.")
    phone: str | None = strawberry.field(default=None, description="A contact phone number.")
    website: str | None = strawberry.field(default=None,
                                           description="An absolute http(s) URL.")


@gateway_input(description="Changes to a merchant: fields left out stay as they are.")
class UpdateMerchantInput:
    merchant_id: strawberry.ID = strawberry.field(description=MERCHANT_ID)
    business_name: str | None = strawberry.field(default=None,
                                                 description="The name shoppers see.")
    email: str | None = strawberry.field(default=None,
                                         description="The business's contact email.")
    phone: str | None = strawberry.field(default=None, description="A contact phone number.")
    website: str | None = strawberry.field(default=None,
                                           description="An absolute http(s) URL.")


@gateway_input(description="Changes to the checkout page's look: fields left out stay as "
                           "they are.")
class BrandingInput:
    display_name: str | None = strawberry.field(
        default=None, description='The name the page shows, up to 100 characters; "" shows '
                                  "the business name again.")
    primary_color: str | None = strawberry.field(
        default=None, description='Headings and accents, "#RRGGBB" (any case).')
    button_color: str | None = strawberry.field(
        default=None, description='The pay button, "#RRGGBB" (any case).')
    background_color: str | None = strawberry.field(
        default=None, description='The page\'s background, "#RRGGBB" (any case).')
    border_style: BorderStyle | None = strawberry.field(
        default=None, description="The corners of the card, fields and button.")


@gateway_input(description="A logo for the checkout page.")
class UploadMerchantLogoInput:
    merchant_id: strawberry.ID = strawberry.field(description=MERCHANT_ID)
    content_type: str = strawberry.field(description="image/png, image/jpeg or image/webp: "
                                                     "the image must really be of this type.")
    data_base64: str = strawberry.field(
        description="The image, base64: at most 48 KiB decoded and 2048 × 2048 pixels. It is "
                    "re-encoded without its metadata (EXIF, text chunks).")


@gateway_input(description="The merchant whose logo to remove.")
class RemoveMerchantLogoInput:
    merchant_id: strawberry.ID = strawberry.field(description=MERCHANT_ID)


@gateway_input(description="Changes to a merchant's settings: fields left out stay as they "
                           "are.")
class UpdateMerchantSettingsInput:
    merchant_id: strawberry.ID = strawberry.field(description=MERCHANT_ID)
    webhook_url: str | None = strawberry.field(
        default=None, description='An http(s) URL on a public address; "" turns webhooks off. '
                                  "The first URL set creates the webhook secret.")
    default_currency: str | None = strawberry.field(
        default=None, description="An ISO 4217 code, e.g. EUR.")
    branding: BrandingInput | None = strawberry.field(
        default=None, description="Changes to the checkout page's look.")
    payout_schedule: PayoutSchedule | None = strawberry.field(
        default=None, description="AUTOMATIC (every payout interval) or MANUAL payouts.")
    payout_destination: str | None = strawberry.field(
        default=None, description="The IBAN payouts are paid into (spaces and lower case "
                                  "accepted), checked by its check digits; kept encrypted and "
                                  "shown only as its last 4.")


@gateway_input(description="The merchant whose webhook secret to replace.")
class RotateWebhookSecretInput:
    merchant_id: strawberry.ID = strawberry.field(description=MERCHANT_ID)


@gateway_input(description="Who to invite into a merchant, and as what.")
class InviteMemberInput:
    merchant_id: strawberry.ID = strawberry.field(description=MERCHANT_ID)
    email: str = strawberry.field(description="The invitee's email; they accept with an "
                                              "account of that email.")
    role: Role = strawberry.field(description="Up to your own role (MANAGER: MANAGER or "
                                              "STAFF; OWNER, ADMIN: ADMIN or below), never "
                                              "OWNER.")


@gateway_input(description="The invitation to take back.")
class RevokeInvitationInput:
    id: strawberry.ID = strawberry.field(description="The invitation's id.")


@gateway_input(description="The invitation to accept.")
class AcceptInvitationInput:
    token: str = strawberry.field(description="The token the inviter sent you.")


@gateway_input(description="A member's new role.")
class UpdateMemberRoleInput:
    merchant_id: strawberry.ID = strawberry.field(description=MERCHANT_ID)
    user_id: strawberry.ID = strawberry.field(description=USER_ID)
    role: Role = strawberry.field(description="ADMIN, MANAGER or STAFF, up to your own role; "
                                              "the OWNER's role never changes.")


@gateway_input(description="The member to remove.")
class RemoveMemberInput:
    merchant_id: strawberry.ID = strawberry.field(description=MERCHANT_ID)
    user_id: strawberry.ID = strawberry.field(description=USER_ID)


@gateway_input(description="A new API key.")
class CreateApiKeyInput:
    merchant_id: strawberry.ID = strawberry.field(description=MERCHANT_ID)
    name: str = strawberry.field(description="A label for it, up to 100 characters.")


@gateway_input(description="The API key to revoke.")
class RevokeApiKeyInput:
    id: strawberry.ID = strawberry.field(description="The key's id.")


# --- payloads ---------------------------------------------------------------------------
@strawberry.type(description="The result of register.")
class RegisterPayload:
    user_errors: list[UserErrorType] = strawberry.field(description=USER_ERRORS)
    user: User | None = strawberry.field(default=None,
                                         description="The new user; log in next.")


@strawberry.type(description="The result of login or refreshToken: new tokens.")
class LoginPayload:
    user_errors: list[UserErrorType] = strawberry.field(description=USER_ERRORS)
    access_token: str | None = strawberry.field(
        default=None, description="Send it as Authorization: Bearer <accessToken>.")
    refresh_token: str | None = strawberry.field(
        default=None, description="Exchange it once with refreshToken before the session "
                                  "ends; keep it secret.")
    token_type: str | None = strawberry.field(default=None, description='"Bearer".')
    expires_in: int | None = strawberry.field(default=None,
                                              description="Access token lifetime, seconds")
    user: User | None = strawberry.field(default=None, description="Who logged in.")


@strawberry.type(description="The result of an operation with nothing to return.")
class OkPayload:
    user_errors: list[UserErrorType] = strawberry.field(description=USER_ERRORS)
    ok: bool = strawberry.field(default=False, description=OK)


@strawberry.type(description="The result of logout.")
class LogoutPayload(OkPayload):
    pass


@strawberry.type(description="The result of changePassword.")
class ChangePasswordPayload(OkPayload):
    pass


@strawberry.type(description="The result of removeMember.")
class RemoveMemberPayload(OkPayload):
    pass


@strawberry.type(description="The result of createMerchant or updateMerchant.")
class MerchantPayload:
    user_errors: list[UserErrorType] = strawberry.field(description=USER_ERRORS)
    merchant: Merchant | None = strawberry.field(default=None,
                                                 description="The merchant as it now stands.")


@strawberry.type(description="The result of updateMerchantSettings or rotateWebhookSecret.")
class MerchantSettingsPayload:
    user_errors: list[UserErrorType] = strawberry.field(description=USER_ERRORS)
    settings: MerchantSettings | None = strawberry.field(
        default=None, description="The settings as they now stand.")


@strawberry.type(description="The result of inviteMember.")
class InviteMemberPayload:
    user_errors: list[UserErrorType] = strawberry.field(description=USER_ERRORS)
    invitation: Invitation | None = strawberry.field(default=None,
                                                     description="The new invitation.")
    token: str | None = strawberry.field(
        default=None, description="The invitation's token, to send to the invitee: shown this "
                                  "one time, stored only as a hash.")


@strawberry.type(description="The result of revokeInvitation.")
class RevokeInvitationPayload(OkPayload):
    pass


@strawberry.type(description="The result of acceptInvitation or updateMemberRole.")
class MembershipPayload:
    user_errors: list[UserErrorType] = strawberry.field(description=USER_ERRORS)
    membership: Membership | None = strawberry.field(
        default=None, description="The membership as it now stands.")


@strawberry.type(description="The result of createApiKey.")
class CreateApiKeyPayload:
    user_errors: list[UserErrorType] = strawberry.field(description=USER_ERRORS)
    api_key: ApiKey | None = strawberry.field(default=None, description="The new key.")
    secret: str | None = strawberry.field(default=None,
                                          description="The full key; shown this one time.")


@strawberry.type(description="The result of revokeApiKey.")
class ApiKeyPayload:
    user_errors: list[UserErrorType] = strawberry.field(description=USER_ERRORS)
    api_key: ApiKey | None = strawberry.field(default=None,
                                              description="The key, now revoked.")


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


def _branding_change(branding: BrandingInput | None) -> merchants.BrandingChange | None:
    if branding is None:
        return None
    return merchants.BrandingChange(
        display_name=branding.display_name, primary_color=branding.primary_color,
        button_color=branding.button_color, background_color=branding.background_color,
        border_style=branding.border_style)


def _membership(model) -> dict:
    return {"membership": Membership.of(model)}


# --- operations -------------------------------------------------------------------------
@strawberry.type
class AccountQuery:
    @strawberry.field(description="You: the user of the access token. UNAUTHENTICATED "
                                  "without one (API keys have no user).")
    async def me(self, info: Info) -> User:
        return User.of((await caller_of(info)).require_user())

    @strawberry.field(description="The merchants you belong to, oldest first; user token "
                                  "only.")
    async def merchants(self, info: Info) -> list[Merchant]:
        return [Merchant.of(m) for m in await merchants.merchants_of(await caller_of(info))]

    @strawberry.field(description="A merchant you belong to (user token), or your API key's "
                                  "own merchant; null otherwise.")
    async def merchant(
            self, info: Info,
            id: Annotated[strawberry.ID, strawberry.argument(description="The merchant's id.")]
    ) -> Merchant | None:
        caller = await caller_of(info)
        caller.require_authenticated()
        try:
            return Merchant.of(await merchants.get_merchant(caller, id))
        except UserError:
            return None

    @strawberry.field(description="Each role and its permissions (resource:action); open to "
                                  "anyone.")
    def roles(self) -> list[RoleInfo]:
        return [RoleInfo(role=role, permissions=perms) for role, perms in team.roles()]


@strawberry.type
class AccountMutation:
    @strawberry.mutation(description="Create a user account; no credentials needed. Errors: "
                                     "VALIDATION_ERROR, EMAIL_TAKEN, WEAK_PASSWORD.")
    async def register(
            self, info: Info,
            input: Annotated[RegisterInput, strawberry.argument(description=INPUT)]
    ) -> RegisterPayload:
        action = auth.register(input.name, input.email, input.password,
                               info.context.auth_throttle())
        return await payload(RegisterPayload, action,
                             lambda user: {"user": User.of(user)})

    @strawberry.mutation(description="Get an access token and a refresh token. Errors: "
                                     "INVALID_CREDENTIALS, ACCOUNT_LOCKED (5 failures lock the "
                                     "account for 30 minutes).")
    async def login(
            self, info: Info,
            input: Annotated[LoginInput, strawberry.argument(description=INPUT)]
    ) -> LoginPayload:
        agent = info.context.request.headers.get("user-agent")
        action = auth.login(input.email, input.password, info.context.auth_throttle(), agent)
        return await payload(LoginPayload, action, _login_fields)

    @strawberry.mutation(description="Exchange a refresh token for new tokens; the old refresh "
                                     "token dies (reusing it ends the session). Errors: "
                                     "INVALID_CREDENTIALS.")
    async def refresh_token(
            self,
            input: Annotated[RefreshTokenInput, strawberry.argument(description=INPUT)]
    ) -> LoginPayload:
        return await payload(LoginPayload, auth.refresh(input.refresh_token), _login_fields)

    @strawberry.mutation(description="End this session, or every session of yours (user "
                                     "token); their tokens stop working at once.")
    async def logout(
            self, info: Info,
            input: Annotated[LogoutInput | None, strawberry.argument(
                description="Default: only this session.")] = None
    ) -> LogoutPayload:
        everywhere = bool(input and input.everywhere)
        return await payload(LogoutPayload, auth.logout(await caller_of(info), everywhere), _ok)

    @strawberry.mutation(description="Change your password (user token); every session of yours "
                                     "ends. Errors: INVALID_CREDENTIALS (wrong oldPassword), "
                                     "WEAK_PASSWORD.")
    async def change_password(
            self, info: Info,
            input: Annotated[ChangePasswordInput, strawberry.argument(description=INPUT)]
    ) -> ChangePasswordPayload:
        action = auth.change_password(await caller_of(info), input.old_password,
                                      input.new_password, info.context.auth_throttle())
        return await payload(ChangePasswordPayload, action, _ok)

    @strawberry.mutation(description="Create a merchant (user token); you become its OWNER. You "
                                     "may own at most 10 and belong to at most 50. Errors: "
                                     "VALIDATION_ERROR.")
    async def create_merchant(
            self, info: Info,
            input: Annotated[CreateMerchantInput, strawberry.argument(description=INPUT)]
    ) -> MerchantPayload:
        action = merchants.create_merchant(
            await caller_of(info), input.business_name, input.email, input.legal_name,
            input.phone, input.website)
        return await payload(MerchantPayload, action, _merchant)

    @strawberry.mutation(description="Change a merchant's details. OWNER or ADMIN. Errors: "
                                     "VALIDATION_ERROR, NOT_FOUND.")
    async def update_merchant(
            self, info: Info,
            input: Annotated[UpdateMerchantInput, strawberry.argument(description=INPUT)]
    ) -> MerchantPayload:
        action = merchants.update_merchant(
            await caller_of(info), input.merchant_id, input.business_name, input.email,
            input.phone, input.website)
        return await payload(MerchantPayload, action, _merchant)

    @strawberry.mutation(description="Set the webhook URL, default currency and branding. "
                                     "OWNER or ADMIN. Errors: VALIDATION_ERROR, NOT_FOUND.")
    async def update_merchant_settings(
            self, info: Info,
            input: Annotated[UpdateMerchantSettingsInput, strawberry.argument(description=INPUT)]
    ) -> MerchantSettingsPayload:
        caller = await caller_of(info)

        async def update():
            # Payout settings are checked first, so that a bad IBAN changes nothing.
            payouts = await payout_settings.payout_changes(
                caller, input.merchant_id, input.payout_schedule, input.payout_destination)
            merchant = await merchants.update_settings(
                caller, input.merchant_id, input.webhook_url, input.default_currency,
                _branding_change(input.branding))
            if payouts:
                await payout_settings.apply(input.merchant_id, payouts)
                merchant = await merchants.get_merchant(caller, input.merchant_id)
            return merchant
        return await payload(MerchantSettingsPayload, update(), _settings)

    @strawberry.mutation(description="Set the checkout page's logo. OWNER or ADMIN. Errors: "
                                     "VALIDATION_ERROR (not an image of that type, over 48 "
                                     "KiB), NOT_FOUND.")
    async def upload_merchant_logo(
            self, info: Info,
            input: Annotated[UploadMerchantLogoInput, strawberry.argument(description=INPUT)]
    ) -> MerchantSettingsPayload:
        action = merchants.upload_logo(await caller_of(info), input.merchant_id,
                                       input.content_type, input.data_base64)
        return await payload(MerchantSettingsPayload, action, _settings)

    @strawberry.mutation(description="Remove the checkout page's logo. OWNER or ADMIN. "
                                     "Errors: NOT_FOUND.")
    async def remove_merchant_logo(
            self, info: Info,
            input: Annotated[RemoveMerchantLogoInput, strawberry.argument(description=INPUT)]
    ) -> MerchantSettingsPayload:
        action = merchants.remove_logo(await caller_of(info), input.merchant_id)
        return await payload(MerchantSettingsPayload, action, _settings)

    @strawberry.mutation(description="Replace the webhook secret; webhooks are signed with both "
                                     "the old and the new one for 24 hours. OWNER or ADMIN. "
                                     "Errors: NOT_FOUND.")
    async def rotate_webhook_secret(
            self, info: Info,
            input: Annotated[RotateWebhookSecretInput, strawberry.argument(description=INPUT)]
    ) -> MerchantSettingsPayload:
        action = merchants.rotate_webhook_secret(await caller_of(info), input.merchant_id)
        return await payload(MerchantSettingsPayload, action, _settings)

    @strawberry.mutation(description="Invite someone by email; returns the token to send them "
                                     "(valid 7 days). OWNER, ADMIN or MANAGER. Errors: "
                                     "VALIDATION_ERROR (already a member or invited, role OWNER), "
                                     "NOT_FOUND.")
    async def invite_member(
            self, info: Info,
            input: Annotated[InviteMemberInput, strawberry.argument(description=INPUT)]
    ) -> InviteMemberPayload:
        action = team.invite(await caller_of(info), input.merchant_id, input.email, input.role)
        return await payload(InviteMemberPayload, action, lambda sent: {
            "invitation": Invitation.of(sent.invitation), "token": sent.token})

    @strawberry.mutation(description="Take back a pending invitation; its token stops working. "
                                     "OWNER, ADMIN or MANAGER. Errors: NOT_FOUND.")
    async def revoke_invitation(
            self, info: Info,
            input: Annotated[RevokeInvitationInput, strawberry.argument(description=INPUT)]
    ) -> RevokeInvitationPayload:
        action = team.revoke_invitation(await caller_of(info), input.id)
        return await payload(RevokeInvitationPayload, action, _ok)

    @strawberry.mutation(description="Join a merchant with an invitation's token (user token of "
                                     "the invited email). Errors: NOT_FOUND (unknown, revoked or "
                                     "used token), VALIDATION_ERROR (expired).")
    async def accept_invitation(
            self, info: Info,
            input: Annotated[AcceptInvitationInput, strawberry.argument(description=INPUT)]
    ) -> MembershipPayload:
        action = team.accept(await caller_of(info), input.token)
        return await payload(MembershipPayload, action, _membership)

    @strawberry.mutation(description="Change a member's role, up to your own. OWNER or ADMIN. "
                                     "Errors: VALIDATION_ERROR, NOT_FOUND.")
    async def update_member_role(
            self, info: Info,
            input: Annotated[UpdateMemberRoleInput, strawberry.argument(description=INPUT)]
    ) -> MembershipPayload:
        action = team.update_role(await caller_of(info), input.merchant_id, input.user_id,
                                  input.role)
        return await payload(MembershipPayload, action, _membership)

    @strawberry.mutation(description="Remove a member (never the OWNER). OWNER only. Errors: "
                                     "NOT_FOUND.")
    async def remove_member(
            self, info: Info,
            input: Annotated[RemoveMemberInput, strawberry.argument(description=INPUT)]
    ) -> RemoveMemberPayload:
        action = team.remove(await caller_of(info), input.merchant_id, input.user_id)
        return await payload(RemoveMemberPayload, action, _ok)

    @strawberry.mutation(description="Create an API key for the merchant's servers; the full key "
                                     "is returned this one time. OWNER or ADMIN; at most 100 "
                                     "active keys. Errors: VALIDATION_ERROR, NOT_FOUND.")
    async def create_api_key(
            self, info: Info,
            input: Annotated[CreateApiKeyInput, strawberry.argument(description=INPUT)]
    ) -> CreateApiKeyPayload:
        action = api_keys.create(await caller_of(info), input.merchant_id, input.name)
        return await payload(CreateApiKeyPayload, action,
                             lambda pair: {"api_key": ApiKey.of(pair[0]), "secret": pair[1]})

    @strawberry.mutation(description="Revoke an API key at once; requests with it become "
                                     "UNAUTHENTICATED. OWNER or ADMIN. Errors: NOT_FOUND.")
    async def revoke_api_key(
            self, info: Info,
            input: Annotated[RevokeApiKeyInput, strawberry.argument(description=INPUT)]
    ) -> ApiKeyPayload:
        action = api_keys.revoke(await caller_of(info), input.id)
        return await payload(ApiKeyPayload, action, lambda key: {"api_key": ApiKey.of(key)})
