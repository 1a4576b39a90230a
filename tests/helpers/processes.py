"""Child processes that never outlive the test or benchmark that started them."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
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


def wait_until_answering(
    url: str,
    children: list[subprocess.Popen],
    *,
    path: str = "/healthz",
    timeout: float = 90,
    what_went_wrong: Callable[[], str] = lambda: "",
) -> None:
    """Until GET url+path answers 200. Fails at once when one of `children` (the server
    and what it needs) has exited, with what `what_went_wrong()` says (e.g. its log)."""
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for child in children:
            assert child.poll() is None, f"exited early ({child.returncode}):\n{what_went_wrong()}"
        try:
            if requests.get(url + path, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url}{path} did not answer in {timeout:.0f} s:\n{what_went_wrong()}")
