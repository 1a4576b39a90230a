"""Accounts: sign-up, passwords, API tokens. No HTTP here."""

from __future__ import annotations

from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from videocoach import db, limits, transaction
from videocoach.accounts import emails, sessions
from videocoach.accounts.models import ApiToken, PasswordReset, User
from videocoach.db import new_id, utcnow
from videocoach.errors import Conflict, DomainError, Forbidden, Invalid
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


def _checked_new_account(email: str, password: str, name: str) -> tuple[str, str]:
    """The email and name to store, after every rule a new account must meet."""
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
    return email, name


def _user_with_email(email: str) -> User | None:
    return db.session.scalars(select(User).where(User.email == email)).first()


def create_user(email: str, password: str, name: str, *, is_admin: bool = False) -> User:
    """An account made by an operator (CLI, tests): says plainly when the address is taken."""
    email, name = _checked_new_account(email, password, name)
    if _user_with_email(email):
        raise _email_taken()
    user = _insert_user(email, password, name, is_admin=is_admin)
    if user is None:
        raise _email_taken()
    return user


def _insert_user(email: str, password: str, name: str, *, is_admin: bool = False) -> User | None:
    """The new account, or None when a concurrent sign-up took the address first."""
    user = User(email=email, name=name, password_hash=hash_password(password), is_admin=is_admin)
    db.session.add(user)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        return None
    return user


def sign_up(email: str, password: str, name: str) -> tuple[User, bool]:
    """Self-service sign-up: (the account, whether it was created).

    An address that already has an account gets the same answer as a new one (an unsaved
    stand-in with the fields given), so sign-up never tells a stranger who has an
    account; the owner is emailed instead. Both cost one password hash and one email.
    """
    email, name = _checked_new_account(email, password, name)
    existing = _user_with_email(email)
    if existing is None:
        user = _insert_user(email, password, name)
        if user is not None:
            emails.welcome(user)
            return user, True
        existing = _user_with_email(email)  # a concurrent sign-up took the address
    else:
        hash_password(password)  # what creating the account would have cost
    if existing is not None:
        emails.signup_with_existing_address(existing)
    return User(id=new_id(), email=email, name=name), False


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


def revoke_all_tokens(user: User) -> int:
    tokens = db.session.scalars(
        select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
    ).all()
    for token in tokens:
        revoke_token(token)
    return len(tokens)


def live_tokens(user: User) -> list[ApiToken]:
    return list(
        db.session.scalars(
            select(ApiToken)
            .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
            .order_by(ApiToken.created_at.desc())
        )
    )


def find_token(user: User, token_id: str) -> ApiToken | None:
    return db.session.scalars(
        select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user.id)
    ).first()


def set_disabled(user: User, disabled: bool) -> None:
    """Disabling ends every sign-in and token for good: enabling again revives none."""
    user.disabled_at = utcnow() if disabled else None
    if disabled:
        revoke_all_tokens(user)
        sessions.end_sessions(user)
        _spend_reset_links(user)


class WrongPassword(Invalid):
    code = "wrong_password"


def check_current_password(user: User, password: str, field: str = "current_password") -> None:
    """For actions that must not be open to whoever holds a copied cookie."""
    if not verify_password(user, password):
        message = "That is not your current password."
        raise WrongPassword(message, fields={field: message})


def change_password(user: User, current: str, new: str) -> None:
    """Needs the current password. Every sign-in and every API token ends: whoever held a
    stolen cookie or token is locked out (the view signs this browser in afresh). The
    owner is told by email."""
    check_current_password(user, current)
    _set_password(user, new)


def _set_password(user: User, new: str) -> None:
    if problem := password_problem(new, user.email, user.name):
        raise Invalid(problem, fields={"new_password": problem})
    user.password_hash = hash_password(new)
    sessions.end_sessions(user)
    revoke_all_tokens(user)
    _spend_reset_links(user)
    emails.password_changed(user)


def _spend_reset_links(user: User) -> None:
    db.session.execute(
        update(PasswordReset)
        .where(PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None))
        .values(used_at=utcnow())
    )


def verify_password(user: User, password: str) -> bool:
    try:
        return bool(_hasher.verify(user.password_hash, password))
    except (VerificationError, InvalidHashError):
        return False


RESET_LIFETIME = timedelta(hours=1)
# Reset emails per address per RESET_LIFETIME: enough to retry, too few to flood an inbox
# (the per-client rate limit alone would let many clients take turns).
RESETS_PER_LIFETIME = 3


def request_password_reset(email: str) -> None:
    """Email a reset link when an active account has this address; do nothing visible
    otherwise, so the answer never tells whether an address has an account."""
    try:
        email = normalise_email(email)
    except Invalid:
        return
    user = db.session.scalars(select(User).where(User.email == email)).first()
    if user is None or not user.is_active:
        return
    recent = db.session.scalar(
        select(func.count(PasswordReset.id)).where(
            PasswordReset.user_id == user.id,
            PasswordReset.created_at > utcnow() - RESET_LIFETIME,
        )
    )
    if recent and recent >= RESETS_PER_LIFETIME:
        return
    raw = new_token()
    db.session.add(
        PasswordReset(
            user_id=user.id, token_hash=token_digest(raw), expires_at=utcnow() + RESET_LIFETIME
        )
    )
    emails.password_reset_link(user, raw, RESET_LIFETIME)


def usable_reset(raw_token: str) -> PasswordReset | None:
    """The reset this link stands for, while unused and unexpired."""
    reset = db.session.scalars(
        select(PasswordReset).where(PasswordReset.token_hash == token_digest(raw_token))
    ).first()
    if reset is None or reset.used_at is not None or reset.expires_at <= utcnow():
        return None
    if not reset.user.is_active:
        return None
    return reset


class ResetLinkUnusable(DomainError):
    status = 404
    code = "reset_link_unusable"
    default_message = "This password reset link has expired or was already used. Ask for a new one."


def reset_password(raw_token: str, new: str) -> User:
    """Use a reset link once: the new password, every sign-in and token ended, and every
    other link of this person's spent too."""
    reset = usable_reset(raw_token)
    if reset is None:
        raise ResetLinkUnusable()
    if problem := password_problem(new, reset.user.email, reset.user.name):
        raise Invalid(problem, fields={"new_password": problem})
    # Claim the link in one statement: of two requests racing with the same link, only
    # the one whose UPDATE finds it unused goes on.
    claimed = db.session.execute(
        update(PasswordReset)
        .where(
            PasswordReset.id == reset.id,
            PasswordReset.used_at.is_(None),
            PasswordReset.expires_at > utcnow(),
        )
        .values(used_at=utcnow())
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise ResetLinkUnusable()
    _set_password(reset.user, new)
    return reset.user
