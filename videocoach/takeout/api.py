"""API v1: the caller's data exports ("Download everything I own")."""

from __future__ import annotations

from typing import Any

from flask import url_for
from flask_login import login_required
from flask_smorest import Blueprint
from marshmallow import fields

from videocoach import transaction
from videocoach.accounts.auth import api_user
from videocoach.api import API_PREFIX, ResponseSchema, describe
from videocoach.takeout import services
from videocoach.takeout.models import DataExport, ExportStatus

blp = Blueprint(
    "takeout_api", __name__, url_prefix=API_PREFIX, description="Download everything I own"
)


def _link(export: DataExport) -> str | None:
    if services.link_state(export) != "ready":
        return None
    return url_for("takeout.download", token=services.download_token(export))


class DataExportSchema(ResponseSchema):
    id = fields.String()
    status = fields.String(metadata={"enum": [status.value for status in ExportStatus]})
    progress = fields.Float(metadata={"minimum": 0, "maximum": 1})
    error = fields.String(allow_none=True)
    created_at = fields.DateTime()
    ready_at = fields.DateTime(allow_none=True)
    expires_at = fields.DateTime(allow_none=True)
    downloaded_at = fields.DateTime(allow_none=True)
    link = fields.Function(
        lambda export: services.link_state(export),
        metadata={
            "type": "string",
            "enum": ["queued", "building", "failed", "ready", "downloaded", "expired"],
            "description": "What the one-time download link is now",
        },
    )
    download_url = fields.Function(
        _link,
        allow_none=True,
        metadata={
            "type": "string",
            "description": "The one-time link (works once, for 24 hours); null unless ready",
        },
    )


class DataExportEnvelope(ResponseSchema):
    export = fields.Nested(DataExportSchema)


@blp.route("/me/data-exports", methods=["POST"])
@login_required
@blp.response(202, DataExportEnvelope)
def create_data_export() -> dict[str, Any]:
    """Build a zip of everything the caller owns (a worker does it; follow it with GET).
    While one is being built, asking again returns that one."""
    export = services.request_export(api_user())
    transaction.commit()
    return {"export": export}


@blp.route("/me/data-exports/<eid>", methods=["GET"])
@login_required
@blp.response(200, DataExportEnvelope)
def get_data_export(eid: str) -> dict[str, Any]:
    """One of the caller's exports: its progress, and its one-time link once ready."""
    return {"export": services.get_export(api_user(), eid)}


describe("GET /me/data-exports/{eid}", errors={404: "Not one of the caller's exports"})
