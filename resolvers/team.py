"""Members, roles and invitations."""

from __future__ import annotations

from datetime import timedelta

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from core import security, validation
from core.clock import now
from core.errors import ErrorCode, UserError, forbidden, invalid, not_found
from core.permissions import ROLE_PERMISSIONS, Role, may_assign
from models.merchants import Invitation, Membership
from resolvers.access import Caller, authorize

INVITATION_TTL = timedelta(days=7)


def roles() -> list[tuple[Role, list[str]]]:
    return [(role, sorted(perms)) for role, perms in ROLE_PERMISSIONS.items()]


async def members(merchant_id: str) -> list[Membership]:
    return await Membership.filter(merchant_id=merchant_id).select_related(
        "user").order_by("created_at")


async def invitations(merchant_id: str) -> list[Invitation]:
    return await Invitation.filter(merchant_id=merchant_id, status="pending",
                                   expires_at__gt=now()).order_by("-created_at")


def _check_assignable(actor_role: Role | None, role: Role) -> None:
    if actor_role is None or not may_assign(actor_role, role):
        raise forbidden(f"Your role cannot grant the {role.value} role")


async def invite(caller: Caller, merchant_id: str, email: str, role: Role) -> Invitation:
    actor_role = await authorize(caller, merchant_id, "members:invite")
    email = validation.email(email)
    if role is Role.OWNER:
        raise invalid("role", "A merchant has one owner; invite as ADMIN instead")
    _check_assignable(actor_role, role)
    if await Membership.exists(merchant_id=merchant_id, user__email=email):
        raise invalid("email", "This person is already a member")
    await _expire_stale_invitations(merchant_id, email)
    try:
        return await Invitation.create(
            merchant_id=merchant_id, email=email, role=role,
            token=security.new_invitation_token(), pending_key=f"{merchant_id}:{email}",
            invited_by=caller.user, expires_at=now() + INVITATION_TTL)
    except IntegrityError:
        raise invalid("email", "An invitation to this email is already pending") from None


async def _expire_stale_invitations(merchant_id: str, email: str) -> None:
    await Invitation.filter(merchant_id=merchant_id, email=email, status="pending",
                            expires_at__lte=now()).update(status="expired", pending_key=None)


async def accept(caller: Caller, token: str) -> Membership:
    user = caller.require_user()
    invitation = await Invitation.get_or_none(token=token)
    if invitation is None or invitation.status != "pending":
        raise not_found("Invitation")
    if invitation.expires_at <= now():
        raise UserError(ErrorCode.VALIDATION_ERROR, "This invitation has expired", "token")
    if invitation.email != user.email:
        raise forbidden("This invitation was sent to another email address")
    async with in_transaction():
        claimed = await Invitation.filter(id=invitation.id, status="pending").update(
            status="accepted", pending_key=None)
        if not claimed:
            raise not_found("Invitation")
        membership, _ = await Membership.get_or_create(
            user=user, merchant_id=invitation.merchant_id, defaults={"role": invitation.role})
    return await Membership.get(id=membership.id).select_related("user", "merchant")


async def _target_membership(merchant_id: str, user_id: str) -> Membership:
    membership = await Membership.get_or_none(merchant_id=merchant_id, user_id=user_id)
    if membership is None:
        raise not_found("Member")
    return membership


async def update_role(caller: Caller, merchant_id: str, user_id: str, role: Role) -> Membership:
    actor_role = await authorize(caller, merchant_id, "members:update_role")
    membership = await _target_membership(merchant_id, user_id)
    if membership.role is Role.OWNER:
        raise forbidden("The owner's role cannot be changed")
    if role is Role.OWNER:
        raise invalid("role", "A merchant has one owner")
    _check_assignable(actor_role, role)
    _check_assignable(actor_role, membership.role)
    await Membership.filter(id=membership.id).update(role=role)
    return await Membership.get(id=membership.id).select_related("user", "merchant")


async def remove(caller: Caller, merchant_id: str, user_id: str) -> None:
    await authorize(caller, merchant_id, "members:remove")
    membership = await _target_membership(merchant_id, user_id)
    if membership.role is Role.OWNER:
        raise forbidden("The owner cannot be removed")
    await membership.delete()

