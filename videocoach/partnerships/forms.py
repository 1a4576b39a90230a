from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, RadioField, SelectChoice, StringField, TextAreaField
from wtforms.validators import DataRequired

from videocoach import limits
from videocoach.forms import at_most

ROLE_CHOICES = [SelectChoice("coach", "Coach"), SelectChoice("teacher", "Teacher")]


class PartnershipForm(FlaskForm):
    name = StringField(
        "Name",
        description="For example the teacher's name and the school year.",
        validators=[DataRequired("Give the partnership a name."), at_most(limits.NAME_MAX)],
    )
    role = RadioField(
        "My role", choices=ROLE_CHOICES, validators=[DataRequired("Choose your role.")]
    )


class InviteForm(FlaskForm):
    email = EmailField(
        "Email",
        validators=[DataRequired("Enter their email address."), at_most(limits.EMAIL_MAX)],
    )
    role = RadioField(
        "Their role", choices=ROLE_CHOICES, validators=[DataRequired("Choose their role.")]
    )


class GoalForm(FlaskForm):
    title = StringField(
        "Goal",
        description="One sentence, in the teacher's words where possible.",
        validators=[DataRequired("Give the goal a title."), at_most(limits.TITLE_MAX)],
    )
    description = TextAreaField("Why it matters", validators=[at_most(limits.GOAL_TEXT_MAX)])
    success_criteria = TextAreaField(
        "What success looks like",
        description="What we would see or hear in the classroom.",
        validators=[at_most(limits.GOAL_TEXT_MAX)],
    )
