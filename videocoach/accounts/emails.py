"""The emails an account sends its owner: about the account itself, never about lessons."""

from __future__ import annotations

from datetime import timedelta

from videocoach import mail
from videocoach.accounts.models import User
from videocoach.urls import external_url

SIGNATURE = "\n-- \nvideocoach\n"


def password_changed(user: User) -> None:
    mail.queue(
        to=user.email,
        subject="Your videocoach password was changed",
        body=(
            f"Hello {user.name},\n\n"
            "The password of your videocoach account was just changed. Every other "
            "device was signed out and every API token was revoked.\n\n"
            "If this was not you, reset your password now and tell your administrator:\n"
            f"{external_url('accounts.forgot_password')}\n" + SIGNATURE
        ),
    )


def password_reset_link(user: User, raw_token: str, lifetime: timedelta) -> None:
    minutes = int(lifetime.total_seconds() // 60)
    mail.queue(
        to=user.email,
        subject="Reset your videocoach password",
        body=(
            f"Hello {user.name},\n\n"
            "Someone (hopefully you) asked to reset the password of your videocoach "
            f"account. Choose a new one here; the link works once, for {minutes} minutes:\n"
            f"{external_url('accounts.reset_password', token=raw_token)}\n\n"
            "If you did not ask, ignore this email: your password stays as it is.\n" + SIGNATURE
        ),
    )


def welcome(user: User) -> None:
    mail.queue(
        to=user.email,
        subject="Welcome to videocoach",
        body=(
            f"Hello {user.name},\n\n"
            "Your videocoach account is ready. Sign in here:\n"
            f"{external_url('accounts.login')}\n\n"
            "If you did not create this account, reply to your administrator.\n" + SIGNATURE
        ),
    )


def signup_with_existing_address(user: User) -> None:
    """Sign-up answers the same for known addresses; the owner hears of the attempt."""
    mail.queue(
        to=user.email,
        subject="Someone tried to create a videocoach account with your address",
        body=(
            f"Hello {user.name},\n\n"
            "Someone just tried to create a videocoach account with this email address, "
            "but you already have one, so nothing changed.\n\n"
            f"If it was you, sign in: {external_url('accounts.login')}\n"
            f"Forgot your password? Reset it: {external_url('accounts.forgot_password')}\n\n"
            "If it was not you, you can ignore this email.\n" + SIGNATURE
        ),
    )
