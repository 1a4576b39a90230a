"""Pages: upload, clip list, clip status and playback."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from videocoach import transaction
from videocoach.clips import (
    access_log,
    dispatch,
    face_preview,
    quotas,
    redaction,
    retention,
    services,
    steps,
)
from videocoach.clips.models import Clip
from videocoach.clips.schemas import caption_json, media_urls
from videocoach.config import current_settings
from videocoach.forms import ActionForm, flash_refusals
from videocoach.meetings import services as meetings
from videocoach.partnerships import goals as goal_services
from videocoach.partnerships import services as partnerships
from videocoach.urls import comment_path

bp = Blueprint("clips", __name__)
bp.add_app_template_global(comment_path)


@bp.app_context_processor
def _processing_delay() -> dict[str, object]:
    """Clip status boxes say why a clip waits longer than it should, and list the steps
    (clips/_status.html)."""
    return {
        "processing_delay": dispatch.processing_delay,
        "processing_steps": steps.step_list,
        "step_progress": steps.step_progress,
    }


@bp.get("/partnerships/<pid>/clips")
@login_required
def list_page(pid: str) -> ResponseReturnValue:
    partnership = partnerships.get_partnership(current_user, pid)
    clips = services.list_clips(current_user, pid)
    return render_template(
        "clips/list.html",
        partnership=partnership,
        clips=clips,
        media={clip.id: media_urls(clip) for clip in clips},
        action_form=ActionForm(),
    )


@bp.get("/partnerships/<pid>/upload")
@login_required
def upload_page(pid: str) -> ResponseReturnValue:
    partnership = partnerships.get_partnership(current_user, pid)
    settings = current_settings()
    return render_template(
        "clips/upload.html",
        partnership=partnership,
        max_bytes=settings.max_upload_bytes,
        # Today's allowance used up: the sentence a refused upload would get, shown at once.
        refusal=quotas.refusal_today(current_user.id),
    )


@bp.get("/clips/<cid>")
@login_required
def clip_page(cid: str) -> ResponseReturnValue:
    clip = services.get_clip(current_user, cid)
    return render_review_page(clip)


def render_review_page(clip: Clip, **extra: Any) -> str:
    """The review page of a clip; a meeting adds its panel and live sync (`extra`)."""
    services.mark_clip_seen(current_user, clip)
    transaction.commit()
    return render_template(
        "clips/clip.html",
        clip=clip,
        partnership=clip_partnership(clip.partnership_id),
        media=media_urls(clip),
        captions=caption_json(clip),
        goals=_goals_for_page(clip.partnership_id),
        running_meeting=meetings.running_meeting(current_user, clip.id),
        ended_meetings=meetings.ended_meetings(current_user, clip.id),
        who_watched=access_log.for_clip_page(current_user, clip),
        deletion_date=retention.deletion_date(clip, current_settings()),
        redaction_form=_redaction_form(clip),
        shown_status=redaction.shown_status(clip, current_user),
        action_form=ActionForm(),
        **extra,
    )


def _redaction_form(clip: Clip) -> dict[str, Any] | None:
    """The uploader's redaction settings for their form; None on everyone else's page."""
    if clip.uploaded_by_id != current_user.id:
        return None
    return redaction.form_values(clip.redaction)


def _goals_for_page(pid: str) -> list[dict[str, str]]:
    """The partnership's goals for the review page (one query). Comments are not embedded:
    review.js loads them from the API, so the page costs the same however many there are."""
    return [
        {"id": goal.id, "title": goal.title, "status": goal.status}
        for goal in goal_services.list_goals(current_user, pid)
    ]


def clip_partnership(pid: str):  # type: ignore[no-untyped-def]
    return partnerships.get_partnership(current_user, pid)


def _back_to_clip(cid: str) -> str:
    return url_for("clips.clip_page", cid=cid)


@bp.post("/clips/<cid>/retry")
@login_required
@flash_refusals(_back_to_clip)
def retry(cid: str) -> ResponseReturnValue:
    services.retry_clip(current_user, cid)
    transaction.commit()
    flash("Trying again. This page updates by itself.", "success")
    return redirect(_back_to_clip(cid))


@bp.post("/clips/<cid>/visibility")
@login_required
@flash_refusals(_back_to_clip)
def set_visibility(cid: str) -> ResponseReturnValue:
    clip = services.update_clip(current_user, cid, {"visibility": request.form.get("visibility")})
    transaction.commit()
    if clip.visibility == "shared":
        flash("Shared with your partnership.", "success")
    else:
        flash("Only you can see this clip now.", "success")
    return redirect(_back_to_clip(cid))


@bp.post("/clips/<cid>/redaction")
@login_required
@flash_refusals(_back_to_clip)
def save_redaction(cid: str) -> ResponseReturnValue:
    """The uploader's "What your partnership sees" form (the API's PUT, from the page)."""
    saved = redaction.save_settings(current_user, cid, redaction.settings_from_form(request.form))
    transaction.commit()
    if saved is None:
        flash("Nothing is hidden: your partnership sees the lesson as recorded.", "success")
    else:
        flash(
            "Saved. The shared version is being made; until it is ready, your partnership "
            "sees this clip as being processed.",
            "success",
        )
    return redirect(_back_to_clip(cid) + "#redaction")


@bp.post("/clips/<cid>/redaction/faces")
@login_required
@flash_refusals(_back_to_clip)
def find_faces(cid: str) -> ResponseReturnValue:
    """The redaction panel's "Show where faces are" (the API's POST, from the page)."""
    face_preview.request_preview(current_user, cid)
    transaction.commit()
    flash("Looking for faces. The timeline below fills in by itself.", "success")
    return redirect(_back_to_clip(cid) + "#redaction")


@bp.post("/clips/<cid>/delete")
@login_required
@flash_refusals(_back_to_clip)
def delete(cid: str) -> ResponseReturnValue:
    pid = services.get_clip(current_user, cid).partnership_id
    services.delete_clip(current_user, cid)
    transaction.commit()
    flash("Clip deleted, with every file made from it.", "success")
    return redirect(url_for("clips.list_page", pid=pid))


@bp.post("/clips/<cid>/keep")
@login_required
@flash_refusals(_back_to_clip)
def keep(cid: str) -> ResponseReturnValue:
    clip = retention.keep_for_another_year(current_user, cid)
    transaction.commit()
    kept = retention.deletion_date(clip, current_settings())
    if kept is None:
        flash("Kept. This installation keeps clips until their uploader deletes them.", "success")
    else:
        flash(f"Kept until {kept.date().isoformat()}.", "success")
    return redirect(_back_to_clip(cid))
