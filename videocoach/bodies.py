"""Request bodies as the web server hands them over: a chunked body whose framing is
broken is the client's mistake, a 400 with a sentence, never a 500.

Each server reports a broken chunk while the app reads the body, each in its own way:
cheroot (the embedded server) raises ValueError("Bad chunked transfer size: ..."),
gunicorn InvalidChunkSize or ChunkMissingTerminator (both OSErrors), werkzeug's
development server OSError("Invalid chunk header"). Wrapping the body at the WSGI
boundary turns all of them into one MalformedBody, wherever the body is read: a JSON
view, a form, the CSRF check, the tus PATCH. An OSError that only means the client went
away stays an OSError (a tus upload keeps what arrived and answers as for a dropped
connection).

Only chunked bodies are wrapped. A body with a Content-Length has no framing to break,
and stays the server's own object: the tus endpoint reads it directly and splices it
from the socket (clips/tus.request_body, clips/zerocopy).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from videocoach.errors import DomainError

# What werkzeug's development server (werkzeug.serving.DechunkedInput) raises.
_WERKZEUG_FRAMING_ERRORS = frozenset({"Invalid chunk header", "Negative chunk length not allowed"})
# gunicorn.http.errors.NoMoreData: the connection ended mid-body, nothing malformed.
_GUNICORN_DISCONNECT = "NoMoreData"


class MalformedBody(DomainError):
    status = 400
    code = "bad_request_body"
    default_message = (
        "The request body could not be read: its chunked transfer encoding is broken. "
        "Send the request again."
    )


def is_broken_framing(error: Exception) -> bool:
    """Does this error, raised by the server's body reader, mean the framing is broken?"""
    if isinstance(error, ValueError):  # cheroot's ChunkedRFile
        return True
    if type(error).__module__ == "gunicorn.http.errors":  # not imported: cheroot runs anywhere
        return type(error).__name__ != _GUNICORN_DISCONNECT
    return isinstance(error, OSError) and str(error) in _WERKZEUG_FRAMING_ERRORS


class GuardedBody:
    """The server's wsgi.input for a chunked request, raising MalformedBody for broken
    framing, again on every later read (what follows a broken chunk is not the body)."""

    def __init__(self, raw: Any):
        self.raw = raw
        self.broken = False

    def _guard(self, read: Callable[..., Any], *args: Any) -> Any:
        if self.broken:
            raise MalformedBody()
        try:
            return read(*args)
        except Exception as error:
            if not is_broken_framing(error):
                raise
            self.broken = True
            raise MalformedBody() from error

    def read(self, *size: Any) -> bytes:
        return self._guard(self.raw.read, *size)  # type: ignore[no-any-return]

    def readline(self, *size: Any) -> bytes:
        return self._guard(self.raw.readline, *size)  # type: ignore[no-any-return]

    def readlines(self, *hint: Any) -> list[bytes]:
        return self._guard(self.raw.readlines, *hint)  # type: ignore[no-any-return]

    def __iter__(self) -> Iterator[bytes]:
        while line := self.readline():
            yield line

    def close(self) -> None:
        close = getattr(self.raw, "close", None)
        if close is not None:
            close()


WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class GuardChunkedBodies:
    """WSGI middleware: every chunked request body is read through a GuardedBody."""

    def __init__(self, wsgi_app: WsgiApp):
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]):
        if "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
            environ["wsgi.input"] = GuardedBody(environ["wsgi.input"])
        return self.wsgi_app(environ, start_response)
