"""Site administration: accounts only. Admins see no partnership content anywhere."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from sqlalchemy import select

from videocoach import db, transaction
from videocoach.accounts import services
from videocoach.accounts.models import User
from videocoach.errors import Forbidden, NotFound
from videocoach.forms import ActionForm

bp = Blueprint("admin", __name__, url_prefix="/admin")


def admin_required(view: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(view)
    @login_required
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_admin:
            raise NotFound()  # the admin area does not exist for everyone else
        return view(*args, **kwargs)

    return wrapper


@bp.get("/users")
@admin_required
def users() -> ResponseReturnValue:
    everyone = db.session.scalars(select(User).order_by(User.created_at.desc())).all()
    return render_template("admin/users.html", users=everyone, action_form=ActionForm())


def _set_disabled(uid: str, disabled: bool) -> ResponseReturnValue:
    user = db.session.get(User, uid)
    if user is None:
        raise NotFound("That account does not exist.")
    if user.id == current_user.id:
        raise Forbidden("You cannot disable your own account.")
    services.set_disabled(user, disabled)
    transaction.commit()
    flash(f"{user.email} is now {'disabled' if disabled else 'enabled'}.", "success")
    return redirect(url_for("admin.users"))


@bp.post("/users/<uid>/disable")
@admin_required
def disable_user(uid: str) -> ResponseReturnValue:
    return _set_disabled(uid, True)


@bp.post("/users/<uid>/enable")
@admin_required
def enable_user(uid: str) -> ResponseReturnValue:
    return _set_disabled(uid, False)
