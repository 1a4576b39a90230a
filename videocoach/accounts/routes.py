"""Pages: sign up, sign in, sign out, password reset, my account (password, sign-ins,
API tokens)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required, logout_user

from videocoach import db, transaction
from videocoach.accounts import services, sessions
from videocoach.accounts.api import login_rate_limit
from videocoach.accounts.forms import (
    ForgotPasswordForm,
    LoginForm,
    PasswordChangeForm,
    ResetPasswordForm,
    SignupForm,
    TokenForm,
)
from videocoach.config import current_settings
from videocoach.db import utcnow
from videocoach.errors import DomainError, NotFound
from videocoach.extensions import limiter
from videocoach.forms import ActionForm, safe_next, show_errors
from videocoach.partnerships import services as invitations

bp = Blueprint("accounts", __name__)


def _home() -> str:
    return url_for("partnerships.index")


def _invitation_sent_to(next_page: str) -> str | None:
    """The invited address when `next_page` is an open invitation's accept link."""
    parts = urlsplit(next_page)
    if parts.path != url_for("partnerships.accept_invitation"):
        return None
    token = parse_qs(parts.query).get("token", [""])[0]
    return invitations.invited_address(token) if token else None


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
            user, created = services.sign_up(email, form.password.data or "", form.name.data or "")
        except DomainError as error:
            db.session.rollback()
            show_errors(form, error)
            status = error.status  # 403 when sign-up is closed: no field to put it next to
        else:
            next_page = safe_next(request.args.get("next"), "")
            if created and _invitation_sent_to(next_page) == user.email:
                # Following the invitation emailed to this address proves the person reads
                # that inbox (and the inviter knows the address): sign in, go and accept.
                sessions.sign_in(user)
                transaction.commit()
                flash(f"Welcome, {user.name}.", "success")
                return redirect(next_page)
            transaction.commit()
            # The same answer, cookie included, whether or not the address was new: sign-up
            # never tells a stranger who has an account, so it signs nobody in by itself
            # (docs/security.md). The new person signs in with the password just chosen.
            flash(
                f"Your account is ready, {user.name}. We sent a note to {user.email}. "
                "Sign in to start.",
                "success",
            )
            return redirect(
                url_for(
                    "accounts.login",
                    email=user.email,
                    next=next_page or None,
                )
            )
    status = 422 if form.errors else status
    return render_template("accounts/signup.html", form=form, settings=settings), status


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(login_rate_limit, methods=["POST"])
def login() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next"), _home()))
    form = LoginForm(email=request.args.get("email", ""))
    if form.validate_on_submit():
        user = services.authenticate(form.email.data or "", form.password.data or "")
        if user is None:
            form.password.errors = ["That email and password do not match an active account."]
        else:
            sessions.sign_in(user, remember=bool(form.remember.data))
            transaction.commit()  # the sign-in, and a rehashed password if argon2 changed
            return redirect(safe_next(request.args.get("next"), _home()))
    status = 401 if form.password.errors and request.method == "POST" else 200
    return render_template("accounts/login.html", form=form, settings=current_settings()), status


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    sessions.sign_out()
    transaction.commit()
    flash("You are signed out.", "success")
    return redirect(url_for("accounts.login"))


def _account_page(
    *,
    token_form: TokenForm | None = None,
    password_form: PasswordChangeForm | None = None,
    new_token: str | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    here = sessions.current_session()
    return render_template(
        "accounts/account.html",
        form=token_form or TokenForm(formdata=None),
        password_form=password_form or PasswordChangeForm(formdata=None),
        tokens=services.live_tokens(current_user),
        sign_ins=sessions.live_sessions(current_user),
        this_sign_in=here.id if here else None,
        device_name=sessions.device_name,
        new_token=new_token,
        action_form=ActionForm(),
    ), status


@bp.route("/account", methods=["GET", "POST"])
@login_required
@limiter.limit(login_rate_limit, methods=["POST"])
def account() -> ResponseReturnValue:
    """The account page; a POST here creates an API token."""
    form = TokenForm()
    if not form.validate_on_submit():
        return _account_page(token_form=form, status=422 if form.errors else 200)
    try:
        # A token outlives "sign out everywhere": only the password, not a copied
        # cookie, may make one.
        services.check_current_password(current_user, form.password.data or "", "password")
        new_token, _ = services.issue_token(current_user, form.label.data or "")
    except DomainError as error:
        db.session.rollback()
        show_errors(form, error)
        return _account_page(token_form=form, status=422)
    transaction.commit()
    return _account_page(new_token=new_token)


@bp.post("/account/tokens/<tid>/revoke")
@login_required
def revoke_token(tid: str) -> ResponseReturnValue:
    token = services.find_token(current_user, tid)
    if token is None:
        raise NotFound("That token does not exist.")
    services.revoke_token(token)
    transaction.commit()
    flash("Token revoked.", "success")
    return redirect(url_for("accounts.account"))


@bp.post("/account/password")
@login_required
@limiter.limit(login_rate_limit)
def change_password() -> ResponseReturnValue:
    form = PasswordChangeForm()
    if not form.validate_on_submit():
        return _account_page(password_form=form, status=422)
    try:
        services.change_password(
            current_user, form.current_password.data or "", form.new_password.data or ""
        )
    except DomainError as error:
        db.session.rollback()
        show_errors(form, error)
        return _account_page(password_form=form, status=error.status)
    # Every sign-in ended, this one too; this browser gets a fresh one, so even a copy
    # of this device's cookie stops working.
    sessions.renew(current_user)
    transaction.commit()
    flash(
        "Password changed. Every other device is signed out and your API tokens are revoked.",
        "success",
    )
    # The form posts to #change-password, and a browser keeps that fragment through a
    # redirect without one: #main brings it back up to the message.
    return redirect(url_for("accounts.account", _anchor="main"))


@bp.post("/account/sessions/<sid>/end")
@login_required
def end_session(sid: str) -> ResponseReturnValue:
    row = sessions.find_session(current_user, sid)
    if row is None:
        raise NotFound("That sign-in does not exist.")
    here = sessions.current_session()
    if here is not None and row.id == here.id:
        sessions.sign_out()
        transaction.commit()
        flash("You are signed out.", "success")
        return redirect(url_for("accounts.login"))
    row.ended_at = utcnow()
    transaction.commit()
    flash(f"Signed out {sessions.device_name(row.user_agent)}.", "success")
    return redirect(url_for("accounts.account"))


@bp.post("/account/sessions/end-all")
@login_required
def sign_out_everywhere() -> ResponseReturnValue:
    sessions.end_sessions(current_user)
    sessions.sign_out()
    transaction.commit()
    flash("You are signed out on every device.", "success")
    return redirect(url_for("accounts.login"))


@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit(login_rate_limit, methods=["POST"])
def forgot_password() -> ResponseReturnValue:
    form = ForgotPasswordForm()
    sent = False
    if form.validate_on_submit():
        services.request_password_reset(form.email.data or "")
        transaction.commit()
        sent = True  # the same answer whether or not the address has an account
    status = 422 if form.errors else 200
    return render_template("accounts/forgot_password.html", form=form, sent=sent), status


def _unusable_reset_link() -> ResponseReturnValue:
    problem = services.ResetLinkUnusable().message
    return render_template("accounts/reset_password.html", form=None, problem=problem), 404


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@limiter.limit(login_rate_limit, methods=["POST"])
def reset_password(token: str) -> ResponseReturnValue:
    if services.usable_reset(token) is None:
        return _unusable_reset_link()
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            user = services.reset_password(token, form.new_password.data or "")
        except services.ResetLinkUnusable:
            db.session.rollback()  # another request used the link a moment ago
            return _unusable_reset_link()
        except DomainError as error:
            db.session.rollback()
            show_errors(form, error)
        else:
            transaction.commit()
            if current_user.is_authenticated:
                logout_user()
            flash("Your password is changed. Sign in with the new one.", "success")
            # The address is filled in: whoever holds the link was sent it at that address.
            return redirect(url_for("accounts.login", email=user.email))
    status = 422 if form.errors else 200
    return render_template("accounts/reset_password.html", form=form, problem=None), status
