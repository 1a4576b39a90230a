"""Pages: my partnerships, one partnership (members, invitations, goals), accepting an invite."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from videocoach import db, transaction
from videocoach.clips.schemas import media_urls
from videocoach.clips.services import moment_thumbnail
from videocoach.comments.services import KINDS
from videocoach.errors import DomainError
from videocoach.forms import ActionForm, flash_refusals, show_errors
from videocoach.meetings import services as meetings
from videocoach.partnerships import goals, next_steps, services
from videocoach.partnerships.api import resend_limit
from videocoach.partnerships.forms import GoalForm, InviteForm, PartnershipForm
from videocoach.partnerships.home import goals_with_evidence, partnership_home
from videocoach.partnerships.models import GoalStatus
from videocoach.partnerships.overview import partnership_cards
from videocoach.urls import invitation_link

bp = Blueprint("partnerships", __name__)


@bp.get("/")
def index() -> ResponseReturnValue:
    if not current_user.is_authenticated:
        return redirect(url_for("accounts.login"))
    return redirect(url_for("partnerships.list_page"))


@bp.route("/partnerships", methods=["GET", "POST"])
@login_required
def list_page() -> ResponseReturnValue:
    form = PartnershipForm()
    if form.validate_on_submit():
        try:
            partnership = services.create_partnership(
                current_user, form.name.data or "", form.role.data or ""
            )
        except DomainError as error:
            db.session.rollback()
            show_errors(form, error)
        else:
            transaction.commit()
            flash("Partnership created. Invite your partner below.", "success")
            return redirect(url_for("partnerships.detail", pid=partnership.id))
    status = 422 if form.errors else 200
    cards = partnership_cards(current_user)
    posters = {
        card.latest_clip.id: media_urls(card.latest_clip)["poster"]
        for card in cards
        if card.latest_clip
    }
    return render_template(
        "partnerships/list.html", cards=cards, posters=posters, form=form
    ), status


HOME_MEETINGS = 5


def _render_detail(
    pid: str,
    invite_form: InviteForm | None = None,
    goal_form: GoalForm | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    partnership = services.get_partnership(current_user, pid)
    home = partnership_home(current_user, pid)
    transaction.commit()  # remembers this visit
    return render_template(
        "partnerships/detail.html",
        partnership=partnership,
        home=home,
        media={clip.id: media_urls(clip) for clip in home.clips},
        my_role=services.role_of(current_user, partnership),
        goals=goals.list_goals(current_user, pid),
        invitations=services.open_invitations_with_links(current_user, pid, invitation_link),
        next_steps=next_steps.list_next_steps(current_user, pid),
        meetings=meetings.list_meetings(current_user, pid, limit=HOME_MEETINGS),
        invite_form=invite_form or InviteForm(formdata=None),
        goal_form=goal_form or GoalForm(formdata=None),
        action_form=ActionForm(),
        GoalStatus=GoalStatus,
    ), status


@bp.get("/partnerships/<pid>")
@login_required
def detail(pid: str) -> ResponseReturnValue:
    return _render_detail(pid)


@bp.post("/partnerships/<pid>/invitations")
@login_required
def invite(pid: str) -> ResponseReturnValue:
    services.get_partnership(current_user, pid)  # outsiders get 404 before validation
    form = InviteForm()
    if form.validate_on_submit():
        try:
            invitation, _link = services.invite(
                current_user, pid, form.email.data or "", form.role.data or "", invitation_link
            )
        except DomainError as error:
            db.session.rollback()
            show_errors(form, error)
        else:
            transaction.commit()
            flash(
                f"Invitation for {invitation.email} sent. Its link is under “Waiting for an "
                "answer”, to copy into a message of your own.",
                "success",
            )
            return redirect(
                url_for("partnerships.detail", pid=pid) + f"#invitation-{invitation.id}"
            )
    return _render_detail(pid, invite_form=form, status=422)


@bp.post("/partnerships/<pid>/invitations/<iid>/cancel")
@login_required
def cancel_invitation(pid: str, iid: str) -> ResponseReturnValue:
    services.cancel_invitation(current_user, pid, iid)
    transaction.commit()
    flash("Invitation withdrawn: its link no longer works.", "success")
    return redirect(url_for("partnerships.detail", pid=pid) + "#members")


@bp.post("/partnerships/<pid>/invitations/<iid>/resend")
@resend_limit
@login_required
def resend_invitation(pid: str, iid: str) -> ResponseReturnValue:
    invitation, _link = services.resend_invitation(current_user, pid, iid, invitation_link)
    transaction.commit()
    flash(
        f"Invitation emailed to {invitation.email} again, with a new link: the earlier one "
        "no longer works.",
        "success",
    )
    return redirect(url_for("partnerships.detail", pid=pid) + f"#invitation-{invitation.id}")


def _back_to_partnership(pid: str, **_ids: str) -> str:
    return url_for("partnerships.detail", pid=pid)


@bp.post("/partnerships/<pid>/members/<uid>/remove")
@login_required
@flash_refusals(_back_to_partnership)
def remove_member(pid: str, uid: str) -> ResponseReturnValue:
    leaving = uid == current_user.id
    services.remove_member(current_user, pid, uid)
    transaction.commit()
    if leaving:
        flash("You left the partnership.", "success")
        return redirect(url_for("partnerships.list_page"))
    flash("Member removed.", "success")
    return redirect(url_for("partnerships.detail", pid=pid) + "#members")


@bp.post("/partnerships/<pid>/goals")
@login_required
def create_goal(pid: str) -> ResponseReturnValue:
    services.get_partnership(current_user, pid)
    form = GoalForm()
    if form.validate_on_submit():
        try:
            goals.create_goal(
                current_user,
                pid,
                form.title.data or "",
                form.description.data,
                form.success_criteria.data,
            )
        except DomainError as error:
            db.session.rollback()
            show_errors(form, error)
        else:
            transaction.commit()
            flash("Goal added.", "success")
            return redirect(url_for("partnerships.detail", pid=pid) + "#goals")
    return _render_detail(pid, goal_form=form, status=422)


@bp.post("/partnerships/<pid>/next-steps")
@login_required
@flash_refusals(_back_to_partnership)
def add_next_step(pid: str) -> ResponseReturnValue:
    next_steps.create_next_step(current_user, pid, request.form.to_dict())
    transaction.commit()
    flash("Next step added.", "success")
    return redirect(url_for("partnerships.detail", pid=pid) + "#next-steps")


@bp.post("/next-steps/<sid>/done")
@login_required
def next_step_done(sid: str) -> ResponseReturnValue:
    step = next_steps.update_next_step(current_user, sid, {"done": True})
    transaction.commit()
    flash("Next step done.", "success")
    return redirect(url_for("partnerships.detail", pid=step.partnership_id) + "#next-steps")


@bp.get("/partnerships/<pid>/goals")
@login_required
def goals_page(pid: str) -> ResponseReturnValue:
    """Each goal with its evidence: the moments across all clips that were tied to it."""
    partnership = services.get_partnership(current_user, pid)
    evidence = goals_with_evidence(current_user, pid)
    return render_template(
        "partnerships/goals.html",
        partnership=partnership,
        evidence=evidence,
        open_steps=next_steps.list_next_steps(current_user, pid),
        posters={
            clip.id: media_urls(clip)["poster"] for item in evidence for _c, clip in item.moments
        },
        thumbnails={
            comment.id: moment_thumbnail(clip, comment.t_start_ms)
            for item in evidence
            for comment, clip in item.moments
        },
        action_form=ActionForm(),
        kinds=KINDS,
    )


@bp.route("/goals/<gid>/edit", methods=["GET", "POST"])
@login_required
def edit_goal(gid: str) -> ResponseReturnValue:
    goal = goals.get_goal(current_user, gid)
    form = GoalForm(obj=goal)
    if form.validate_on_submit():
        try:
            goals.update_goal(
                current_user,
                gid,
                {
                    "title": form.title.data,
                    "description": form.description.data,
                    "success_criteria": form.success_criteria.data,
                },
            )
        except DomainError as error:
            db.session.rollback()
            show_errors(form, error)
        else:
            transaction.commit()
            flash("Goal saved.", "success")
            return redirect(url_for("partnerships.detail", pid=goal.partnership_id) + "#goals")
    status = 422 if form.errors else 200
    return render_template(
        "partnerships/goal_edit.html", goal=goal, form=form, action_form=ActionForm()
    ), status


@bp.post("/goals/<gid>/status")
@login_required
def set_goal_status(gid: str) -> ResponseReturnValue:
    goal = goals.update_goal(current_user, gid, {"status": request.form.get("status", "")})
    transaction.commit()
    messages = {
        GoalStatus.MET.value: "Goal marked as met. Well done.",
        GoalStatus.ARCHIVED.value: "Goal archived.",
        GoalStatus.ACTIVE.value: "Goal is active again.",
    }
    flash(messages[goal.status], "success")
    return redirect(url_for("partnerships.detail", pid=goal.partnership_id) + "#goals")


@bp.route("/invitations/accept", methods=["GET", "POST"])
def accept_invitation() -> ResponseReturnValue:
    token = request.values.get("token", "")
    if not token:
        abort(404)
    invitation = services.find_open_invitation(token)
    if request.method == "POST":
        if not current_user.is_authenticated:
            return redirect(url_for("accounts.login", next=request.full_path))
        try:
            partnership = services.accept_invitation(current_user, token)
        except DomainError as error:
            if error.status == 404:
                raise
            db.session.rollback()
            flash(error.message, "error")
        else:
            transaction.commit()
            flash(f"You joined {partnership.name}.", "success")
            return redirect(url_for("partnerships.detail", pid=partnership.id))
    return render_template(
        "partnerships/accept.html",
        invitation=invitation,
        token=token,
        action_form=ActionForm(),
        signed_in_as=current_user.email if current_user.is_authenticated else None,
    )
