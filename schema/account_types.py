"""GraphQL types of the account side: users, sessions, merchants, members, keys."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from models.api_keys import ApiKey as ApiKeyModel
from models.merchants import Invitation as InvitationModel
from models.merchants import Membership as MembershipModel
from models.merchants import Merchant as MerchantModel
from models.users import Session as SessionModel
from models.users import User as UserModel
from resolvers import access, api_keys, auth, merchants, team
from schema.context import caller_of, related
from schema.enums import Role


@strawberry.type
class Session:
    id: strawberry.ID
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None
    user_agent: str | None
    current: bool

    @staticmethod
    def of(model: SessionModel, current_id: str | None) -> Session:
        return Session(id=model.id, created_at=model.created_at, expires_at=model.expires_at,
                       last_used_at=model.last_used_at, user_agent=model.user_agent,
                       current=model.id == current_id)


@strawberry.type
class User:
    id: strawberry.ID
    name: str
    email: str
    created_at: datetime
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

    @strawberry.field(description="Active sessions (logins); only for yourself.")
    async def sessions(self, info: Info) -> list[Session]:
        caller = await caller_of(info)
        if caller.user is None or caller.user.id != self.id:
            return []
        return [Session.of(s, caller.session_id) for s in await auth.sessions_of(self.model)]


@strawberry.type
class MerchantSettings:
    default_currency: str
    model: strawberry.Private[MerchantModel]

    @strawberry.field(description="Shown to the merchant's members; null for API keys.")
    async def webhook_url(self, info: Info) -> str | None:
        return await merchants.webhook_url_seen_by(await caller_of(info), self.model)

    @strawberry.field(description="Shown to OWNER and ADMIN only; null for others.")
    async def webhook_secret(self, info: Info) -> str | None:
        return await merchants.webhook_secret_seen_by(await caller_of(info), self.model)


@strawberry.type
class Merchant:
    id: strawberry.ID
    business_name: str
    legal_name: str | None
    email: str
    phone: str | None
    website: str | None
    status: str
    created_at: datetime
    model: strawberry.Private[MerchantModel]

    @staticmethod
    def of(model: MerchantModel) -> Merchant:
        return Merchant(id=model.id, business_name=model.business_name,
                        legal_name=model.legal_name, email=model.email, phone=model.phone,
                        website=model.website, status=model.status,
                        created_at=model.created_at, model=model)

    @strawberry.field
    def settings(self) -> MerchantSettings:
        return MerchantSettings(default_currency=self.model.default_currency, model=self.model)

    @strawberry.field
    async def members(self, info: Info) -> list[Membership]:
        return [Membership.of(m) for m in await team.members_seen_by(await caller_of(info),
                                                                      self.id)]

    @strawberry.field(description="Pending invitations; for roles that may invite.")
    async def invitations(self, info: Info) -> list[Invitation]:
        return [Invitation.of(i) for i in await team.invitations_seen_by(await caller_of(info),
                                                                          self.id)]

    @strawberry.field(description="API keys (never their secrets); OWNER and ADMIN only.")
    async def api_keys(self, info: Info) -> list[ApiKey]:
        return [ApiKey.of(k) for k in await api_keys.keys_seen_by(await caller_of(info),
                                                                   self.id)]


@strawberry.type
class Membership:
    role: Role
    created_at: datetime
    model: strawberry.Private[MembershipModel]

    @staticmethod
    def of(model: MembershipModel) -> Membership:
        return Membership(role=model.role, created_at=model.created_at, model=model)

    @strawberry.field
    async def user(self) -> User:
        return User.of(await related(self.model, "user", UserModel))

    @strawberry.field
    async def merchant(self) -> Merchant:
        return Merchant.of(await related(self.model, "merchant", MerchantModel))


@strawberry.type
class RoleInfo:
    role: Role
    permissions: list[str]


@strawberry.type
class Invitation:
    id: strawberry.ID
    email: str
    role: Role
    status: str
    expires_at: datetime
    created_at: datetime

    @staticmethod
    def of(model: InvitationModel) -> Invitation:
        return Invitation(id=model.id, email=model.email, role=model.role,
                          status=model.status, expires_at=model.expires_at,
                          created_at=model.created_at)


@strawberry.type
class ApiKey:
    id: strawberry.ID
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @staticmethod
    def of(model: ApiKeyModel) -> ApiKey:
        return ApiKey(id=model.id, name=model.name, prefix=model.prefix,
                      created_at=model.created_at, last_used_at=model.last_used_at,
                      revoked_at=model.revoked_at)
