"""API v1: partnerships, invitations, members and goals."""

from __future__ import annotations

from typing import Any

from flask_login import login_required
from flask_smorest import Blueprint

from videocoach import transaction
from videocoach.accounts.auth import api_user
from videocoach.api import API_PREFIX
from videocoach.extensions import limiter, per_account
from videocoach.partnerships import goals, next_steps, services
from videocoach.partnerships.models import Invitation
from videocoach.partnerships.schemas import (
    AcceptSchema,
    GoalCreateSchema,
    GoalEnvelope,
    GoalList,
    GoalQuerySchema,
    GoalUpdateSchema,
    InvitationCreateSchema,
    InvitationList,
    InvitationSchema,
    NextStepCreateSchema,
    NextStepEnvelope,
    NextStepList,
    NextStepQuery,
    NextStepUpdateSchema,
    PartnershipCreateSchema,
    PartnershipEnvelope,
    PartnershipList,
    PartnershipUpdateSchema,
)
from videocoach.urls import invitation_link

# One budget for the page's Resend button and the API: each resend emails someone.
RESEND_LIMIT = "10 per hour"
resend_limit = limiter.shared_limit(
    RESEND_LIMIT,
    scope="invitation-resend",
    key_func=per_account,
    error_message="You resent invitations 10 times in the last hour. Try again later.",
)

blp = Blueprint(
    "partnerships_api",
    __name__,
    url_prefix=API_PREFIX,
    description="Partnerships, invitations, members and goals",
)


@blp.route("/partnerships", methods=["POST"])
@login_required
@blp.arguments(PartnershipCreateSchema)
@blp.response(201, PartnershipEnvelope)
def create_partnership(body: dict[str, Any]) -> dict[str, Any]:
    partnership = services.create_partnership(api_user(), body["name"], body["role"])
    transaction.commit()
    return {"partnership": partnership}


@blp.route("/partnerships", methods=["GET"])
@login_required
@blp.response(200, PartnershipList)
def list_partnerships() -> dict[str, Any]:
    return {"items": services.list_partnerships(api_user())}


@blp.route("/partnerships/<pid>", methods=["GET"])
@login_required
@blp.response(200, PartnershipEnvelope)
def get_partnership(pid: str) -> dict[str, Any]:
    return {"partnership": services.get_partnership(api_user(), pid)}


@blp.route("/partnerships/<pid>", methods=["PATCH"])
@login_required
@blp.arguments(PartnershipUpdateSchema)
@blp.response(200, PartnershipEnvelope)
def rename_partnership(body: dict[str, Any], pid: str) -> dict[str, Any]:
    partnership = services.rename_partnership(api_user(), pid, body["name"])
    transaction.commit()
    return {"partnership": partnership}


@blp.route("/partnerships/<pid>/invitations", methods=["POST"])
@login_required
@blp.arguments(InvitationCreateSchema)
@blp.response(201, InvitationSchema)
def create_invitation(body: dict[str, Any], pid: str) -> dict[str, Any]:
    """Invite someone by email. The link is emailed when SMTP is configured, and returned."""
    invitation, link = services.invite(
        api_user(), pid, body["email"], body["role"], invitation_link
    )
    transaction.commit()
    return _invitation_json(invitation, link)


def _invitation_json(invitation: Invitation, link: str) -> dict[str, Any]:
    return {
        "id": invitation.id,
        "email": invitation.email,
        "role": invitation.role,
        "created_at": invitation.created_at,
        "sent_at": invitation.sent_at,
        "expires_at": invitation.expires_at,
        "accept_url": link,
    }


@blp.route("/partnerships/<pid>/invitations", methods=["GET"])
@login_required
@blp.response(200, InvitationList)
def list_invitations(pid: str) -> dict[str, Any]:
    """Invitations not yet accepted and not expired, with their links."""
    user = api_user()
    return {
        "items": [
            _invitation_json(invitation, link)
            for invitation, link in services.open_invitations_with_links(user, pid, invitation_link)
        ]
    }


@blp.route("/partnerships/<pid>/invitations/<iid>/resend", methods=["POST"])
@resend_limit
@login_required
@blp.response(200, InvitationSchema)
def resend_invitation(pid: str, iid: str) -> dict[str, Any]:
    """Email the invitation again with a new link (the earlier one stops working), valid for
    a full invitation lifetime from now."""
    invitation, link = services.resend_invitation(api_user(), pid, iid, invitation_link)
    transaction.commit()
    return _invitation_json(invitation, link)


@blp.route("/partnerships/<pid>/invitations/<iid>", methods=["DELETE"])
@login_required
@blp.response(204)
def cancel_invitation(pid: str, iid: str) -> None:
    services.cancel_invitation(api_user(), pid, iid)
    transaction.commit()


@blp.route("/invitations/accept", methods=["POST"])
@login_required
@blp.arguments(AcceptSchema)
@blp.response(200, PartnershipEnvelope)
def accept_invitation(body: dict[str, Any]) -> dict[str, Any]:
    """404 when the token is unknown, used or expired."""
    partnership = services.accept_invitation(api_user(), body["token"])
    transaction.commit()
    return {"partnership": partnership}


@blp.route("/partnerships/<pid>/members/<uid>", methods=["DELETE"])
@login_required
@blp.response(204)
def remove_member(pid: str, uid: str) -> None:
    """Remove a member; removing yourself is leaving."""
    services.remove_member(api_user(), pid, uid)
    transaction.commit()


@blp.route("/partnerships/<pid>/goals", methods=["GET"])
@login_required
@blp.arguments(GoalQuerySchema, location="query")
@blp.response(200, GoalList)
def list_goals(query: dict[str, Any], pid: str) -> dict[str, Any]:
    return {"items": goals.list_goals(api_user(), pid, query.get("status"))}


@blp.route("/partnerships/<pid>/goals", methods=["POST"])
@login_required
@blp.arguments(GoalCreateSchema)
@blp.response(201, GoalEnvelope)
def create_goal(body: dict[str, Any], pid: str) -> dict[str, Any]:
    goal = goals.create_goal(
        api_user(), pid, body["title"], body.get("description"), body.get("success_criteria")
    )
    transaction.commit()
    return {"goal": goal}


@blp.route("/goals/<gid>", methods=["GET"])
@login_required
@blp.response(200, GoalEnvelope)
def get_goal(gid: str) -> dict[str, Any]:
    return {"goal": goals.get_goal(api_user(), gid)}


@blp.route("/goals/<gid>", methods=["PATCH"])
@login_required
@blp.arguments(GoalUpdateSchema)
@blp.response(200, GoalEnvelope)
def update_goal(body: dict[str, Any], gid: str) -> dict[str, Any]:
    goal = goals.update_goal(api_user(), gid, body)
    transaction.commit()
    return {"goal": goal}


@blp.route("/goals/<gid>", methods=["DELETE"])
@login_required
@blp.response(204)
def delete_goal(gid: str) -> None:
    goals.delete_goal(api_user(), gid)
    transaction.commit()


@blp.route("/partnerships/<pid>/next-steps", methods=["GET"])
@login_required
@blp.arguments(NextStepQuery, location="query")
@blp.response(200, NextStepList)
def list_next_steps(query: dict[str, Any], pid: str) -> dict[str, Any]:
    """Open next steps (and done ones with ?include_done=true)."""
    steps = next_steps.list_next_steps(api_user(), pid, include_done=query["include_done"])
    return {"items": steps}


@blp.route("/partnerships/<pid>/next-steps", methods=["POST"])
@login_required
@blp.arguments(NextStepCreateSchema)
@blp.response(201, NextStepEnvelope)
def create_next_step(body: dict[str, Any], pid: str) -> dict[str, Any]:
    step = next_steps.create_next_step(api_user(), pid, body)
    transaction.commit()
    return {"next_step": step}


@blp.route("/next-steps/<sid>", methods=["PATCH"])
@login_required
@blp.arguments(NextStepUpdateSchema)
@blp.response(200, NextStepEnvelope)
def update_next_step(body: dict[str, Any], sid: str) -> dict[str, Any]:
    """Edit, or mark done with {"done": true}; any member may."""
    step = next_steps.update_next_step(api_user(), sid, body)
    transaction.commit()
    return {"next_step": step}


@blp.route("/next-steps/<sid>", methods=["DELETE"])
@login_required
@blp.response(204)
def delete_next_step(sid: str) -> None:
    next_steps.delete_next_step(api_user(), sid)
    transaction.commit()
