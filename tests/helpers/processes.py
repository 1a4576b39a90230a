"""Child processes that never outlive the test or benchmark that started them."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


def stop(child: subprocess.Popen, timeout: float = 30) -> None:
    """Ask `child` to end (SIGTERM) and kill it if it is still running after `timeout` s,
    so a hung server or worker cannot keep a run from finishing."""
    child.terminate()
    try:
        child.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        child.kill()


@contextmanager
def running(args: list[str], **popen: Any) -> Iterator[subprocess.Popen]:
    """`subprocess.Popen(args, **popen)`, stopped with `stop()` when the block ends, however
    it ends."""
    child = subprocess.Popen(args, **popen)
    try:
        yield child
    finally:
        stop(child)
