"""Receive a request body straight from the socket into a file, inside the kernel.

On Linux, with the embedded server (cheroot, plain HTTP), `os.splice` moves the bytes
socket -> pipe -> file without copying them through Python: a 2 GiB upload then costs
about what `cp` costs (bench/upload_bench.py). Anything else (TLS, another server,
another OS) returns None from `for_body`, and the caller reads the body as usual.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import select
import socket
import ssl
from typing import Any

F_SETPIPE_SZ = 1031  # from <fcntl.h>; not exported by Python's fcntl module
PIPE_BYTES = 1024 * 1024


class SocketSplicer:
    """Moves a cheroot request body (KnownLengthRFile) into a file descriptor."""

    def __init__(self, body: Any, reader: Any, sock: socket.socket):
        self.body, self.reader, self.sock = body, reader, sock
        self.written = 0  # bytes stored so far, kept up to date for a dropped connection

    @classmethod
    def for_body(cls, body: Any) -> SocketSplicer | None:
        reader = getattr(body, "rfile", None)
        sock = getattr(getattr(reader, "raw", None), "_sock", None)
        if (
            not hasattr(os, "splice")
            or not isinstance(getattr(body, "remaining", None), int)
            or not hasattr(reader, "has_data")
            or not isinstance(sock, socket.socket)
            or isinstance(sock, ssl.SSLSocket)  # encrypted bytes cannot be spliced
        ):
            return None
        return cls(body, reader, sock)

    @property
    def remaining(self) -> int:
        return int(self.body.remaining)

    def copy_into(self, fd: int, offset: int) -> None:
        """Store the whole body at `offset`; raises OSError if the client goes away."""
        if self.reader.has_data():  # bytes the server already read past the headers
            head = self.reader.read(min(len(self.reader.peek(1)), self.remaining))
            os.pwrite(fd, head, offset)
            self._advance(len(head))
        pipe_out, pipe_in = os.pipe()
        try:
            with contextlib.suppress(OSError):  # the default 64 KiB pipe works, just slower
                fcntl.fcntl(pipe_in, F_SETPIPE_SZ, PIPE_BYTES)
            timeout = self.sock.gettimeout()
            poller = select.poll()
            poller.register(self.sock.fileno(), select.POLLIN)
            while self.remaining:
                try:
                    moved = os.splice(self.sock.fileno(), pipe_in, min(PIPE_BYTES, self.remaining))
                except BlockingIOError:
                    if not poller.poll(None if timeout is None else timeout * 1000):
                        raise TimeoutError("the client stopped sending") from None
                    continue
                if moved == 0:
                    raise ConnectionResetError("the client closed the connection")
                while moved:
                    stored = os.splice(pipe_out, fd, moved, offset_dst=offset + self.written)
                    moved -= stored
                    self._advance(stored)
        finally:
            os.close(pipe_out)
            os.close(pipe_in)

    def _advance(self, count: int) -> None:
        self.written += count
        self.body.remaining -= count  # the server must not try to read these bytes again
