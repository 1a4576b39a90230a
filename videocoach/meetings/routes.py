"""Pages: start or join a meeting from a clip, the live meeting, its record afterwards."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from videocoach import transaction
from videocoach.clips import services as clips
from videocoach.clips.routes import render_review_page
from videocoach.exports.services import clock
from videocoach.forms import ActionForm, flash_refusals
from videocoach.meetings import services
from videocoach.partnerships import next_steps
from videocoach.partnerships import services as partnerships

bp = Blueprint("meetings", __name__)


def _back_to_clip(cid: str) -> str:
    return url_for("clips.clip_page", cid=cid)


def _back_to_meeting(mid: str) -> str:
    return url_for("meetings.meeting_page", mid=mid)


@bp.post("/clips/<cid>/meetings")
@login_required
@flash_refusals(_back_to_clip)
def start(cid: str) -> ResponseReturnValue:
    meeting, _ = services.start_meeting(current_user, cid)
    transaction.commit()
    # No message above the page: the meeting bar says who is here and that the partners
    # have been told, and a phone keeps the video near the top.
    return redirect(_back_to_meeting(meeting.id))


@bp.post("/clips/<cid>/meetings/share-and-start")
@login_required
@flash_refusals(_back_to_clip)
def share_and_start(cid: str) -> ResponseReturnValue:
    meeting, _ = services.share_and_start(current_user, cid)
    transaction.commit()
    flash("Shared with your partnership, and the meeting started.", "success")
    return redirect(_back_to_meeting(meeting.id))


@bp.get("/meetings/<mid>")
@login_required
def meeting_page(mid: str) -> ResponseReturnValue:
    meeting = services.get_meeting(current_user, mid)
    clip = clips.get_clip(current_user, meeting.clip_id)
    steps = next_steps.list_meeting_steps(current_user, meeting.id)
    if meeting.ended_at is None:
        partnership = partnerships.get_partnership(current_user, meeting.partnership_id)
        return render_review_page(
            clip,
            meeting=meeting,
            members=[m.user for m in partnership.memberships],
            meeting_steps=[next_steps.next_step_json(step) for step in steps],
        )
    return render_template(
        "meetings/record.html",
        meeting=meeting,
        clip=clip,
        participants=services.participants(meeting.id),
        steps=steps,
        comments=services.comments_during(current_user, meeting),
        clock=clock,
        action_form=ActionForm(),
    )


@bp.post("/meetings/<mid>/end")
@login_required
@flash_refusals(_back_to_meeting)
def end(mid: str) -> ResponseReturnValue:
    services.end_meeting(current_user, mid)
    transaction.commit()
    flash("Meeting ended. Here is what you agreed.", "success")
    return redirect(_back_to_meeting(mid))
