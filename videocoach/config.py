"""One Settings object, read from environment variables, with the embedded defaults.

With nothing set, videocoach runs the "embedded default" of docs/configuration.md:
everything lives under ./instance (SQLite, local files, a generated secret key).
Setting VIDEOCOACH_ENV=production switches on the checks that refuse unsafe values.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import secrets
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import unquote, urlsplit

from videocoach.errors import ConfigError
from videocoach.proxies import TrustedProxies

MIN_SECRET_KEY_LENGTH = 32
# Passwords inside DATABASE_URL, REDIS_URL, ... and POSTGRES_PASSWORD, in production.
MIN_PASSWORD_LENGTH = 16
KEY_COMMAND = 'python -c "import secrets; print(secrets.token_urlsafe(48))"'
# Hex: nothing to percent-encode inside a URL.
HEX_COMMAND = 'python -c "import secrets; print(secrets.token_hex(24))"'

# Settings that may carry a secret. Each can also be given as <NAME>_FILE, the path of a
# file that holds the value (compose or Kubernetes secrets), which keeps it out of the
# environment that `docker inspect` and /proc/<pid>/environ show.
SECRET_SETTINGS = (
    "SECRET_KEY",
    "DATABASE_URL",
    "REDIS_URL",
    "CELERY_BROKER_URL",
    "RATELIMIT_STORAGE_URI",
    "SMTP_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "POSTGRES_PASSWORD",
    "VIDEOCOACH_METRICS_TOKEN",
)
# Passwords from examples and defaults (docs, .env.example, images): refused in production,
# whatever their case. A placeholder (CHANGE-ME, change_me, ChangeMe...) is refused anywhere
# inside a value.
WELL_KNOWN_PASSWORDS = frozenset(
    {"password", "passw0rd", "secret", "admin", "root", "postgres", "videocoach", "redis"}
    | {"minioadmin", "example", "test", "default", "changeit", "12345678", "123456789"}
)


def read_secret_files(env: Mapping[str, str]) -> dict[str, str]:
    """`env` with NAME set from the file that NAME_FILE names, for each of SECRET_SETTINGS.

    Surrounding white space (the line feed `echo` leaves) is dropped; an empty file is the
    same as an empty variable: unset."""
    resolved = dict(env)
    problems: list[str] = []
    for name in SECRET_SETTINGS:
        path = (env.get(f"{name}_FILE") or "").strip()
        if not path:
            continue
        if env.get(name):
            problems.append(
                f"{name} and {name}_FILE are both set: keep only one of them (the file keeps "
                "the secret out of the environment)."
            )
            continue
        try:
            resolved[name] = Path(path).read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            problems.append(
                f"{name}_FILE names {path}, which does not exist: create it with the value of "
                f"{name} in it, or unset {name}_FILE."
            )
        except IsADirectoryError:
            problems.append(
                f"{name}_FILE names {path}, which is a directory (Docker makes one when the "
                "secret's file is missing on the host): put the file in its place."
            )
        except PermissionError:
            problems.append(
                f"{name}_FILE names {path}, which this process (user id {os.geteuid()}) may "
                "not read: make it readable by that user."
            )
        except UnicodeDecodeError:
            problems.append(
                f"{name}_FILE names {path}, which is not UTF-8 text: write {name} "
                "into it as plain text."
            )
        except OSError as error:
            problems.append(
                f"{name}_FILE names {path}, which cannot be read ({error.strerror}): fix the "
                f"file or unset {name}_FILE."
            )
    if problems:
        raise ConfigError(problems)
    return resolved


def is_placeholder(value: str) -> bool:
    """An example value: CHANGE-ME in any spelling anywhere, or a well-known password."""
    letters = re.sub(r"[^a-z0-9]", "", value.lower())
    return "changeme" in letters or value.strip().lower() in WELL_KNOWN_PASSWORDS


def looks_random(value: str, *, min_distinct: int, min_bits: float = 0.0) -> bool:
    """False for what a person types instead of generating: one short run repeated
    ('ssss', 'abcabc'), few distinct characters, or little information going by how
    often each character occurs (secrets.token_hex(16), the least a key should be, never
    measured below 90 bits in 200,000 tries; 's' * 48 is 0, 'ab' * 20 is 40)."""
    length = len(value)
    for period in range(1, length // 2 + 1):
        if all(value[i] == value[i - period] for i in range(period, length)):
            return False
    counts = Counter(value)
    bits = -sum(n * math.log2(n / length) for n in counts.values())
    return len(counts) >= min_distinct and bits >= min_bits


def url_password(url: str | None) -> str | None:
    """The password inside a URL's user information, percent-decoded."""
    if not url:
        return None
    try:
        password = urlsplit(url).password
    except ValueError:
        return None
    return unquote(password) if password else None


def _flag(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _csv(value: str | None) -> tuple[str, ...]:
    if not value:
        return ()
    return tuple(part.strip().lower().lstrip("@") for part in value.split(",") if part.strip())


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError([f"{name} must be a number, not {raw!r}."]) from None
    if value <= 0:
        raise ConfigError([f"{name} must be greater than zero."])
    return value


def _allowance(env: Mapping[str, str], name: str, default: int) -> int:
    """A whole number of things allowed, where 0 means no limit."""
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    if not (raw.isascii() and raw.isdigit()):
        raise ConfigError([f"{name} must be a whole number (0 for no limit), not {raw!r}."])
    return int(raw)


def _days_kept(env: Mapping[str, str], name: str) -> int | None:
    """A retention period in whole days; unset or empty: kept forever (None)."""
    raw = (env.get(name) or "").strip()
    if not raw:
        return None
    if not (raw.isascii() and raw.isdigit()) or int(raw) < 1:
        raise ConfigError(
            [
                f"{name} must be a whole number of days (1 or more), or unset to keep forever; "
                f"not {raw!r}."
            ]
        )
    return int(raw)


def _log_format(env: Mapping[str, str], production: bool) -> str:
    raw = (env.get("VIDEOCOACH_LOG_FORMAT") or "").strip().lower()
    if not raw:
        return "json" if production else "plain"
    if raw not in {"plain", "json"}:
        raise ConfigError([f"VIDEOCOACH_LOG_FORMAT must be 'plain' or 'json', not {raw!r}."])
    return raw


def _path(raw: str | None) -> Path | None:
    return Path(raw).resolve() if raw and raw.strip() else None


# It starts a Redis channel pattern (PSUBSCRIBE prefix*), where * ? [ ] \ would match
# other installations' channels or miss this one's.
LIVE_CHANNEL_PREFIX = re.compile(r"[A-Za-z0-9:._/-]{1,100}")


def without_password(url: str) -> str:
    """`url` with the password taken out of its user information, if it has one."""
    parts = urlsplit(url)
    try:
        password = parts.password
    except ValueError:
        return url
    if password is None:
        return url
    userinfo, _, hostport = parts.netloc.rpartition("@")
    return parts._replace(netloc=f"{userinfo.partition(':')[0]}@{hostport}").geturl()


def default_live_channel_prefix(database_url: str) -> str:
    """One per database: installations sharing a Redis never share live channels (pub/sub
    ignores Redis database numbers), while every process of one installation (same
    DATABASE_URL) does. Without the password, so changing it splits nothing."""
    digest = hashlib.sha256(without_password(database_url).encode()).hexdigest()
    return f"videocoach:{digest[:12]}:live:"


def _live_channel_prefix(env: Mapping[str, str], database_url: str) -> str:
    raw = (env.get("VIDEOCOACH_LIVE_CHANNEL_PREFIX") or "").strip()
    if not raw:
        return default_live_channel_prefix(database_url)
    if not LIVE_CHANNEL_PREFIX.fullmatch(raw):
        raise ConfigError(
            [
                "VIDEOCOACH_LIVE_CHANNEL_PREFIX may hold only letters, digits and : . _ / - "
                f"(at most 100), not {raw!r}: it starts the Redis channel names of this "
                "installation's live events (e.g. school-a:live:)."
            ]
        )
    return raw


def _trusted_proxies(env: Mapping[str, str]) -> TrustedProxies:
    try:
        return TrustedProxies.parse(env.get("VIDEOCOACH_TRUSTED_PROXIES"))
    except ValueError as error:
        raise ConfigError([str(error)]) from None


def normalise_database_url(url: str) -> str:
    """Accept the common `postgres://` and `postgresql://` spellings and use psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


@dataclass(frozen=True)
class Settings:
    production: bool
    data_dir: Path
    database_url: str
    secret_key: str
    storage_url: str
    celery_broker_url: str | None
    redis_url: str | None
    smtp_url: str | None
    mail_from: str
    public_url: str | None
    signup_open: bool
    signup_domains: tuple[str, ...]
    login_rate_limit: str
    ratelimit_storage_uri: str
    invitation_ttl: timedelta
    max_upload_bytes: int
    # Whose X-Forwarded-* headers are believed (videocoach.proxies): by default nobody's.
    trusted_proxies: TrustedProxies
    # Every Redis pub/sub channel of this installation's live events starts with it.
    live_channel_prefix: str
    s3_endpoint_url: str | None = None
    ffmpeg_binary: str = "ffmpeg"
    ffprobe_binary: str = "ffprobe"
    rendition_max_height: int = 720
    max_clip_duration_s: float = 4 * 3600
    tasks_eager: bool = False
    worker_concurrency: int = 2
    celery_queue: str = "videocoach"
    # "plain" lines or one JSON object per line (the production default).
    log_format: str = "plain"
    # /metrics answers only a request bearing this token (unset: /metrics does not exist).
    metrics_token: str | None = field(default=None, repr=False)
    # Where this host's processes (web and workers) keep their metric files.
    metrics_dir_override: Path | None = None
    upload_expiry: timedelta = timedelta(hours=24)
    # Live meeting streams one web process keeps open at once (each holds a thread).
    live_stream_limit: int = 48
    # Across every web process: one person's streams (more replace their oldest), and one
    # meeting's (more are refused), so nobody alone can fill the server.
    live_streams_per_user: int = 4
    live_streams_per_meeting: int = 20
    # Never stuck: a job whose heartbeat is this old was interrupted; a clip is tried at
    # most max_attempts times; workers reconcile every reconcile_every_s; a clip waiting
    # longer than processing_delay is reported to the site admins.
    job_stale_after: timedelta = timedelta(minutes=2)
    max_attempts: int = 3
    reconcile_every_s: float = 60.0
    processing_delay: timedelta = timedelta(minutes=10)
    # Per person and UTC day (0 = no limit): clips uploaded, and their bytes.
    uploads_per_day: int = 20
    upload_bytes_per_day: int = 20 * 1024**3
    # Fair turns: a clip at least long_clip_s long is "long"; each worker keeps
    # short_clip_slots of its slots for the others; while another person's clip waits, one
    # person's clips run at most jobs_per_uploader transcodes at once (0 = no limit).
    long_clip_s: float = 10 * 60
    short_clip_slots: int = 1
    jobs_per_uploader: int = 1
    # Retention (clips.retention), in days; None: kept forever. An original goes once the
    # web rendition exists; a clip goes after a warning to its uploader 14 days ahead.
    keep_originals_days: int | None = None
    keep_clips_days: int | None = None
    debug: bool = False
    extra: dict[str, str] = field(default_factory=dict)
    # The app's own S3 key (else boto3 looks in its usual places); only used as a pair.
    s3_access_key_id: str | None = None
    s3_secret_access_key: str | None = field(default=None, repr=False)
    s3_session_token: str | None = field(default=None, repr=False)
    # Not used by the app: set (compose's old .env), it is checked like DATABASE_URL's.
    postgres_password: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = read_secret_files(os.environ if environ is None else environ)
        production = env.get("VIDEOCOACH_ENV", "").strip().lower() == "production"
        data_dir = Path(env.get("VIDEOCOACH_DATA_DIR") or "instance").resolve()
        database_url = normalise_database_url(
            env.get("DATABASE_URL") or f"sqlite:///{data_dir / 'videocoach.sqlite3'}"
        )
        secret_key = env.get("SECRET_KEY", "")
        if not secret_key and not production:
            secret_key = load_or_create_secret_key(data_dir)
        redis_url = env.get("REDIS_URL") or None
        signup = env.get("VIDEOCOACH_SIGNUP", "open").strip().lower()
        if signup not in {"open", "closed"}:
            raise ConfigError([f"VIDEOCOACH_SIGNUP must be 'open' or 'closed', not {signup!r}."])
        settings = cls(
            production=production,
            data_dir=data_dir,
            database_url=database_url,
            secret_key=secret_key,
            storage_url=env.get("VIDEOCOACH_STORAGE") or f"file://{data_dir / 'media'}",
            celery_broker_url=env.get("CELERY_BROKER_URL") or None,
            redis_url=redis_url,
            smtp_url=env.get("SMTP_URL") or None,
            mail_from=env.get("VIDEOCOACH_MAIL_FROM") or "videocoach <videocoach@localhost>",
            public_url=(env.get("VIDEOCOACH_PUBLIC_URL") or "").rstrip("/") or None,
            signup_open=signup == "open",
            signup_domains=_csv(env.get("VIDEOCOACH_SIGNUP_DOMAINS")),
            login_rate_limit=env.get("VIDEOCOACH_LOGIN_RATE_LIMIT") or "10 per minute;100 per hour",
            ratelimit_storage_uri=env.get("RATELIMIT_STORAGE_URI") or redis_url or "memory://",
            invitation_ttl=timedelta(hours=_number(env, "VIDEOCOACH_INVITATION_TTL_HOURS", 24 * 7)),
            max_upload_bytes=int(_number(env, "VIDEOCOACH_MAX_UPLOAD_BYTES", 10 * 1024**3)),
            trusted_proxies=_trusted_proxies(env),
            live_channel_prefix=_live_channel_prefix(env, database_url),
            s3_endpoint_url=env.get("S3_ENDPOINT_URL") or None,
            ffmpeg_binary=env.get("FFMPEG_BINARY") or "ffmpeg",
            ffprobe_binary=env.get("FFPROBE_BINARY") or "ffprobe",
            rendition_max_height=int(_number(env, "VIDEOCOACH_RENDITION_MAX_HEIGHT", 720)),
            max_clip_duration_s=_number(env, "VIDEOCOACH_MAX_CLIP_HOURS", 4) * 3600,
            tasks_eager=_flag(env.get("VIDEOCOACH_TASKS_EAGER")),
            worker_concurrency=int(_number(env, "VIDEOCOACH_WORKER_CONCURRENCY", 2)),
            celery_queue=env.get("VIDEOCOACH_CELERY_QUEUE") or "videocoach",
            log_format=_log_format(env, production),
            metrics_token=(env.get("VIDEOCOACH_METRICS_TOKEN") or "").strip() or None,
            metrics_dir_override=_path(env.get("VIDEOCOACH_METRICS_DIR")),
            upload_expiry=timedelta(hours=_number(env, "VIDEOCOACH_UPLOAD_EXPIRY_HOURS", 24)),
            live_stream_limit=int(_number(env, "VIDEOCOACH_LIVE_STREAMS", 48)),
            live_streams_per_user=int(_number(env, "VIDEOCOACH_LIVE_STREAMS_PER_USER", 4)),
            live_streams_per_meeting=int(_number(env, "VIDEOCOACH_LIVE_STREAMS_PER_MEETING", 20)),
            job_stale_after=timedelta(seconds=_number(env, "VIDEOCOACH_JOB_STALE_SECONDS", 120)),
            max_attempts=int(_number(env, "VIDEOCOACH_MAX_ATTEMPTS", 3)),
            reconcile_every_s=_number(env, "VIDEOCOACH_RECONCILE_SECONDS", 60),
            processing_delay=timedelta(
                minutes=_number(env, "VIDEOCOACH_PROCESSING_DELAY_MINUTES", 10)
            ),
            uploads_per_day=_allowance(env, "VIDEOCOACH_UPLOADS_PER_DAY", 20),
            upload_bytes_per_day=_allowance(env, "VIDEOCOACH_UPLOAD_BYTES_PER_DAY", 20 * 1024**3),
            long_clip_s=_number(env, "VIDEOCOACH_LONG_CLIP_MINUTES", 10) * 60,
            short_clip_slots=_allowance(env, "VIDEOCOACH_SHORT_CLIP_SLOTS", 1),
            jobs_per_uploader=_allowance(env, "VIDEOCOACH_JOBS_PER_UPLOADER", 1),
            keep_originals_days=_days_kept(env, "VIDEOCOACH_KEEP_ORIGINALS_DAYS"),
            keep_clips_days=_days_kept(env, "VIDEOCOACH_KEEP_CLIPS_DAYS"),
            debug=_flag(env.get("VIDEOCOACH_DEBUG")),
            extra={k: v for k, v in env.items() if k.startswith("VIDEOCOACH_TEST_")},
            s3_access_key_id=env.get("AWS_ACCESS_KEY_ID") or None,
            s3_secret_access_key=env.get("AWS_SECRET_ACCESS_KEY") or None,
            s3_session_token=env.get("AWS_SESSION_TOKEN") or None,
            postgres_password=env.get("POSTGRES_PASSWORD") or None,
        )
        if production:
            settings.check_production_safety()
        return settings

    @property
    def embedded_broker(self) -> bool:
        """No broker configured: jobs travel through files in the data directory."""
        return not self.celery_broker_url

    @property
    def metrics_dir(self) -> Path:
        return self.metrics_dir_override or self.data_dir / "metrics"

    @property
    def embedded_queue_dir(self) -> Path:
        """Where the embedded broker keeps queued jobs, one file each."""
        return self.data_dir / "queue"

    @property
    def uses_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def s3_credentials(self) -> tuple[str, str, str | None] | None:
        """The S3 key pair (and session token) given in the settings, if both halves are."""
        if self.s3_access_key_id and self.s3_secret_access_key:
            return self.s3_access_key_id, self.s3_secret_access_key, self.s3_session_token
        return None

    def _secret_key_problem(self) -> str | None:
        how = (
            f"generate one with `{KEY_COMMAND}` and put it in SECRET_KEY (or in the "
            "file SECRET_KEY_FILE names)."
        )
        if len(self.secret_key) < MIN_SECRET_KEY_LENGTH:
            return f"SECRET_KEY must be at least {MIN_SECRET_KEY_LENGTH} characters long: {how}"
        if is_placeholder(self.secret_key):
            return f"SECRET_KEY is still a placeholder from an example (CHANGE-ME): {how}"
        if not looks_random(self.secret_key, min_distinct=8, min_bits=80):
            return f"SECRET_KEY does not look random (a few characters, repeated): {how}"
        return None

    def _password_problems(self) -> list[str]:
        """Example, well-known or short passwords in the settings (none is ever shown)."""
        database = (
            f"generate one with `{HEX_COMMAND}`, set it on the database "
            "(ALTER ROLE <user> PASSWORD '<new password>') and in DATABASE_URL."
        )
        passwords = [
            ("POSTGRES_PASSWORD is", self.postgres_password, database),
            ("The password in DATABASE_URL is", url_password(self.database_url), database),
        ]
        for name, url in (
            ("REDIS_URL", self.redis_url),
            ("CELERY_BROKER_URL", self.celery_broker_url),
            # REDIS_URL's own value unless set apart: told once.
            ("RATELIMIT_STORAGE_URI", self.ratelimit_storage_uri),
        ):
            if name == "RATELIMIT_STORAGE_URI" and url == self.redis_url:
                continue
            how = f"generate one with `{HEX_COMMAND}`, set it in Redis (requirepass) and in {name}."
            passwords.append((f"The password in {name} is", url_password(url), how))
        problems = []
        for subject, password, how in passwords:
            if not password:
                continue
            if is_placeholder(password):
                problems.append(f"{subject} a placeholder or a well-known password: {how}")
            elif len(password) < MIN_PASSWORD_LENGTH:
                problems.append(
                    f"{subject} too short to be safe (under {MIN_PASSWORD_LENGTH} characters): "
                    + how
                )
            elif not looks_random(password, min_distinct=6):
                problems.append(f"{subject} not random (a few characters, repeated): {how}")
        if is_placeholder(self.s3_secret_access_key or ""):
            problems.append(
                "AWS_SECRET_ACCESS_KEY is a placeholder or a well-known password: generate "
                f"one with `{HEX_COMMAND}`, give it to the app's key on your S3 service and "
                "put it in AWS_SECRET_ACCESS_KEY (or in the file AWS_SECRET_ACCESS_KEY_FILE names)."
            )
        if self.metrics_token and (
            len(self.metrics_token) < MIN_SECRET_KEY_LENGTH
            or is_placeholder(self.metrics_token)
            or not looks_random(self.metrics_token, min_distinct=8, min_bits=80)
        ):
            problems.append(
                "VIDEOCOACH_METRICS_TOKEN is a placeholder, too short (under 32 characters) "
                f"or not random: generate one with `{HEX_COMMAND}` and give the same one "
                "to Prometheus (or unset it to turn /metrics off)."
            )
        # The mail provider chose this one, and its length: only an example is refused.
        if is_placeholder(url_password(self.smtp_url) or ""):
            problems.append(
                "The password in SMTP_URL is a placeholder or a well-known password: put the "
                "one your mail provider gave you in SMTP_URL (percent-encoded), or leave "
                "SMTP_URL empty to keep emails in the outbox folder."
            )
        return problems

    def check_production_safety(self) -> None:
        """Refuse to run production with a setting that would put schools' data at risk."""
        problems: list[str] = []
        secret_key_problem = self._secret_key_problem()
        if secret_key_problem:
            problems.append(secret_key_problem)
        problems += self._password_problems()
        if self.uses_sqlite:
            problems.append(
                "DATABASE_URL must point at PostgreSQL (postgresql://...); SQLite is only "
                "for the single-process embedded default."
            )
        if self.ratelimit_storage_uri.startswith("memory://"):
            problems.append(
                "REDIS_URL (or RATELIMIT_STORAGE_URI) must be set so login rate limits are "
                "shared by every web process."
            )
        if not self.redis_url:
            problems.append(
                "REDIS_URL must be set so meeting events (play, pause, seek, comments) reach "
                "browsers served by every web process."
            )
        if self.embedded_broker:
            problems.append(
                "CELERY_BROKER_URL must be set (e.g. redis://redis:6379/1) so any number of "
                "`videocoach worker` processes can take jobs."
            )
        if self.debug:
            problems.append("VIDEOCOACH_DEBUG must be off in production.")
        if self.tasks_eager:
            problems.append(
                "VIDEOCOACH_TASKS_EAGER must be off in production: it would run the whole "
                "media pipeline inside the upload request."
            )
        if self.public_url and not self.public_url.startswith("https://"):
            problems.append("VIDEOCOACH_PUBLIC_URL must start with https:// in production.")
        if problems:
            raise ConfigError(problems)


def load_or_create_secret_key(data_dir: Path) -> str:
    """Read the secret key kept in the data directory, creating it (mode 0600) on first run."""
    path = data_dir / "secret_key"
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    key = secrets.token_urlsafe(48)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key


def current_settings() -> Settings:
    """The Settings of the running app (services read configuration through this)."""
    from flask import current_app

    return current_app.extensions["videocoach.settings"]
