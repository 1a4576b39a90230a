"""Operator tasks run from the command line (`videocoach requeue`, `export-partnership`,
`purge-user`, `reconcile`, `storage migrate`): no HTTP, no signed-in person. Each module
holds one task as plain functions that take ids and values and return what they did;
videocoach/cli.py turns that into sentences and exit codes. docs/operations.md describes
them for people.

Operators act on behalf of the service, not as a member: these functions load what they
need directly, and each one says which rule of access.py it follows and why.
"""

from __future__ import annotations

from sqlalchemy import select

from videocoach import db
from videocoach.accounts.models import User
from videocoach.accounts.services import normalise_email
from videocoach.errors import NotFound


def find_user(email: str) -> User:
    """The account with this address (any case); NotFound with a sentence otherwise."""
    user = db.session.scalar(select(User).where(User.email == normalise_email(email)))
    if user is None:
        raise NotFound(f"No account has the email address {email.strip()}.")
    return user
