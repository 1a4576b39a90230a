"""The embedded job transport under load: many producers while a consumer drains.

kombu's stock filesystem transport fails this (a consumer takes a half-written message
and dies with JSONDecodeError); run with TRANSPORT=filesystem to see it.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from pathlib import Path

import pytest
from kombu import Connection, Exchange, Queue

from workers import embedded_transport

PRODUCERS = 6
MESSAGES_EACH = 40
# Large enough that writing one takes a while: the window a reader could fall into.
PAYLOAD_BYTES = 256 * 1024
TRANSPORT = os.environ.get("VIDEOCOACH_TEST_TRANSPORT", embedded_transport.SCHEME)


def _options(root: Path) -> dict[str, object]:
    return {
        "data_folder_in": str(root / "queue"),
        "data_folder_out": str(root / "queue"),
        "control_folder": str(root / "queue-control"),
        "store_processed": False,
        "polling_interval": 0.01,
    }


def _connection(root: Path) -> Connection:
    import workers.embedded_transport  # noqa: F401  (registers the scheme in this process)

    return Connection(f"{TRANSPORT}://", transport_options=_options(root))


# kombu keeps bindings in a process-wide state: each test binds a queue of its own.
QUEUE = Queue("stress", Exchange("stress", type="direct"), routing_key="stress")
ASIDE = Queue("aside", Exchange("aside", type="direct"), routing_key="aside")


def _produce(root: str, producer: int) -> None:
    with _connection(Path(root)) as connection:
        publish = connection.Producer().publish
        for n in range(MESSAGES_EACH):
            body = {"id": f"{producer}-{n}", "padding": "x" * PAYLOAD_BYTES}
            publish(body, exchange=QUEUE.exchange, routing_key="stress", declare=[QUEUE])


def test_a_consumer_never_reads_a_half_written_message(tmp_path: Path) -> None:
    for name in ("queue", "queue-control"):
        (tmp_path / name).mkdir()
    received: list[str] = []
    with (
        _connection(tmp_path) as connection,
        connection.Consumer(
            QUEUE, callbacks=[lambda body, message: (received.append(body["id"]), message.ack())]
        ),
    ):
        context = multiprocessing.get_context("spawn")
        producers = [
            context.Process(target=_produce, args=(str(tmp_path), p)) for p in range(PRODUCERS)
        ]
        for process in producers:
            process.start()
        deadline = time.monotonic() + 120
        expected = PRODUCERS * MESSAGES_EACH
        while len(received) < expected and time.monotonic() < deadline:
            try:
                connection.drain_events(timeout=0.5)
            except TimeoutError:
                continue
        for process in producers:
            process.join(timeout=60)
            assert process.exitcode == 0
    assert sorted(received) == sorted(
        f"{p}-{n}" for p in range(PRODUCERS) for n in range(MESSAGES_EACH)
    )
    assert not list((tmp_path / "queue").iterdir())


def test_a_file_that_is_not_a_message_is_set_aside_and_the_consumer_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    if TRANSPORT != embedded_transport.SCHEME:
        pytest.skip("stock transport")
    (tmp_path / "queue").mkdir()
    received: list[str] = []
    with _connection(tmp_path) as connection:
        producer = connection.Producer()
        producer.publish(
            {"id": "before"}, exchange=ASIDE.exchange, routing_key="aside", declare=[ASIDE]
        )
        # A broken file sorted between two good ones (kombu orders by the leading number).
        first = sorted((tmp_path / "queue").iterdir())[0].name
        stamp = int(first.split("_")[0])
        broken = tmp_path / "queue" / f"{stamp + 1}_broken.aside.msg"
        broken.write_bytes(b'{"body": "cut off')
        time.sleep(0.01)
        producer.publish({"id": "after"}, exchange=ASIDE.exchange, routing_key="aside")
        with connection.Consumer(
            ASIDE, callbacks=[lambda body, message: (received.append(body["id"]), message.ack())]
        ):
            deadline = time.monotonic() + 10
            while len(received) < 2 and time.monotonic() < deadline:
                try:
                    connection.drain_events(timeout=0.5)
                except TimeoutError:
                    continue
    assert received == ["before", "after"]
    assert (tmp_path / "queue-unreadable" / broken.name).read_bytes() == b'{"body": "cut off'
    assert "is not a readable message" in caplog.text
