from __future__ import annotations

import stat
import subprocess
import sys

import pytest

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
            "SECRET_KEY": "s" * 48,
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
                "SECRET_KEY": "s" * 48,
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
