"""/metrics: Prometheus text for the operator's monitoring, behind a bearer token.

Without `Authorization: Bearer $VIDEOCOACH_METRICS_TOKEN` (or with the variable unset) the
route answers 404 like any unknown path, so it can sit behind the public proxy. It adds up
what this host's processes recorded (videocoach.observability.metrics) and reads the
installation's state at that moment from the database and the broker.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Iterator

from flask import Blueprint, Response, abort, current_app, request
from kombu.exceptions import ChannelError
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from videocoach import background, jobs
from videocoach.clips import dispatch
from videocoach.config import current_settings
from videocoach.meetings import services as meetings
from videocoach.observability import metrics

bp = Blueprint("monitoring", __name__)
log = logging.getLogger(__name__)
BROKER_TIMEOUT_S = 2


def _bearer_matches(expected: str) -> bool:
    scheme, _, sent = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(sent.strip(), expected)


@bp.get("/metrics")
def metrics_page() -> Response:
    settings = current_settings()
    if not settings.metrics_token or not _bearer_matches(settings.metrics_token):
        abort(404)
    body = metrics.exposition(settings.metrics_dir, [InstallationState()])
    return Response(body, content_type=metrics.CONTENT_TYPE, headers={"Cache-Control": "no-store"})


class InstallationState(Collector):
    """What the database and the broker say now, for the whole installation."""

    def collect(self) -> Iterator[Metric]:
        clips = GaugeMetricFamily("videocoach_clips", "Clips by status", labels=["status"])
        for status, count in dispatch.clips_by_status().items():
            clips.add_metric([status], count)
        yield clips
        yield GaugeMetricFamily(
            "videocoach_oldest_unfinished_clip_seconds",
            "Seconds since the oldest clip still queued or processing was queued (0: none)",
            value=dispatch.oldest_unfinished_s(),
        )
        yield GaugeMetricFamily(
            "videocoach_live_streams_open",
            "Live meeting streams open now, across every web process",
            value=meetings.open_stream_count(),
        )
        yield GaugeMetricFamily(
            "videocoach_workers_alive",
            "Workers that beat lately",
            value=background.live_workers(),
        )
        depth = self._queue_depth()
        if depth is not None:
            yield depth

    def _queue_depth(self) -> GaugeMetricFamily | None:
        """Jobs waiting in each broker queue; left out (and logged) when the broker is away."""
        family = GaugeMetricFamily(
            "videocoach_queue_depth", "Jobs waiting in the broker, by queue", labels=["queue"]
        )
        celery = current_app.extensions["celery"]
        try:
            with celery.connection_for_read() as connection:
                connection.ensure_connection(max_retries=1, timeout=BROKER_TIMEOUT_S)
                channel = connection.default_channel
                for queue in dispatch.queue_names(current_settings()):
                    family.add_metric([queue], _waiting_in(channel, queue))
        except jobs.BROKER_ERRORS as error:
            log.warning("queue depth left out of /metrics: the broker is unreachable (%s)", error)
            return None
        return family


def _waiting_in(channel: object, queue: str) -> int:
    try:
        _name, count, _consumers = channel.queue_declare(queue=queue, passive=True)  # type: ignore[attr-defined]
    except ChannelError:  # no worker declared it yet: nothing waits there
        return 0
    return int(count)
