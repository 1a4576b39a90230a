"""Per request: an id (taken from X-Request-Id when a proxy sent a usable one) that every
log line, queued job and error answer carries, and the request's time in the metrics."""

from __future__ import annotations

import time

from flask import Flask, Response, g, request

from videocoach.observability import logs, metrics

UNMATCHED = "unmatched"  # no route: one label for every unknown path


def init_request_tracking(app: Flask) -> None:
    app.before_request(_begin)
    app.after_request(_answered)
    app.teardown_request(_end)


def _begin() -> None:
    g.request_started = time.perf_counter()
    g.request_id = logs.accepted_request_id(request.headers.get(logs.REQUEST_ID_HEADER))
    g.request_id_token = logs.bind_request_id(g.request_id)


def _answered(response: Response) -> Response:
    request_id = g.get("request_id")
    if request_id:
        response.headers[logs.REQUEST_ID_HEADER] = request_id
    started = g.get("request_started")
    if started is not None:
        endpoint = request.url_rule.endpoint if request.url_rule else UNMATCHED
        metrics.request_answered(
            endpoint, request.method, response.status_code, time.perf_counter() - started
        )
    return response


def _end(_error: BaseException | None) -> None:
    token = g.pop("request_id_token", None)
    if token is not None:
        logs.unbind_request_id(token)
