"""GraphQL types of the account side: users, sessions, merchants, members, keys."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.dataloader import DataLoader
from strawberry.types import Info

from core.branding import Branding as BrandingModel
from models.api_keys import ApiKey as ApiKeyModel
from models.merchants import Invitation as InvitationModel
from models.merchants import Membership as MembershipModel
from models.merchants import Merchant as MerchantModel
from models.users import Session as SessionModel
from models.users import User as UserModel
from models.webhooks import WebhookEndpoint as WebhookEndpointModel
from resolvers import access, api_keys, auth, merchants, team, webhook_endpoints
from resolvers.money import settings as payout_settings
from schema.context import caller_of, loader, related
from schema.enums import BorderStyle, Role
from schema.money_types import PayoutSchedule
from schema.webhook_endpoints import WebhookEndpoint


@strawberry.type(description="A login of yours: one refresh token and the access tokens it "
                             "gave. logout and changePassword end sessions.")
class Session:
    id: strawberry.ID = strawberry.field(description="The session's id.")
    created_at: datetime = strawberry.field(description="When you logged in.")
    expires_at: datetime = strawberry.field(description="When the refresh token stops working "
                                                        "(30 days after login).")
    last_used_at: datetime | None = strawberry.field(
        description="When a token of this session was last refreshed; null if never.")
    user_agent: str | None = strawberry.field(
        description="The User-Agent header of the login request, if any.")
    current: bool = strawberry.field(description="True for the session of this request.")

    @staticmethod
    def of(model: SessionModel, current_id: str | None) -> Session:
        return Session(id=model.id, created_at=model.created_at, expires_at=model.expires_at,
                       last_used_at=model.last_used_at, user_agent=model.user_agent,
                       current=model.id == current_id)


@strawberry.type(description="A person with a login (user token). Seen as yourself through "
                             "`me`, or as a member of a merchant you belong to.")
class User:
    id: strawberry.ID = strawberry.field(description="The user's id.")
    name: str = strawberry.field(description="The name given at registration.")
    email: str = strawberry.field(description="The login email, lower-case.")
    created_at: datetime = strawberry.field(description="When the user registered.")
    model: strawberry.Private[UserModel]

    @staticmethod
    def of(model: UserModel) -> User:
        return User(id=model.id, name=model.name, email=model.email,
                    created_at=model.created_at, model=model)

    @strawberry.field(description="The merchants this user belongs to, as far as you may see "
                                  "them: only those you belong to as well.")
    async def memberships(self, info: Info) -> list[Membership]:
        rows = await access.memberships_seen_by(await caller_of(info), self.id)
        return [Membership.of(row) for row in rows]

    @strawberry.field(description="Active sessions (logins), newest first; only for yourself: "
                                  "empty for any other user.")
    async def sessions(self, info: Info) -> list[Session]:
        caller = await caller_of(info)
        if caller.user is None or caller.user.id != self.id:
            return []
        return [Session.of(s, caller.session_id) for s in await auth.sessions_of(self.model)]


@strawberry.type(description="How the hosted checkout page looks for a merchant's shoppers. "
                             "Text on a coloured surface is black or white, whichever "
                             "contrasts at least 4.5:1.")
class Branding:
    display_name: str | None = strawberry.field(
        description="The name the page shows; null: the business name.")
    primary_color: str = strawberry.field(description='Headings and accents, "#rrggbb" '
                                                      '(lower-case).')
    button_color: str = strawberry.field(description='The pay button, "#rrggbb" (lower-case).')
    background_color: str = strawberry.field(description='The page\'s background, "#rrggbb" '
                                                         '(lower-case).')
    border_style: BorderStyle = strawberry.field(description="The corners of the card, fields "
                                                             "and button.")
    logo_url: str | None = strawberry.field(
        description="The logo, served by the gateway at a content-addressed absolute URL "
                    "under PUBLIC_BASE_URL/checkout/assets/; null without a logo.")

    @staticmethod
    def of(brand: BrandingModel) -> Branding:
        return Branding(display_name=brand.display_name, primary_color=brand.primary_color,
                        button_color=brand.button_color,
                        background_color=brand.background_color,
                        border_style=brand.border_style, logo_url=merchants.logo_url(brand))


def default_endpoint_loader(info: Info) -> DataLoader[str, WebhookEndpointModel | None]:
    """One query for the default endpoints of every merchant in the response."""
    return loader(info, "default_endpoints", webhook_endpoints.default_endpoints)


@strawberry.type(description="A merchant's settings: its webhook endpoint, default "
                             "currency and checkout branding. Changed by OWNER and ADMIN "
                             "(updateMerchantSettings, uploadMerchantLogo).")
class MerchantSettings:
    default_currency: str = strawberry.field(
        description="ISO 4217 code (e.g. USD), upper-case.")
    model: strawberry.Private[MerchantModel]

    @strawberry.field(description="Where the merchant's events are POSTed; null when webhooks "
                                  "are off, and for API keys.")
    async def webhook_url(self, info: Info) -> str | None:
        return await merchants.webhook_url_seen_by(await caller_of(info), self.model,
                                                   default_endpoint_loader(info).load)

    @strawberry.field(description="The key that signs webhooks: whsec_ + base64 of 32 bytes "
                                  "(Standard Webhooks). OWNER and ADMIN only; null for "
                                  "others and for API keys.")
    async def webhook_secret(self, info: Info) -> str | None:
        return await merchants.webhook_secret_seen_by(await caller_of(info), self.model,
                                                      default_endpoint_loader(info).load)

    @strawberry.field(description="When payouts happen (AUTOMATIC by default).")
    def payout_schedule(self) -> PayoutSchedule:
        return PayoutSchedule(self.model.payout_schedule)

    @strawberry.field(description="The last 4 characters of the payout IBAN; null when none "
                                  "is set, for STAFF and for API keys.")
    async def payout_destination_last4(self, info: Info) -> str | None:
        return await payout_settings.last4_seen_by(await caller_of(info), self.model)

    @strawberry.field(description="How the hosted checkout page looks.")
    def branding(self) -> Branding:
        return Branding.of(merchants.branding_of(self.model))

    @strawberry.field(description="A link to the checkout page as shoppers would see it, with "
                                  "this branding and sample line items. OWNER, ADMIN and "
                                  "MANAGER only; null for others and for API keys.")
    async def checkout_preview_url(self, info: Info) -> str | None:
        return await merchants.checkout_preview_url_seen_by(await caller_of(info), self.model)


@strawberry.type(description="A business that takes payments. Visible to its members and to "
                             "its own API keys.")
class Merchant:
    id: strawberry.ID = strawberry.field(description="The merchant's id.")
    business_name: str = strawberry.field(
        description="The name shoppers see on the checkout page.")
    legal_name: str | None = strawberry.field(description="The registered company name.")
    email: str = strawberry.field(description="The business's contact email.")
    phone: str | None = strawberry.field(description="The business's contact phone.")
    website: str | None = strawberry.field(description="The business's website.")
    status: str = strawberry.field(description='"active".')
    created_at: datetime = strawberry.field(description="When the merchant was created.")
    model: strawberry.Private[MerchantModel]

    @staticmethod
    def of(model: MerchantModel) -> Merchant:
        return Merchant(id=model.id, business_name=model.business_name,
                        legal_name=model.legal_name, email=model.email, phone=model.phone,
                        website=model.website, status=model.status,
                        created_at=model.created_at, model=model)

    @strawberry.field(description="Webhook endpoint and default currency; secrets by role.")
    def settings(self) -> MerchantSettings:
        return MerchantSettings(default_currency=self.model.default_currency, model=self.model)

    @strawberry.field(description="Every member and their role (at most 100); empty for API "
                                  "keys.")
    async def members(self, info: Info) -> list[Membership]:
        return [Membership.of(m) for m in await team.members_seen_by(await caller_of(info),
                                                                      self.id)]

    @strawberry.field(description="Pending invitations (at most 100); OWNER, ADMIN and "
                                  "MANAGER only: empty for others.")
    async def invitations(self, info: Info) -> list[Invitation]:
        return [Invitation.of(i) for i in await team.invitations_seen_by(await caller_of(info),
                                                                          self.id)]

    @strawberry.field(description="API keys, revoked ones included (never their secrets); "
                                  "OWNER and ADMIN only: empty for others.")
    async def api_keys(self, info: Info) -> list[ApiKey]:
        return [ApiKey.of(k) for k in await api_keys.keys_seen_by(await caller_of(info),
                                                                   self.id)]

    @strawberry.field(description="Where its events are POSTed (at most 16), oldest first; "
                                  "the settings' webhookUrl is one of them. Members only: "
                                  "empty for API keys.")
    async def webhook_endpoints(self, info: Info) -> list[WebhookEndpoint]:
        return [WebhookEndpoint.of(e) for e in await webhook_endpoints.endpoints_seen_by(
            await caller_of(info), self.id)]


@strawberry.type(description="A user's place in a merchant: their role there.")
class Membership:
    role: Role = strawberry.field(description="What the user may do in this merchant.")
    created_at: datetime = strawberry.field(description="When the user joined.")
    model: strawberry.Private[MembershipModel]

    @staticmethod
    def of(model: MembershipModel) -> Membership:
        return Membership(role=model.role, created_at=model.created_at, model=model)

    @strawberry.field(description="The member.")
    async def user(self) -> User:
        return User.of(await related(self.model, "user", UserModel))

    @strawberry.field(description="The merchant they belong to.")
    async def merchant(self) -> Merchant:
        return Merchant.of(await related(self.model, "merchant", MerchantModel))


@strawberry.type(description="A role and what it grants.")
class RoleInfo:
    role: Role = strawberry.field(description="The role.")
    permissions: list[str] = strawberry.field(
        description='What it may do, as resource:action, e.g. "payment_intents:refund".')


@strawberry.type(description="An invitation to join a merchant. Its token is only ever "
                             "returned by inviteMember.")
class Invitation:
    id: strawberry.ID = strawberry.field(description="The invitation's id (for "
                                                     "revokeInvitation).")
    email: str = strawberry.field(description="Who was invited.")
    role: Role = strawberry.field(description="The role the invitee gets on accepting.")
    status: str = strawberry.field(description='"pending", "accepted", "expired" or '
                                               '"revoked".')
    expires_at: datetime = strawberry.field(description="7 days after it was sent; the token "
                                                        "stops working then.")
    created_at: datetime = strawberry.field(description="When it was sent.")

    @staticmethod
    def of(model: InvitationModel) -> Invitation:
        return Invitation(id=model.id, email=model.email, role=model.role,
                          status=model.status, expires_at=model.expires_at,
                          created_at=model.created_at)


@strawberry.type(description="A merchant's secret key for its servers (X-API-Key header). "
                             "The key itself is shown once, by createApiKey.")
class ApiKey:
    id: strawberry.ID = strawberry.field(description="The key's id (for revokeApiKey).")
    name: str = strawberry.field(description="A label you chose, e.g. \"production\".")
    prefix: str = strawberry.field(description="The key's first 12 characters, to recognise "
                                               "it.")
    created_at: datetime = strawberry.field(description="When it was created.")
    last_used_at: datetime | None = strawberry.field(
        description="When it last authenticated a request (to the minute); null if never.")
    revoked_at: datetime | None = strawberry.field(
        description="When it was revoked; null while it works.")

    @staticmethod
    def of(model: ApiKeyModel) -> ApiKey:
        return ApiKey(id=model.id, name=model.name, prefix=model.prefix,
                      created_at=model.created_at, last_used_at=model.last_used_at,
                      revoked_at=model.revoked_at)
