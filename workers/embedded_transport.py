"""The embedded default's job transport: kombu's filesystem transport, made safe to share.

kombu's own `filesystem://` writes a message straight into the queue folder, so a
consumer listing the folder can take a file that is not fully written yet; reading its
JSON then raises inside `drain_events` and kills the worker ("Unrecoverable error:
JSONDecodeError"). Here a message is written and fsynced in a staging folder and renamed
into the queue folder (atomic on one file system), so a reader sees whole messages only.
A reader takes a message by renaming it out of the queue folder (only one reader can
win), and a file that still cannot be read is moved aside to an `unreadable` folder with
a log line instead of stopping the consumer.

The folders all live in the data directory, on one file system:
  queue/             messages waiting, one file each (kombu's naming and ordering)
  queue-staging/     messages being written
  queue-taken/       messages a reader has taken and is reading (gone a moment later)
  queue-unreadable/  files that were not a message; kept for a person to look at
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
import uuid
from pathlib import Path
from queue import Empty
from typing import Any

from kombu.transport import TRANSPORT_ALIASES, filesystem
from kombu.utils.json import dumps, loads

log = logging.getLogger(__name__)

SCHEME = "videocoach-files"
# The exchange table is rewritten in place by a binding consumer; a reader that meets it
# half-written reads again.
TABLE_READ_ATTEMPTS = 20


def _sibling(folder: str, suffix: str) -> Path:
    path = Path(folder.rstrip("/") + suffix)
    path.mkdir(parents=True, exist_ok=True)
    return path


class Channel(filesystem.Channel):
    def _put(self, queue: str, payload: Any, **kwargs: Any) -> None:
        name = f"{round(time.monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        staging = _sibling(self.data_folder_out, "-staging")
        fd, temporary = tempfile.mkstemp(dir=staging, prefix=".msg-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(dumps(payload).encode())
                handle.flush()
                os.fsync(handle.fileno())  # a queued lesson survives a power cut
            os.rename(temporary, os.path.join(self.data_folder_out, name))
        except OSError as error:
            Path(temporary).unlink(missing_ok=True)
            raise filesystem.ChannelError(f"Cannot add {name!r} to the job queue") from error

    def _get(self, queue: str) -> Any:
        wanted = f"{queue}.msg"
        taken_folder = _sibling(self.data_folder_in, "-taken")
        for name in sorted(os.listdir(self.data_folder_in)):
            if name.partition(".")[2] != wanted:
                continue
            taken = taken_folder / name
            try:
                os.rename(os.path.join(self.data_folder_in, name), taken)
            except FileNotFoundError:
                continue  # another reader took it first
            try:
                payload = loads(taken.read_bytes().decode())
            except (ValueError, UnicodeDecodeError) as error:
                self._set_aside(taken, error)
                continue
            taken.unlink(missing_ok=True)
            return payload
        raise Empty()

    def _set_aside(self, path: Path, error: Exception) -> None:
        unreadable = _sibling(self.data_folder_in, "-unreadable")
        os.replace(path, unreadable / path.name)
        log.error(
            "job queue: %s is not a readable message (%s); moved it to %s",
            path.name,
            error,
            unreadable,
        )

    def get_table(self, exchange: str) -> list[Any]:
        for _attempt in range(TABLE_READ_ATTEMPTS - 1):
            try:
                return super().get_table(exchange)
            except (ValueError, json.JSONDecodeError):
                time.sleep(0.005)
        return super().get_table(exchange)


class Transport(filesystem.Transport):
    Channel = Channel
    driver_type = SCHEME
    driver_name = SCHEME


TRANSPORT_ALIASES[SCHEME] = f"{__name__}:Transport"
