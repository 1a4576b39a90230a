"""Outgoing email: SMTP when SMTP_URL is set, otherwise kept as a file in the outbox folder.

The log names each message's recipient and subject, never its text: emails carry sign-in
and reset links.
"""

from __future__ import annotations

import logging
import secrets
import smtplib
import ssl
from email.headerregistry import Address
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from videocoach import jobs, limits
from videocoach.config import current_settings
from videocoach.db import utcnow
from videocoach.observability import metrics

log = logging.getLogger(__name__)
SMTP_TIMEOUT_S = 15
# Inside the data folder: where messages go when SMTP_URL is not set.
OUTBOX = "outbox"


def send(to: str, subject: str, body: str, headers: dict[str, str] | None = None) -> bool:
    """Send one plain-text message; True when it was handed to SMTP (or logged).

    `headers` adds more header fields (e.g. List-Unsubscribe). Every header value is one
    line (the policy writes RFC 2047 encoded words for what is not ASCII): a subject names
    people, and a name stored before names were cleaned may still hold a line break, which
    would stop the message from being built at all. `to` is exactly one address.
    """
    settings = current_settings()
    subject = limits.one_line(subject)
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = Address(addr_spec=to)
    message["Subject"] = subject
    message.set_content(body)
    if headers:
        # Long URL headers (List-Unsubscribe) must stay plain: at the default 78 columns the
        # policy would wrap them in RFC 2047 encoded words, which mail clients do not decode.
        message.policy = message.policy.clone(max_line_length=998)
        for name, value in headers.items():
            message[name] = limits.one_line(value)
    if not settings.smtp_url:
        kept = keep_in_outbox(settings.data_dir / OUTBOX, message)
        log.info("email to %s (%r) not sent, SMTP_URL is not set: kept in %s", to, subject, kept)
        metrics.email_handled("kept")
        return True
    try:
        deliver(settings.smtp_url, message)
    except (OSError, smtplib.SMTPException) as error:
        log.error("could not send email to %s (%r): %s", to, subject, error)
        metrics.email_handled("failed")
        return False
    log.info("email sent to %s (%r)", to, subject)
    metrics.email_handled("sent")
    return True


def keep_in_outbox(folder: Path, message: EmailMessage) -> Path:
    """Write the message as an .eml file (readable by any mail program); its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{utcnow():%Y%m%dT%H%M%S.%fZ}-{secrets.token_hex(4)}.eml"
    path.write_bytes(message.as_bytes())
    return path


def deliver(smtp_url: str, message: EmailMessage) -> None:
    """smtp://user:pass@host:port (STARTTLS with ?starttls=1) or smtps://host:port."""
    parts = urlsplit(smtp_url)
    options = parse_qs(parts.query)
    host = parts.hostname or "localhost"
    if parts.scheme == "smtps":
        client: smtplib.SMTP = smtplib.SMTP_SSL(
            host, parts.port or 465, timeout=SMTP_TIMEOUT_S, context=ssl.create_default_context()
        )
    else:
        client = smtplib.SMTP(host, parts.port or 25, timeout=SMTP_TIMEOUT_S)
    with client:
        if options.get("starttls", ["0"])[0] in {"1", "true", "yes"}:
            client.starttls(context=ssl.create_default_context())
        if parts.username:
            client.login(unquote(parts.username), unquote(parts.password or ""))
        client.send_message(message)


SEND_EMAIL = "videocoach.send_email"


def queue(to: str, subject: str, body: str) -> None:
    """Send later, from a worker, once the request's transaction has committed."""
    jobs.enqueue_after_commit(SEND_EMAIL, to, subject, body)
