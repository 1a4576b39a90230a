from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, RadioField, SelectChoice, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

ROLE_CHOICES = [SelectChoice("coach", "Coach"), SelectChoice("teacher", "Teacher")]


class PartnershipForm(FlaskForm):
    name = StringField(
        "Name",
        description="For example the teacher's name and the school year.",
        validators=[DataRequired("Give the partnership a name."), Length(max=120)],
    )
    role = RadioField(
        "My role", choices=ROLE_CHOICES, validators=[DataRequired("Choose your role.")]
    )


class InviteForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired("Enter their email address.")])
    role = RadioField(
        "Their role", choices=ROLE_CHOICES, validators=[DataRequired("Choose their role.")]
    )


class GoalForm(FlaskForm):
    title = StringField(
        "Goal",
        description="One sentence, in the teacher's words where possible.",
        validators=[DataRequired("Give the goal a title."), Length(max=200)],
    )
    description = TextAreaField("Why it matters", validators=[Length(max=5000)])
    success_criteria = TextAreaField(
        "What success looks like",
        description="What we would see or hear in the classroom.",
        validators=[Length(max=5000)],
    )
