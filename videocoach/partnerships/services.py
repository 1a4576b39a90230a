"""Partnerships, their members and invitations. No HTTP here."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Sequence

from sqlalchemy import func, select, update
from sqlalchemy.orm import selectinload

from videocoach import access, db, limits, live, mail
from videocoach.accounts.models import User
from videocoach.accounts.services import normalise_email
from videocoach.config import current_settings
from videocoach.db import new_id, utcnow
from videocoach.errors import Conflict, Forbidden, Invalid, NotFound
from videocoach.notifications import services as notifications
from videocoach.partnerships.models import Invitation, Membership, Partnership, Role
from videocoach.tokens import keyed_token, token_digest

log = logging.getLogger(__name__)

INVALID_INVITATION = (
    "This invitation link is not valid any more: it may have expired or already been used. "
    "Ask your partner to send a new one."
)


def parse_role(raw: str | None) -> Role:
    try:
        return Role((raw or "").strip().lower())
    except ValueError:
        raise Invalid(
            "Choose a role: coach or teacher.", fields={"role": "Choose coach or teacher."}
        ) from None


def clean_name(raw: str | None) -> str:
    name = limits.one_line(raw)
    if not name:
        raise Invalid("Give the partnership a name.", fields={"name": "Give it a name."})
    return limits.check_length(name, limits.NAME_MAX, "name", "The partnership's name")


def create_partnership(user: User, name: str, role: str) -> Partnership:
    partnership = Partnership(name=clean_name(name), created_by_id=user.id)
    partnership.memberships.append(Membership(user_id=user.id, role=parse_role(role).value))
    db.session.add(partnership)
    db.session.flush()
    return partnership


def list_partnerships(user: User) -> Sequence[Partnership]:
    """The caller's partnerships, members loaded, newest first."""
    query = (
        access.visible_partnerships(user)
        .options(selectinload(Partnership.memberships).selectinload(Membership.user))
        .order_by(Partnership.archived_at.is_not(None), Partnership.created_at.desc())
    )
    return db.session.scalars(query).all()


def get_partnership(user: User, partnership_id: str) -> Partnership:
    return access.get_partnership(user, partnership_id)


def rename_partnership(user: User, partnership_id: str, name: str) -> Partnership:
    partnership = access.get_partnership(user, partnership_id)
    partnership.name = clean_name(name)
    return partnership


def role_of(user: User, partnership: Partnership) -> str | None:
    for membership in partnership.memberships:
        if membership.user_id == user.id:
            return membership.role
    return None


def invite(
    user: User,
    partnership_id: str,
    email: str,
    role: str,
    link_for: Callable[[str], str],
) -> tuple[Invitation, str]:
    """Create a single-use invitation and send (or log) its link. Returns it and the link."""
    partnership = access.get_partnership(user, partnership_id)
    email = normalise_email(email)
    chosen_role = parse_role(role)
    already = db.session.scalar(
        select(Membership.id)
        .join(User, User.id == Membership.user_id)
        .where(Membership.partnership_id == partnership.id, User.email == email)
    )
    if already:
        raise Conflict(
            f"{email} is already a member of this partnership.",
            code="already_member",
            fields={"email": "Already a member."},
        )
    invitation = Invitation(
        id=new_id(),
        partnership_id=partnership.id,
        email=email,
        role=chosen_role.value,
        invited_by_id=user.id,
        expires_at=utcnow() + current_settings().invitation_ttl,
    )
    raw_token = _new_link(invitation)
    db.session.add(invitation)
    db.session.flush()
    notifications.invitation_created(invitation)
    link = link_for(raw_token)
    _email_invitation(user, partnership, invitation, link)
    return invitation, link


def invitation_token(invitation: Invitation) -> str | None:
    """The token of the invitation's current link, rebuilt from its id and nonce; None when
    it cannot be rebuilt (made before links were keyed, or SECRET_KEY changed since):
    resending makes a new one."""
    if invitation.link_nonce is None:
        return None
    token = _keyed(invitation.id, invitation.link_nonce)
    return token if token_digest(token) == invitation.token_hash else None


def _keyed(invitation_id: str, nonce: str) -> str:
    return keyed_token(current_settings().secret_key, "invitation", invitation_id, nonce)


def _new_link(invitation: Invitation) -> str:
    """Draw a new nonce: the link's token changes, and any earlier one stops working."""
    invitation.link_nonce = secrets.token_hex(16)
    token = _keyed(invitation.id, invitation.link_nonce)
    invitation.token_hash = token_digest(token)
    return token


def _email_invitation(
    user: User, partnership: Partnership, invitation: Invitation, link: str, again: bool = False
) -> None:
    mail.queue(
        to=invitation.email,
        subject=(
            f"{user.name} invited you to coach together on videocoach"
            + (" (a new link)" if again else "")
        ),
        body=(
            f"{user.name} invited you to join the coaching partnership "
            f'"{partnership.name}" as {invitation.role}.\n\n'
            f"Accept the invitation here (the link works once and expires on "
            f"{invitation.expires_at:%Y-%m-%d %H:%M} UTC):\n{link}\n\n"
            + (
                "This link replaces the one sent before, which no longer works.\n\n"
                if again
                else ""
            )
            + "If you did not expect this, you can ignore this email.\n"
        ),
    )


def _invitation_of(partnership: Partnership, invitation_id: str) -> Invitation:
    invitation = db.session.scalars(
        select(Invitation).where(
            Invitation.id == invitation_id, Invitation.partnership_id == partnership.id
        )
    ).first()
    if invitation is None:
        raise NotFound("That invitation does not exist.")
    return invitation


def resend_invitation(
    user: User, partnership_id: str, invitation_id: str, link_for: Callable[[str], str]
) -> tuple[Invitation, str]:
    """Email an invitation again with a new link, valid for a full invitation lifetime from
    now. The earlier link stops working (someone may have lost, or leaked, it)."""
    partnership = access.get_partnership(user, partnership_id)
    invitation = _invitation_of(partnership, invitation_id)
    if invitation.accepted_at is not None:
        raise NotFound("That invitation was accepted already.")
    raw_token = _new_link(invitation)
    invitation.resent_at = utcnow()
    invitation.expires_at = invitation.resent_at + current_settings().invitation_ttl
    db.session.flush()
    link = link_for(raw_token)
    _email_invitation(user, partnership, invitation, link, again=True)
    log.info(
        "invitation resent partnership=%s invitation=%s by=%s",
        partnership.id,
        invitation.id,
        user.id,
    )
    return invitation, link


def find_open_invitation(raw_token: str) -> Invitation:
    invitation = db.session.scalars(
        select(Invitation).where(Invitation.token_hash == token_digest(raw_token or ""))
    ).first()
    if invitation is None or not invitation.is_open:
        raise NotFound(INVALID_INVITATION, code="invitation_invalid")
    return invitation


def invited_address(raw_token: str) -> str | None:
    """The address an open invitation was sent to (None when unknown, used or expired)."""
    try:
        return find_open_invitation(raw_token).email
    except NotFound:
        return None


def accept_invitation(user: User, raw_token: str) -> Partnership:
    invitation = find_open_invitation(raw_token)
    member = db.session.scalar(
        select(Membership.id).where(
            Membership.partnership_id == invitation.partnership_id,
            Membership.user_id == user.id,
        )
    )
    if member:
        raise Conflict("You are already a member of this partnership.", code="already_member")
    if invitation.email != user.email:
        raise Forbidden(
            f"This invitation was sent to {invitation.email}, but you are signed in as "
            f"{user.email}. Sign in with the invited address, or ask for a new invitation.",
            code="wrong_account",
        )
    # Conditional update: of two simultaneous accepts, exactly one succeeds.
    claimed = db.session.execute(
        update(Invitation)
        .where(Invitation.id == invitation.id, Invitation.accepted_at.is_(None))
        .values(accepted_at=utcnow(), accepted_by_id=user.id)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise NotFound(INVALID_INVITATION, code="invitation_invalid")
    db.session.add(
        Membership(partnership_id=invitation.partnership_id, user_id=user.id, role=invitation.role)
    )
    db.session.flush()
    return access.get_partnership(user, invitation.partnership_id)


def open_invitations(user: User, partnership_id: str) -> Sequence[Invitation]:
    partnership = access.get_partnership(user, partnership_id)
    return db.session.scalars(
        select(Invitation)
        .where(
            Invitation.partnership_id == partnership.id,
            Invitation.accepted_at.is_(None),
            Invitation.expires_at > utcnow(),
        )
        .order_by(Invitation.created_at.desc())
    ).all()


def open_invitations_with_links(
    user: User, partnership_id: str, link_for: Callable[[str], str]
) -> list[tuple[Invitation, str | None]]:
    """Open invitations, newest first, each with its current link (None when it cannot be
    rebuilt: see invitation_token)."""
    return [
        (invitation, link_for(token) if (token := invitation_token(invitation)) else None)
        for invitation in open_invitations(user, partnership_id)
    ]


def cancel_invitation(user: User, partnership_id: str, invitation_id: str) -> None:
    """Withdraw an invitation: its link stops working."""
    partnership = access.get_partnership(user, partnership_id)
    db.session.delete(_invitation_of(partnership, invitation_id))


def remove_member(user: User, partnership_id: str, member_user_id: str) -> None:
    """Any member may remove any member (themselves included: that is leaving)."""
    partnership = access.get_partnership(user, partnership_id)
    target = db.session.scalars(
        select(Membership).where(
            Membership.partnership_id == partnership.id, Membership.user_id == member_user_id
        )
    ).first()
    if target is None:
        raise NotFound("That person is not a member of this partnership.")
    members = db.session.scalar(
        select(func.count())
        .select_from(Membership)
        .where(Membership.partnership_id == partnership.id)
    )
    if members == 1:
        raise Conflict(
            "You are the last member; a partnership cannot be left empty.",
            code="last_member",
        )
    db.session.delete(target)
    db.session.flush()
    # Open meeting streams re-check who may listen; the removed person's end at once.
    live.announce(live.partnership_topic(partnership.id), "members_changed", {})
    log.info(
        "membership removed partnership=%s user=%s by=%s", partnership.id, member_user_id, user.id
    )
