from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, StringField
from wtforms.validators import DataRequired

from videocoach import limits
from videocoach.accounts.services import MIN_PASSWORD_LENGTH
from videocoach.forms import at_most

NEW_PASSWORD_HINT = f"At least {MIN_PASSWORD_LENGTH} characters. A short sentence works well."


class SignupForm(FlaskForm):
    name = StringField(
        "Your name", validators=[DataRequired("Tell us your name."), at_most(limits.NAME_MAX)]
    )
    email = EmailField(
        "Email",
        validators=[DataRequired("Enter your email address."), at_most(limits.EMAIL_MAX)],
    )
    password = PasswordField(
        "Password",
        description=NEW_PASSWORD_HINT,
        validators=[DataRequired("Choose a password."), at_most(limits.PASSWORD_MAX)],
    )


class LoginForm(FlaskForm):
    email = EmailField(
        "Email",
        validators=[DataRequired("Enter your email address."), at_most(limits.EMAIL_MAX)],
    )
    password = PasswordField(
        "Password",
        validators=[DataRequired("Enter your password."), at_most(limits.PASSWORD_MAX)],
    )
    remember = BooleanField("Keep me signed in on this device")


class TokenForm(FlaskForm):
    label = StringField(
        "What is this token for?",
        validators=[DataRequired("Name the token."), at_most(limits.TOKEN_LABEL_MAX)],
    )
    password = PasswordField(
        "Your password",
        description="A token acts as you until it is revoked, so it needs your password.",
        validators=[DataRequired("Enter your password."), at_most(limits.PASSWORD_MAX)],
    )


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField(
        "Current password",
        validators=[DataRequired("Enter your current password."), at_most(limits.PASSWORD_MAX)],
    )
    new_password = PasswordField(
        "New password",
        description=NEW_PASSWORD_HINT,
        validators=[DataRequired("Choose a new password."), at_most(limits.PASSWORD_MAX)],
    )


class ForgotPasswordForm(FlaskForm):
    email = EmailField(
        "Email",
        validators=[DataRequired("Enter your email address."), at_most(limits.EMAIL_MAX)],
    )


class ResetPasswordForm(FlaskForm):
    new_password = PasswordField(
        "New password",
        description=NEW_PASSWORD_HINT,
        validators=[DataRequired("Choose a new password."), at_most(limits.PASSWORD_MAX)],
    )
