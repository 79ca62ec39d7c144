"""Members, roles and invitations.

An invitation's token is shown once, to whoever sends it, and kept only as its SHA-256
(CONTRACT §12.2): nobody can read it back, not even the merchant's owner.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from core import limits, security, validation
from core.clock import now
from core.errors import ErrorCode, UserError, forbidden, invalid, not_found
from core.permissions import ROLE_PERMISSIONS, Role, may_assign
from models.merchants import Invitation, InvitationStatus, Membership
from resolvers import caps
from resolvers.access import Caller, authorize, member_may, visible

INVITATION_TTL = timedelta(days=7)
PENDING = InvitationStatus.PENDING


@dataclass(frozen=True)
class SentInvitation:
    invitation: Invitation
    token: str  # the only time it exists outside the invitee's inbox


def roles() -> list[tuple[Role, list[str]]]:
    return [(role, sorted(perms)) for role, perms in ROLE_PERMISSIONS.items()]


async def members_seen_by(caller: Caller, merchant_id: str) -> list[Membership]:
    """The merchant's members, for a member whose role may read them (else none)."""
    if not await member_may(caller, merchant_id, "members:read"):
        return []
    return await Membership.filter(merchant_id=merchant_id).select_related(
        "user").order_by("created_at")


async def invitations_seen_by(caller: Caller, merchant_id: str) -> list[Invitation]:
    """Pending invitations, for a member whose role may invite (else none)."""
    if not await member_may(caller, merchant_id, "members:invite"):
        return []
    return await Invitation.filter(merchant_id=merchant_id, status=PENDING,
                                   expires_at__gt=now()).order_by("-created_at")


def _check_assignable(actor_role: Role | None, role: Role) -> None:
    if actor_role is None or not may_assign(actor_role, role):
        raise forbidden(f"Your role cannot grant the {role.value} role")


async def invite(caller: Caller, merchant_id: str, email: str, role: Role) -> SentInvitation:
    actor_role = await authorize(caller, merchant_id, "members:invite")
    email = validation.email(email)
    if role is Role.OWNER:
        raise invalid("role", "A merchant has one owner; invite as ADMIN instead")
    _check_assignable(actor_role, role)
    if await Membership.exists(merchant_id=merchant_id, user__email=email):
        raise invalid("email", "This person is already a member")
    await _expire_stale_invitations(merchant_id, email)
    token = security.new_invitation_token()
    try:
        invitation = await _store_invitation(caller, merchant_id, email, role, token)
    except IntegrityError:
        raise invalid("email", "An invitation to this email is already pending") from None
    return SentInvitation(invitation, token)


async def _store_invitation(caller: Caller, merchant_id: str, email: str, role: Role,
                            token: str) -> Invitation:
    """Count and insert in one transaction, the merchant row locked (PostgreSQL; SQLite
    writes one at a time): concurrent invitations cannot pass the cap together."""
    async with in_transaction():
        await caps.lock(merchant_id=merchant_id)
        await _check_room_for_invitation(merchant_id)
        return await Invitation.create(
            merchant_id=merchant_id, email=email, role=role,
            token_hash=security.sha256_hex(token), pending_key=f"{merchant_id}:{email}",
            invited_by=caller.user, expires_at=now() + INVITATION_TTL)


async def _check_room_for_invitation(merchant_id: str) -> None:
    pending = await Invitation.filter(merchant_id=merchant_id, status=PENDING,
                                      expires_at__gt=now()).count()
    if pending >= limits.PENDING_INVITATIONS_PER_MERCHANT:
        raise invalid("email", f"A merchant has at most "
                               f"{limits.PENDING_INVITATIONS_PER_MERCHANT} pending invitations: "
                               f"revoke one first")


async def _expire_stale_invitations(merchant_id: str, email: str) -> None:
    await Invitation.filter(merchant_id=merchant_id, email=email, status=PENDING,
                            expires_at__lte=now()).update(status=InvitationStatus.EXPIRED,
                                                          pending_key=None)


async def revoke_invitation(caller: Caller, invitation_id: str) -> None:
    """Whoever may invite may take a pending invitation back; its token dies with it."""
    invitation = await visible(caller, Invitation, invitation_id, "members:invite",
                               "Invitation")
    revoked = await Invitation.filter(id=invitation.id, status=PENDING).update(
        status=InvitationStatus.REVOKED, pending_key=None)
    if not revoked:
        raise not_found("Invitation")


async def accept(caller: Caller, token: str) -> Membership:
    user = caller.require_user()
    invitation = await Invitation.get_or_none(token_hash=security.sha256_hex(token))
    if invitation is None or invitation.status != PENDING:
        raise not_found("Invitation")
    if invitation.expires_at <= now():
        raise UserError(ErrorCode.VALIDATION_ERROR, "This invitation has expired", "token")
    if invitation.email != user.email:
        raise forbidden("This invitation was sent to another email address")
    async with in_transaction():
        await caps.lock(user_id=user.id, merchant_id=invitation.merchant_id)
        await caps.check_room_for_membership(user.id, invitation.merchant_id, "token")
        claimed = await Invitation.filter(id=invitation.id, status=PENDING).update(
            status=InvitationStatus.ACCEPTED, pending_key=None)
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
