"""Pages: sign up, sign in, sign out, my account (API tokens)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select

from videocoach import db, transaction
from videocoach.accounts import services
from videocoach.accounts.api import login_rate_limit
from videocoach.accounts.forms import LoginForm, SignupForm, TokenForm
from videocoach.accounts.models import ApiToken
from videocoach.config import current_settings
from videocoach.errors import DomainError, NotFound
from videocoach.extensions import limiter
from videocoach.forms import ActionForm, safe_next, show_errors

bp = Blueprint("accounts", __name__)


def _home() -> str:
    return url_for("partnerships.index")


@bp.route("/signup", methods=["GET", "POST"])
@limiter.limit(login_rate_limit, methods=["POST"])
def signup() -> ResponseReturnValue:
    settings = current_settings()
    if current_user.is_authenticated:
        return redirect(_home())
    form = SignupForm(email=request.args.get("email", ""))
    status = 200
    if form.validate_on_submit():
        try:
            email = services.normalise_email(form.email.data or "")
            services.check_signup_allowed(
                email, signup_open=settings.signup_open, domains=settings.signup_domains
            )
            user = services.create_user(email, form.password.data or "", form.name.data or "")
        except DomainError as error:
            db.session.rollback()
            show_errors(form, error)
            status = error.status  # 403 when sign-up is closed: no field to put it next to
        else:
            transaction.commit()
            login_user(user)
            flash(f"Welcome, {user.name}.", "success")
            return redirect(safe_next(request.args.get("next"), _home()))
    status = 422 if form.errors else status
    return render_template("accounts/signup.html", form=form, settings=settings), status


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(login_rate_limit, methods=["POST"])
def login() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next"), _home()))
    form = LoginForm()
    if form.validate_on_submit():
        user = services.authenticate(form.email.data or "", form.password.data or "")
        if user is None:
            form.password.errors = ["That email and password do not match an active account."]
        else:
            transaction.commit()  # a rehashed password, if argon2 parameters changed
            login_user(user, remember=bool(form.remember.data))
            return redirect(safe_next(request.args.get("next"), _home()))
    status = 401 if form.password.errors and request.method == "POST" else 200
    return render_template("accounts/login.html", form=form, settings=current_settings()), status


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    logout_user()
    flash("You are signed out.", "success")
    return redirect(url_for("accounts.login"))


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account() -> ResponseReturnValue:
    form = TokenForm()
    new_token = None
    if form.validate_on_submit():
        try:
            new_token, _ = services.issue_token(current_user, form.label.data or "")
        except DomainError as error:
            db.session.rollback()
            show_errors(form, error)
        else:
            transaction.commit()
            form = TokenForm(formdata=None)
    tokens = db.session.scalars(
        select(ApiToken)
        .where(ApiToken.user_id == current_user.id, ApiToken.revoked_at.is_(None))
        .order_by(ApiToken.created_at.desc())
    ).all()
    return render_template(
        "accounts/account.html",
        form=form,
        tokens=tokens,
        new_token=new_token,
        action_form=ActionForm(),
    ), 422 if form.errors else 200


@bp.post("/account/tokens/<tid>/revoke")
@login_required
def revoke_token(tid: str) -> ResponseReturnValue:
    token = db.session.scalars(
        select(ApiToken).where(ApiToken.id == tid, ApiToken.user_id == current_user.id)
    ).first()
    if token is None:
        raise NotFound("That token does not exist.")
    services.revoke_token(token)
    transaction.commit()
    flash("Token revoked.", "success")
    return redirect(url_for("accounts.account"))
