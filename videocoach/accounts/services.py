"""Accounts: sign-up, passwords, API tokens. No HTTP here."""

from __future__ import annotations

from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from videocoach import db, limits, transaction
from videocoach.accounts.models import ApiToken, User
from videocoach.db import utcnow
from videocoach.errors import Conflict, Forbidden, Invalid
from videocoach.tokens import new_token, token_digest

MIN_PASSWORD_LENGTH = 10
TOKEN_PREFIX = "vc_"  # noqa: S105 (a prefix that makes leaked tokens easy to spot)
TOKEN_USE_RESOLUTION = timedelta(hours=1)
_hasher = PasswordHasher()
# A precomputed hash lets a login for an unknown email cost as much as a real one.
_DUMMY_HASH = _hasher.hash("videocoach-timing-equaliser")

# Keyboard runs that pass the length rule but are guessed first by any attacker.
COMMON_PASSWORDS = frozenset(
    {
        "1234567890",
        "0123456789",
        "12345678910",
        "123456789a",
        "1q2w3e4r5t",
        "1qaz2wsx3edc",
        "qwertyuiop",
        "asdfghjkl;",
        "abc1234567",
    }
)


def normalise_email(raw: str) -> str:
    """Validate an email address and return the lower-cased form we store."""
    address = limits.check_length(raw.strip(), limits.EMAIL_MAX, "email", "The email address")
    try:
        result = validate_email(address, check_deliverability=False)
    except EmailNotValidError as exc:
        raise Invalid(str(exc), fields={"email": str(exc)}) from None
    return result.normalized.lower()


def password_problem(password: str, email: str = "", name: str = "") -> str | None:
    """A sentence saying why a password is too weak, or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Use at least {MIN_PASSWORD_LENGTH} characters."
    if problem := limits.length_problem(password, limits.PASSWORD_MAX):
        return problem
    lowered = password.lower()
    if lowered in COMMON_PASSWORDS or len(set(lowered)) < 4:
        return "That password is too easy to guess; try a short sentence."
    local_part = email.split("@")[0].lower()
    if (
        (local_part and lowered == local_part)
        or lowered == email.lower()
        or (name and lowered == name.lower())
    ):
        return "Do not use your name or email address as your password."
    return None


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_signup_allowed(email: str, *, signup_open: bool, domains: tuple[str, ...]) -> None:
    if not signup_open:
        raise Forbidden(
            "Sign-up is closed on this server. Ask your administrator for an account.",
            code="signup_closed",
        )
    if domains and email.rsplit("@", 1)[-1] not in domains:
        allowed = ", ".join("@" + d for d in domains)
        raise Invalid(
            f"Sign-up is limited to addresses ending in {allowed}.",
            code="email_domain_not_allowed",
            fields={"email": f"Use an address ending in {allowed}."},
        )


def create_user(email: str, password: str, name: str, *, is_admin: bool = False) -> User:
    email = normalise_email(email)
    name = limits.one_line(name)
    fields: dict[str, str] = {}
    if not name:
        fields["name"] = "Tell us your name."
    elif problem := limits.length_problem(name, limits.NAME_MAX):
        fields["name"] = problem
    problem = password_problem(password, email, name)
    if problem:
        fields["password"] = problem
    if fields:
        raise Invalid(next(iter(fields.values())), fields=fields)
    if db.session.scalar(select(User.id).where(User.email == email)):
        raise _email_taken()
    user = User(email=email, name=name, password_hash=hash_password(password), is_admin=is_admin)
    db.session.add(user)
    try:
        db.session.flush()
    except IntegrityError:  # a concurrent sign-up won the race
        db.session.rollback()
        raise _email_taken() from None
    return user


def _email_taken() -> Conflict:
    message = "An account with that email address already exists."
    return Conflict(message, code="email_taken", fields={"email": message})


def authenticate(email: str, password: str) -> User | None:
    """The active user with these credentials, or None (same cost either way)."""
    try:
        email = normalise_email(email)
    except Invalid:
        return None
    user = db.session.scalars(select(User).where(User.email == email)).first()
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.is_active:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def issue_token(user: User, label: str = "") -> tuple[str, ApiToken]:
    label = limits.check_length(
        limits.one_line(label), limits.TOKEN_LABEL_MAX, "label", "The token's label"
    )
    raw = new_token(TOKEN_PREFIX)
    token = ApiToken(user_id=user.id, token_hash=token_digest(raw), label=label)
    db.session.add(token)
    db.session.flush()
    return raw, token


def user_for_token(raw_token: str) -> tuple[User, ApiToken] | None:
    token = db.session.scalars(
        select(ApiToken).where(
            ApiToken.token_hash == token_digest(raw_token), ApiToken.revoked_at.is_(None)
        )
    ).first()
    if token is None or not token.user.is_active:
        return None
    return token.user, token


def record_token_use(token: ApiToken) -> None:
    """Note when a token was last used, at most hourly so reads stay free of writes."""
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at > TOKEN_USE_RESOLUTION:
        token.last_used_at = now
        transaction.commit()


def revoke_token(token: ApiToken) -> None:
    token.revoked_at = utcnow()


def set_disabled(user: User, disabled: bool) -> None:
    user.disabled_at = utcnow() if disabled else None
    if disabled:
        for token in db.session.scalars(
            select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        ):
            revoke_token(token)
