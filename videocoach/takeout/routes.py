"""Pages: ask for "Download everything I own", follow its progress, take it (once)."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, send_file, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from videocoach import transaction
from videocoach.errors import NotFound
from videocoach.forms import ActionForm
from videocoach.storage import current_storage
from videocoach.takeout import services
from videocoach.takeout.models import DataExport

bp = Blueprint("takeout", __name__)


@bp.app_template_global("latest_data_export")
def latest_data_export() -> DataExport | None:
    """The signed-in person's newest export, for the account page's section."""
    return services.latest_export(current_user)


@bp.app_template_global("data_export_state")
def data_export_state(export: DataExport) -> str:
    return services.link_state(export)


@bp.post("/account/data-export")
@login_required
def request_export() -> ResponseReturnValue:
    export = services.request_export(current_user)
    transaction.commit()
    return redirect(url_for("takeout.export_page", eid=export.id))


@bp.get("/account/data-export/<eid>")
@login_required
def export_page(eid: str) -> ResponseReturnValue:
    export = services.get_export(current_user, eid)
    state = services.link_state(export)
    link = (
        url_for("takeout.download", token=services.download_token(export))
        if state == "ready"
        else None
    )
    return render_template(
        "takeout/export.html",
        export=export,
        state=state,
        link=link,
        status_url=url_for("takeout_api.get_data_export", eid=export.id),
        action_form=ActionForm(),
    )


@bp.get("/account/data-export/download/<token>")
@login_required
def download(token: str) -> ResponseReturnValue:
    try:
        export = services.claim_download(current_user, token)
    except services.Gone as gone:
        page = render_template("takeout/gone.html", message=gone.message, action_form=ActionForm())
        return page, 410
    name = f"videocoach-{export.created_at.date().isoformat()}.zip"
    storage = current_storage()
    assert export.key is not None  # ready and not downloaded: the zip is there
    try:
        local = storage.local_path(export.key)
    except FileNotFoundError:
        raise NotFound("That export's file is missing; ask for a new one.") from None
    if local is None:
        url = storage.presigned_url(
            export.key, expires_s=300, content_type="application/zip", download_name=name
        )
        response = redirect(url or url_for("takeout.export_page", eid=export.id))
    else:
        response = send_file(
            local, mimetype="application/zip", as_attachment=True, download_name=name, max_age=0
        )
    response.headers["Cache-Control"] = "private, no-store"
    return response
