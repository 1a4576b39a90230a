"""/favicon.ico: browsers ask for it on every site whatever the page links (base.html
links static/favicon.svg), so answer with the icon instead of a 404."""

from __future__ import annotations

from flask import Blueprint, current_app, send_from_directory
from flask.typing import ResponseReturnValue

bp = Blueprint("favicon", __name__)
ONE_DAY_S = 24 * 3600


@bp.get("/favicon.ico")
def favicon() -> ResponseReturnValue:
    assert current_app.static_folder is not None
    return send_from_directory(
        current_app.static_folder, "favicon.ico", mimetype="image/x-icon", max_age=ONE_DAY_S
    )
