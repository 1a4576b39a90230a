from __future__ import annotations

import base64
import os
import re
import secrets
import stat
import subprocess
import sys
import uuid

import pytest

from videocoach import config
from videocoach.config import Settings, normalise_database_url
from videocoach.errors import ConfigError


def test_embedded_default_lives_in_the_data_directory(tmp_path):
    settings = Settings.from_env({"VIDEOCOACH_DATA_DIR": str(tmp_path)})
    assert settings.database_url == f"sqlite:///{tmp_path / 'videocoach.sqlite3'}"
    assert settings.storage_url == f"file://{tmp_path / 'media'}"
    assert settings.ratelimit_storage_uri == "memory://"
    assert not settings.production


def test_secret_key_is_generated_once_with_mode_0600(tmp_path):
    first = Settings.from_env({"VIDEOCOACH_DATA_DIR": str(tmp_path)}).secret_key
    second = Settings.from_env({"VIDEOCOACH_DATA_DIR": str(tmp_path)}).secret_key
    assert first == second and len(first) >= 32
    mode = stat.S_IMODE((tmp_path / "secret_key").stat().st_mode)
    assert mode == 0o600


def test_secret_key_from_the_environment_wins(tmp_path):
    settings = Settings.from_env({"VIDEOCOACH_DATA_DIR": str(tmp_path), "SECRET_KEY": "k" * 40})
    assert settings.secret_key == "k" * 40
    assert not (tmp_path / "secret_key").exists()


def test_postgres_urls_use_psycopg3():
    assert normalise_database_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_database_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_database_url("sqlite:///x") == "sqlite:///x"


def test_redis_url_moves_rate_limits_to_redis(tmp_path):
    settings = Settings.from_env(
        {"VIDEOCOACH_DATA_DIR": str(tmp_path), "REDIS_URL": "redis://127.0.0.1:6379/0"}
    )
    assert settings.ratelimit_storage_uri == "redis://127.0.0.1:6379/0"


def test_production_refuses_unsafe_settings(tmp_path):
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"VIDEOCOACH_DATA_DIR": str(tmp_path), "VIDEOCOACH_ENV": "production"})
    text = caught.value.explain()
    assert "SECRET_KEY" in text and "DATABASE_URL" in text and "REDIS_URL" in text
    assert "CELERY_BROKER_URL" in text
    assert not (tmp_path / "secret_key").exists()  # production never invents a key


def test_production_accepts_safe_settings(tmp_path):
    settings = Settings.from_env(
        {
            "VIDEOCOACH_DATA_DIR": str(tmp_path),
            "VIDEOCOACH_ENV": "production",
            "SECRET_KEY": secrets.token_urlsafe(48),
            "DATABASE_URL": "postgresql://videocoach@db/videocoach",
            "REDIS_URL": "redis://redis:6379/0",
            "CELERY_BROKER_URL": "redis://redis:6379/1",
            "VIDEOCOACH_PUBLIC_URL": "https://coach.school.example",
        }
    )
    assert settings.production


def test_production_needs_redis_for_meetings_across_processes(tmp_path):
    with pytest.raises(ConfigError, match="REDIS_URL must be set so meeting events"):
        Settings.from_env(
            {
                "VIDEOCOACH_DATA_DIR": str(tmp_path),
                "VIDEOCOACH_ENV": "production",
                "SECRET_KEY": secrets.token_urlsafe(48),
                "DATABASE_URL": "postgresql://videocoach@db/videocoach",
                "RATELIMIT_STORAGE_URI": "redis://redis:6379/2",
                "CELERY_BROKER_URL": "redis://redis:6379/1",
            }
        )


def test_cli_refuses_to_start_with_a_clear_message(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "videocoach.cli", "db", "upgrade"],
        env={
            "PATH": "/usr/bin:/bin",
            "VIDEOCOACH_DATA_DIR": str(tmp_path),
            "VIDEOCOACH_ENV": "production",
            "SECRET_KEY": "short",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "cannot start with this configuration" in result.stderr
    assert "SECRET_KEY" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_signup_setting_is_explained(tmp_path):
    with pytest.raises(ConfigError, match="VIDEOCOACH_SIGNUP"):
        Settings.from_env({"VIDEOCOACH_DATA_DIR": str(tmp_path), "VIDEOCOACH_SIGNUP": "maybe"})


def test_non_numeric_limits_are_explained(tmp_path):
    with pytest.raises(ConfigError, match="VIDEOCOACH_MAX_UPLOAD_BYTES must be a number"):
        Settings.from_env(
            {"VIDEOCOACH_DATA_DIR": str(tmp_path), "VIDEOCOACH_MAX_UPLOAD_BYTES": "10GB"}
        )


def test_production_refuses_inline_jobs(tmp_path):
    with pytest.raises(ConfigError, match="VIDEOCOACH_TASKS_EAGER"):
        Settings.from_env(
            {
                "VIDEOCOACH_DATA_DIR": str(tmp_path),
                "VIDEOCOACH_ENV": "production",
                "VIDEOCOACH_TASKS_EAGER": "1",
            }
        )


def test_a_bad_storage_url_is_a_configuration_error(tmp_path):
    from videocoach import create_app

    with pytest.raises(ConfigError, match="VIDEOCOACH_STORAGE"):
        create_app({"VIDEOCOACH_DATA_DIR": str(tmp_path), "VIDEOCOACH_STORAGE": "ftp://x"})


# --- secrets: read from files, and never an example value in production -----------------

EXAMPLE_SECRET_KEY = "CHANGE-ME-generate-a-random-value-of-at-least-32-characters"
GENERATE_KEY = """python -c "import secrets; print(secrets.token_urlsafe(48))\""""


def production_env(tmp_path, **overrides: str | None) -> dict[str, str]:
    """Settings production accepts, with `overrides` (None removes a setting)."""
    env: dict[str, str | None] = {
        "VIDEOCOACH_DATA_DIR": str(tmp_path / "data"),
        "VIDEOCOACH_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "DATABASE_URL": f"postgresql://videocoach:{secrets.token_hex(24)}@db/videocoach",
        "REDIS_URL": "redis://redis:6379/0",
        "CELERY_BROKER_URL": "redis://redis:6379/1",
        "VIDEOCOACH_PUBLIC_URL": "https://coach.school.example",
    }
    env.update(overrides)
    return {name: value for name, value in env.items() if value is not None}


def refusals(env: dict[str, str]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(env)
    return caught.value.problems


def only_refusal(env: dict[str, str]) -> str:
    problems = refusals(env)
    assert len(problems) == 1, problems
    return problems[0]


def test_production_accepts_generated_secrets(tmp_path):
    for key in (
        secrets.token_urlsafe(48),
        secrets.token_urlsafe(24),
        secrets.token_hex(16),
        uuid.uuid4().hex,
        base64.b64encode(os.urandom(32)).decode(),
    ):
        assert Settings.from_env(production_env(tmp_path, SECRET_KEY=key)).secret_key == key


@pytest.mark.parametrize(
    "key",
    [
        EXAMPLE_SECRET_KEY,  # docker/.env.example before: 59 characters, passed the length check
        EXAMPLE_SECRET_KEY.lower(),
        "change_me_2PyvhGqAqmKQMDnWbZT0HFRxJ-kO8bzJui4YQPCOfwY",
        "nANszhATuANcmhtA9-8Gw6WlNQWXVSysChangeMeMxWZpycbcKHC9uQMMTAhosYExxjfrCau",
    ],
)
def test_production_refuses_a_placeholder_secret_key(tmp_path, key):
    problem = only_refusal(production_env(tmp_path, SECRET_KEY=key))
    assert problem.startswith("SECRET_KEY is still a placeholder")
    assert GENERATE_KEY in problem
    assert key not in problem


@pytest.mark.parametrize(
    "key", ["s" * 48, "ab" * 20, "0123456789" * 4, "secret-" * 6, "x" * 31 + "yx" * 4]
)
def test_production_refuses_a_secret_key_that_is_not_random(tmp_path, key):
    problem = only_refusal(production_env(tmp_path, SECRET_KEY=key))
    assert problem.startswith("SECRET_KEY does not look random")
    assert GENERATE_KEY in problem


def test_production_refuses_a_short_secret_key_with_the_command_to_make_one(tmp_path):
    problem = only_refusal(production_env(tmp_path, SECRET_KEY="Xq3-9vLm"))
    assert problem.startswith("SECRET_KEY must be at least 32 characters")
    assert GENERATE_KEY in problem


@pytest.mark.parametrize(
    ("name", "url"),
    [
        ("DATABASE_URL", "postgresql://videocoach:CHANGE-ME@postgres:5432/videocoach"),
        ("DATABASE_URL", "postgresql://videocoach:postgres@postgres:5432/videocoach"),
        ("DATABASE_URL", "postgresql://videocoach:password@postgres:5432/videocoach"),
        ("REDIS_URL", "redis://:change-me@redis:6379/0"),
        ("CELERY_BROKER_URL", "redis://default:CHANGEME@redis:6379/1"),
        ("RATELIMIT_STORAGE_URI", "redis://:Change-Me-Too@redis:6379/2"),
        ("SMTP_URL", "smtp://user:password@host:587?starttls=1"),  # the docs' example
        ("SMTP_URL", "smtps://videocoach:CHANGE-ME@mail.example.org"),
    ],
)
def test_production_refuses_example_passwords_in_urls(tmp_path, name, url):
    problem = only_refusal(production_env(tmp_path, **{name: url}))
    assert problem.startswith(f"The password in {name} is a placeholder or a well-known password")
    password = url.split(":")[2].split("@")[0]
    assert url not in problem and f":{password}@" not in problem
    if name == "SMTP_URL":
        assert "the one your mail provider gave you" in problem
    else:
        assert "secrets.token_hex(24)" in problem


@pytest.mark.parametrize("secret", ["CHANGE-ME", "minioadmin"])
def test_production_refuses_an_example_s3_secret(tmp_path, secret):
    env = production_env(tmp_path, AWS_ACCESS_KEY_ID="videocoach-app", AWS_SECRET_ACCESS_KEY=secret)
    assert only_refusal(env).startswith("AWS_SECRET_ACCESS_KEY is a placeholder")


@pytest.mark.parametrize("name", ["DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"])
def test_production_refuses_short_passwords_in_urls(tmp_path, name):
    scheme = "postgresql" if name == "DATABASE_URL" else "redis"
    problem = only_refusal(production_env(tmp_path, **{name: f"{scheme}://u:Xq3v9Lm2@host/1"}))
    assert problem.startswith(f"The password in {name} is too short")
    assert "16 characters" in problem and "secrets.token_hex(24)" in problem


def test_production_takes_a_short_smtp_password_the_provider_gave(tmp_path):
    settings = Settings.from_env(production_env(tmp_path, SMTP_URL="smtps://me:Xq3v9Lm2@mail.org"))
    assert settings.smtp_url == "smtps://me:Xq3v9Lm2@mail.org"


@pytest.mark.parametrize("password", ["CHANGE-ME", "change-me", "postgres", "xxxxxxxxxxxxxxxxxxxx"])
def test_production_refuses_a_placeholder_postgres_password(tmp_path, password):
    problem = only_refusal(production_env(tmp_path, POSTGRES_PASSWORD=password))
    assert problem.startswith("POSTGRES_PASSWORD is")
    assert "secrets.token_hex(24)" in problem


def test_production_accepts_a_random_postgres_password(tmp_path):
    password = secrets.token_hex(24)
    settings = Settings.from_env(production_env(tmp_path, POSTGRES_PASSWORD=password))
    assert settings.postgres_password == password
    assert password not in repr(settings)


def test_placeholders_are_fine_outside_production(tmp_path):
    settings = Settings.from_env(
        {
            "VIDEOCOACH_DATA_DIR": str(tmp_path),
            "SECRET_KEY": EXAMPLE_SECRET_KEY,
            "POSTGRES_PASSWORD": "CHANGE-ME",
        }
    )
    assert settings.secret_key == EXAMPLE_SECRET_KEY


SECRET_FILE_SETTINGS = [
    (
        "SECRET_KEY",
        "Z3KmtTD0gZh6rS72H74JXLC29yZ5kYspnBpZn0OqmFco2C8De61ayaa6wA8kZgBL",
        "secret_key",
    ),
    (
        "DATABASE_URL",
        "postgresql://vc:aad542bc273015d27d9523e92ed6e30cc800d049@db/vc",
        "database_url",
    ),
    ("REDIS_URL", "redis://:41fb75e0223f8a059c428965e3c41701d97599a4@redis:6379/0", "redis_url"),
    (
        "CELERY_BROKER_URL",
        "redis://:d08ee388dc373234e2a7c36c4246518208fa561f@r:6379/1",
        "celery_broker_url",
    ),
    (
        "RATELIMIT_STORAGE_URI",
        "redis://:e2ef21b283ea0b04200cc633611d36f36c167d86@r:6379/2",
        "ratelimit_storage_uri",
    ),
    (
        "SMTP_URL",
        "smtps://vc:85818ec71f2e669641242d5485570a2904837997@mail.example.org",
        "smtp_url",
    ),
    ("AWS_ACCESS_KEY_ID", "videocoach-app", "s3_access_key_id"),
    (
        "AWS_SECRET_ACCESS_KEY",
        "618fa929b05820ad0cb803e7752ae447462c43edf0e37bc0",
        "s3_secret_access_key",
    ),
    ("POSTGRES_PASSWORD", "d5c5591f59f9476c3504bbb5d03ea0479f83a15932b0e427", "postgres_password"),
]


@pytest.mark.parametrize(
    ("name", "value", "attribute"),
    SECRET_FILE_SETTINGS,
    ids=[row[0] for row in SECRET_FILE_SETTINGS],
)
def test_every_secret_setting_can_be_read_from_a_file(tmp_path, name, value, attribute):
    secret = tmp_path / name.lower()
    secret.write_text(value + "\n")  # `echo value > file` leaves a line feed
    env = production_env(tmp_path, **{name: None, f"{name}_FILE": str(secret)})
    settings = Settings.from_env(env)
    expected = normalise_database_url(value) if name == "DATABASE_URL" else value
    assert getattr(settings, attribute) == expected


def test_the_metrics_token_can_be_read_from_a_file(tmp_path):
    (tmp_path / "token").write_text("t0k3n\n")
    env = config.read_secret_files({"VIDEOCOACH_METRICS_TOKEN_FILE": str(tmp_path / "token")})
    assert env["VIDEOCOACH_METRICS_TOKEN"] == "t0k3n"


def test_an_empty_secret_file_means_the_setting_is_unset(tmp_path):
    (tmp_path / "smtp_url").write_text("\n")
    env = production_env(tmp_path, SMTP_URL_FILE=str(tmp_path / "smtp_url"))
    assert Settings.from_env(env).smtp_url is None


def test_a_missing_secret_file_is_one_sentence(tmp_path):
    missing = tmp_path / "secrets" / "secret_key"
    env = production_env(tmp_path, SECRET_KEY=None, SECRET_KEY_FILE=str(missing))
    assert refusals(env) == [
        f"SECRET_KEY_FILE names {missing}, which does not exist: create it with the value "
        "of SECRET_KEY in it, or unset SECRET_KEY_FILE."
    ]


def test_a_directory_in_place_of_a_secret_file_is_explained(tmp_path):
    # What Docker leaves behind when a bind-mounted secret file was missing on the host.
    (tmp_path / "database_url").mkdir()
    env = production_env(
        tmp_path, DATABASE_URL=None, DATABASE_URL_FILE=str(tmp_path / "database_url")
    )
    (problem,) = refusals(env)
    assert problem.startswith(
        f"DATABASE_URL_FILE names {tmp_path / 'database_url'}, which is a directory"
    )


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file")
def test_an_unreadable_secret_file_is_explained(tmp_path):
    secret = tmp_path / "secret_key"
    secret.write_text(secrets.token_urlsafe(48))
    secret.chmod(0)
    env = production_env(tmp_path, SECRET_KEY=None, SECRET_KEY_FILE=str(secret))
    (problem,) = refusals(env)
    assert problem.startswith(f"SECRET_KEY_FILE names {secret}, which this process")


def test_a_secret_file_that_is_not_text_is_explained(tmp_path):
    secret = tmp_path / "secret_key"
    secret.write_bytes(b"\xff\xfe" + os.urandom(40))
    env = production_env(tmp_path, SECRET_KEY=None, SECRET_KEY_FILE=str(secret))
    (problem,) = refusals(env)
    assert problem.startswith(f"SECRET_KEY_FILE names {secret}, which is not UTF-8 text")


def test_a_secret_set_twice_is_refused(tmp_path):
    (tmp_path / "secret_key").write_text(secrets.token_urlsafe(48))
    env = production_env(tmp_path, SECRET_KEY_FILE=str(tmp_path / "secret_key"))
    assert refusals(env) == [
        "SECRET_KEY and SECRET_KEY_FILE are both set: keep only one of them (the file keeps "
        "the secret out of the environment)."
    ]


def test_secret_file_problems_are_refused_in_every_mode(tmp_path):
    with pytest.raises(ConfigError, match="SMTP_URL_FILE names"):
        Settings.from_env(
            {"VIDEOCOACH_DATA_DIR": str(tmp_path), "SMTP_URL_FILE": str(tmp_path / "nope")}
        )


def test_cli_explains_a_missing_secret_file_without_a_traceback(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "videocoach.cli", "db", "upgrade"],
        env={
            "PATH": "/usr/bin:/bin",
            **production_env(tmp_path, SECRET_KEY=None, SECRET_KEY_FILE="/run/secrets/nope"),
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "SECRET_KEY_FILE names /run/secrets/nope, which does not exist" in result.stderr
    assert "Traceback" not in result.stderr


def test_s3_keys_read_from_files_reach_the_s3_client(tmp_path):
    from videocoach import create_app
    from videocoach.storage import STORAGE_KEY

    (tmp_path / "aws_secret").write_text("s3cr3t-from-a-file\n")
    app = create_app(
        {
            "VIDEOCOACH_DATA_DIR": str(tmp_path),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
            "VIDEOCOACH_STORAGE": "s3://media-bucket/videocoach",
            "S3_ENDPOINT_URL": "http://127.0.0.1:9",
            "AWS_ACCESS_KEY_ID": "videocoach-app",
            "AWS_SECRET_ACCESS_KEY": "",
            "AWS_SECRET_ACCESS_KEY_FILE": str(tmp_path / "aws_secret"),
        }
    )
    credentials = app.extensions[STORAGE_KEY].client._request_signer._credentials
    assert credentials.access_key == "videocoach-app"
    assert credentials.secret_key == "s3cr3t-from-a-file"


# Trusted proxies and the live channel prefix


def test_no_proxy_is_trusted_unless_told(tmp_path):
    settings = Settings.from_env({"VIDEOCOACH_DATA_DIR": str(tmp_path)})
    assert settings.trusted_proxies.trusts_nobody
    assert not settings.trusted_proxies.trusts("127.0.0.1")


def test_trusted_proxies_are_a_count_or_addresses_and_networks(tmp_path):
    def trusted(value: str):
        env = {"VIDEOCOACH_DATA_DIR": str(tmp_path), "VIDEOCOACH_TRUSTED_PROXIES": value}
        return Settings.from_env(env).trusted_proxies

    assert trusted("2").hops == 2 and not trusted("2").networks
    assert trusted(" 0 ").trusts_nobody
    listed = trusted("127.0.0.1, 10.0.0.0/8,::1,")
    assert [str(n) for n in listed.networks] == ["127.0.0.1/32", "10.0.0.0/8", "::1/128"]
    assert listed.trusts("10.20.30.40") and listed.trusts("::1")
    assert not listed.trusts("192.0.2.1") and not listed.trusts(None)


@pytest.mark.parametrize("value", ["proxy", "10.0.0.0/8, caddy", "-1", "1.5", "10.0.0.0/33", ","])
def test_a_bad_trusted_proxies_value_is_one_sentence(tmp_path, value):
    env = {"VIDEOCOACH_DATA_DIR": str(tmp_path), "VIDEOCOACH_TRUSTED_PROXIES": value}
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(env)
    assert len(caught.value.problems) == 1
    assert "VIDEOCOACH_TRUSTED_PROXIES must be empty (no proxy), a number" in str(caught.value)
    assert "not host names" in str(caught.value)


def test_the_live_channel_prefix_is_one_per_database_by_default(tmp_path):
    def prefix(**env: str) -> str:
        return Settings.from_env({"VIDEOCOACH_DATA_DIR": str(tmp_path), **env}).live_channel_prefix

    school_a = prefix(DATABASE_URL="postgresql://vc:first-password@db:5432/school_a")
    assert re.fullmatch(r"videocoach:[0-9a-f]{12}:live:", school_a)
    # Every process of one installation: the same, whatever the password or its spelling.
    assert prefix(DATABASE_URL="postgres://vc:rotated-password@db:5432/school_a") == school_a
    assert prefix(DATABASE_URL="postgresql://vc:first-password@db:5432/school_b") != school_a
    assert "first-password" not in school_a
    assert prefix() != prefix(VIDEOCOACH_DATA_DIR=str(tmp_path / "other"))  # two SQLite files
    assert prefix(VIDEOCOACH_LIVE_CHANNEL_PREFIX="school-a:live:") == "school-a:live:"


@pytest.mark.parametrize("value", ["school*", "a b", "live[1]", "x" * 101, "école:"])
def test_a_bad_live_channel_prefix_is_explained(tmp_path, value):
    env = {"VIDEOCOACH_DATA_DIR": str(tmp_path), "VIDEOCOACH_LIVE_CHANNEL_PREFIX": value}
    with pytest.raises(ConfigError, match="VIDEOCOACH_LIVE_CHANNEL_PREFIX may hold only"):
        Settings.from_env(env)
