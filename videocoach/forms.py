"""Form helpers shared by every feature's pages."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from flask import flash, redirect
from flask_wtf import FlaskForm
from wtforms.validators import Length

from videocoach import db, limits
from videocoach.errors import DomainError


class ActionForm(FlaskForm):
    """A form that is only a button: it carries the CSRF token and nothing else."""


def at_most(limit: int) -> Length:
    """The field's limit: rendered as maxlength, and the same sentence as the service's."""
    return Length(max=limit, message=limits.too_long(limit))


def show_errors(form: FlaskForm, error: DomainError) -> None:
    """Put a service's field errors next to the fields that caused them."""
    placed = False
    for name, message in error.fields.items():
        field = getattr(form, name, None)
        if field is not None:
            field.errors = [*field.errors, message]
            placed = True
    if not placed:
        flash(error.message, "error")


def safe_next(target: str | None, default: str) -> str:
    """Only same-site paths: `next` must never send someone to another site."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    if "\\" in target:
        return default
    return target


def flash_refusals(back: Callable[..., str]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """For button-only page actions: a refusal (403, 409, 422) becomes a message on the page
    the person came from. Not-found stays a 404, so outsiders still learn nothing."""

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return view(*args, **kwargs)
            except DomainError as error:
                if error.status == 404:
                    raise
                db.session.rollback()
                flash(error.message, "error")
                return redirect(back(**kwargs))

        return wrapper

    return decorator
