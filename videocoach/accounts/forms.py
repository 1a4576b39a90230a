from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Length

from videocoach.accounts.services import MIN_PASSWORD_LENGTH


class SignupForm(FlaskForm):
    name = StringField(
        "Your name", validators=[DataRequired("Tell us your name."), Length(max=120)]
    )
    email = EmailField("Email", validators=[DataRequired("Enter your email address.")])
    password = PasswordField(
        "Password",
        description=f"At least {MIN_PASSWORD_LENGTH} characters. A short sentence works well.",
        validators=[DataRequired("Choose a password.")],
    )


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired("Enter your email address.")])
    password = PasswordField("Password", validators=[DataRequired("Enter your password.")])
    remember = BooleanField("Keep me signed in on this device")


class TokenForm(FlaskForm):
    label = StringField(
        "What is this token for?", validators=[DataRequired("Name the token."), Length(max=120)]
    )
