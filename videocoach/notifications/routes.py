"""Pages: the notification list (grouped), opening a group, mark all read, email settings,
unsubscribe."""

from __future__ import annotations

from flask import Blueprint, Flask, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from videocoach import db, transaction
from videocoach.db import utcnow
from videocoach.errors import DomainError
from videocoach.forms import ActionForm
from videocoach.notifications import services
from videocoach.notifications.grouping import friendly_time, initials

bp = Blueprint("notifications", __name__)


@bp.get("/notifications")
@login_required
def index() -> ResponseReturnValue:
    return render_template(
        "notifications/list.html",
        groups=services.list_groups(current_user),
        action_form=ActionForm(),
    )


@bp.get("/notifications/<nid>")
@login_required
def open_one(nid: str) -> ResponseReturnValue:
    notification = services.open_notification(current_user, nid)
    transaction.commit()
    return redirect(services.target_path(notification))


@bp.post("/notifications/read")
@login_required
def mark_all_read() -> ResponseReturnValue:
    services.mark_read(current_user)
    transaction.commit()
    flash("All notifications marked as read.", "success")
    return redirect(url_for("notifications.index"))


@bp.post("/account/notifications")
@login_required
def email_settings() -> ResponseReturnValue:
    try:
        services.set_email_preference(current_user, request.form.get("email_notifications", ""))
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        transaction.commit()
        flash("Email preference saved.", "success")
    return redirect(url_for("accounts.account") + "#email-settings")


# GET shows a confirmation button (link scanners must not unsubscribe anyone); POST turns
# emails off. The POST needs no login and no CSRF token: mail clients send it on their own
# (RFC 8058 List-Unsubscribe-Post), and the signed token in the URL is the credential. A
# forged cross-site POST can only switch emails off for the holder of that very link.
@bp.route("/notifications/unsubscribe/<token>", methods=["GET", "POST"])
def unsubscribe(token: str) -> ResponseReturnValue:
    if request.method == "POST":
        user = services.unsubscribe(token)
        transaction.commit()
        return render_template("notifications/unsubscribe.html", user=user, done=True)
    user = services.user_for_unsubscribe(token)
    return render_template("notifications/unsubscribe.html", user=user, done=False, token=token)


def init_notifications(app: Flask) -> None:
    """The bell: templates call unread_notifications() (one COUNT query) for signed-in users;
    notification_time(moment), "Today, 14:05", for lists of what happened; initials(name)."""

    @app.context_processor
    def _bell() -> dict[str, object]:
        return {
            "unread_notifications": lambda: services.unread_count(current_user),
            "notification_time": lambda moment: friendly_time(moment, utcnow()),
            "initials": initials,  # the header's account menu shows the same round badge
        }
