"""Downloads and printable summaries. Same access rules as the pages they come from."""

from __future__ import annotations

import re
from collections import Counter

from flask import Blueprint, Response, render_template
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from videocoach import transaction
from videocoach.clips import access_log
from videocoach.clips.models import Clip, WatchAction
from videocoach.comments.services import KINDS
from videocoach.exports import services

bp = Blueprint("exports", __name__)


def _download(body: str, mimetype: str, name: str) -> Response:
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-")[:80] or "export"
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{safe}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _exported(cid: str) -> tuple[Clip, list[services.ExportRow]]:
    """A clip's comments, taken away: a line in its uploader's access log."""
    clip, rows = services.clip_rows(current_user, cid)
    access_log.record(current_user, clip, WatchAction.EXPORTED)
    transaction.commit()
    return clip, rows


@bp.get("/clips/<cid>/comments.csv")
@login_required
def clip_csv(cid: str) -> Response:
    clip, rows = _exported(cid)
    return _download(services.to_csv(rows), "text/csv", f"{clip.title}-comments.csv")


@bp.get("/clips/<cid>/comments.vtt")
@login_required
def clip_vtt(cid: str) -> Response:
    clip, rows = _exported(cid)
    return _download(services.to_vtt(rows), "text/vtt", f"{clip.title}-comments.vtt")


@bp.get("/clips/<cid>/summary")
@login_required
def clip_summary(cid: str) -> ResponseReturnValue:
    clip, rows = _exported(cid)
    return _summary(clip.title, clip, rows)


def _summary(heading: str, subject: object, rows: list[services.ExportRow]) -> str:
    return render_template(
        "exports/summary.html",
        heading=heading,
        subject=subject,
        rows=rows,
        counts=Counter(row.comment.kind for row in rows),
        kinds=KINDS,
        clock=services.clock,
    )


@bp.get("/goals/<gid>/comments.csv")
@login_required
def goal_csv(gid: str) -> Response:
    goal, rows = services.goal_rows(current_user, gid)
    return _download(services.to_csv(rows), "text/csv", f"{goal.title}-evidence.csv")


@bp.get("/goals/<gid>/summary")
@login_required
def goal_summary(gid: str) -> ResponseReturnValue:
    goal, rows = services.goal_rows(current_user, gid)
    return _summary(goal.title, goal, rows)
