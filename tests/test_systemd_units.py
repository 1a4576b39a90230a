"""The systemd recipe in deploy/systemd/ (docs/operations.md, "Running without docker"):
`systemd-analyze verify` on the units, the commands they start, the secrets as
credentials, the hardening and the worker limits compose.yaml has too, the env example
against production mode, and the wrapper that runs one command the way the units do.

`systemd-analyze verify` needs no running systemd (it reads the files; this container
has no systemd as PID 1). The units name /opt/videocoach/venv; the test points them at
this interpreter's bin directory, where gunicorn and videocoach are installed, so verify
also checks that each ExecStart is an executable.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_deploy_files import DOCKER, deployed, dot_env
from videocoach.config import SECRET_SETTINGS, Settings, url_password
from videocoach.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
SYSTEMD = ROOT / "deploy" / "systemd"
BIN = Path(sys.executable).parent
VENV_BIN = "/opt/videocoach/venv/bin/"
SERVICES = ("videocoach-web.service", "videocoach-worker@.service", "videocoach-migrate.service")
RUNNING = ("videocoach-web.service", "videocoach-worker@.service")  # restarted, limited
ENV_EXAMPLE = SYSTEMD / "videocoach.env.example"
COMMON_PART = re.compile(
    r"^# --- the same in every videocoach unit.*?\n(.*?)^# --- end of the common part ---$",
    re.S | re.M,
)


def unit(name: str) -> dict[str, list[str]]:
    """`section.Key` -> every value it is given (systemd lets a key repeat)."""
    values: dict[str, list[str]] = {}
    section = ""
    for line in (SYSTEMD / name).read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        values.setdefault(f"{section}.{key}", []).append(value)
    return values


def one(name: str, key: str) -> str:
    [value] = unit(name)[key]
    return value


def environment(name: str) -> dict[str, str]:
    """What the unit's Environment= lines set."""
    pairs = {}
    for line in unit(name)["Service.Environment"]:
        for word in shlex.split(line):
            key, _, value = word.partition("=")
            pairs[key] = value
    return pairs


SETTING_OF_CREDENTIAL = {"metrics_token": "VIDEOCOACH_METRICS_TOKEN"}


def credentials(name: str) -> dict[str, str]:
    """credential name -> the file it is loaded from."""
    return dict(line.split(":", 1) for line in unit(name)["Service.LoadCredential"])


# --- systemd itself ---------------------------------------------------------------------------


def test_systemd_analyze_verify_accepts_the_units(tmp_path):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (apt-get install systemd)")
    for path in SYSTEMD.iterdir():
        if path.suffix in {".service", ".target"}:
            text = path.read_text().replace(VENV_BIN, f"{BIN}/")
            (tmp_path / path.name).write_text(text)
    for instance in ("1", "2"):  # what `systemctl start videocoach-worker@2` loads
        (tmp_path / f"videocoach-worker@{instance}.service").symlink_to(
            "videocoach-worker@.service"
        )
    names = [
        "videocoach-web.service",
        "videocoach-worker@1.service",
        "videocoach-worker@2.service",
        "videocoach-migrate.service",
        "videocoach.target",
    ]
    result = subprocess.run(
        [analyze, "verify", "--man=no", *(f"./{name}" for name in names)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    # verify exits 0 on an unknown key or a bad value, and says so: any word is a problem.
    assert (result.returncode, result.stderr, result.stdout) == (0, "", "")


def test_each_exec_start_is_a_command_of_the_installed_package(tmp_path):
    for name in SERVICES:
        [exec_start] = unit(name)["Service.ExecStart"]
        program, *args = shlex.split(exec_start)
        assert program.startswith(VENV_BIN), exec_start
        local = str(BIN / program.removeprefix(VENV_BIN))
        if program.endswith("/videocoach"):
            # `videocoach worker --help`, `videocoach db upgrade --help`
            command = [local, *args, "--help"]
        else:
            # gunicorn with the settings file the install copies to /etc/videocoach, and the
            # app it names: --check-config loads both.
            assert args == ["-c", "/etc/videocoach/gunicorn.conf.py", "videocoach.wsgi:app"]
            command = [local, "--check-config", "-c", str(DOCKER / "gunicorn.conf.py"), args[-1]]
        result = subprocess.run(
            command,
            cwd=tmp_path,
            env={**os.environ, "VIDEOCOACH_DATA_DIR": str(tmp_path / "data")},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, (command, result.stdout, result.stderr)


# --- how the units run videocoach -------------------------------------------------------------


def test_every_unit_shares_the_same_user_settings_secrets_and_hardening():
    parts = {name: COMMON_PART.search((SYSTEMD / name).read_text()) for name in SERVICES}
    assert all(parts.values()), [name for name, part in parts.items() if not part]
    texts = {part.group(1) for part in parts.values()}
    assert len(texts) == 1, "the common part differs between units"
    for name in SERVICES:
        assert one(name, "Service.User") == one(name, "Service.Group") == "videocoach"
        assert one(name, "Service.EnvironmentFile") == "/etc/videocoach/videocoach.env"
        assert one(name, "Service.NoNewPrivileges") == "yes"
        assert one(name, "Service.ProtectSystem") == "strict"
        assert one(name, "Service.PrivateTmp") == "yes"
        assert one(name, "Service.ProtectHome") == "yes"
        assert one(name, "Service.CapabilityBoundingSet") == ""
        # The one place the units may write is the data directory of the settings.
        data_dir = dot_env(ENV_EXAMPLE)["VIDEOCOACH_DATA_DIR"]
        assert one(name, "Service.ReadWritePaths") == data_dir
        assert f"/var/lib/{one(name, 'Service.StateDirectory')}" == data_dir


def test_secrets_are_credentials_and_never_environment_variables():
    for name in SERVICES:
        loaded = credentials(name)
        settings = environment(name)
        assert loaded == {
            credential: f"/etc/videocoach/credentials/{credential}"
            for credential in (
                "secret_key",
                "database_url",
                "smtp_url",
                "aws_secret_access_key",
                "metrics_token",
            )
        }
        for credential in loaded:
            # docker/init-secrets' file names: the metrics token's lacks the prefix.
            setting = SETTING_OF_CREDENTIAL.get(credential, credential.upper())
            assert setting in SECRET_SETTINGS
            assert settings[f"{setting}_FILE"] == f"%d/{credential}"
        assert not set(settings) & set(SECRET_SETTINGS)
    example = dot_env(ENV_EXAMPLE)
    # Redis on loopback without a password: the only secret-capable settings left here.
    assert set(example) & set(SECRET_SETTINGS) == {"REDIS_URL", "CELERY_BROKER_URL"}
    assert url_password(example["REDIS_URL"]) is None
    assert url_password(example["CELERY_BROKER_URL"]) is None
    assert not any(key.endswith("_FILE") for key in example)  # the units set those


def test_web_and_workers_restart_and_stop_gracefully_within_composes_times():
    services = deployed()["services"]
    for name, compose_service in (
        ("videocoach-web.service", "web"),
        ("videocoach-worker@.service", "worker"),
    ):
        assert one(name, "Service.Restart") == "on-failure"
        # SIGTERM to the main process only: gunicorn and Celery end their children themselves.
        assert one(name, "Service.KillMode") == "mixed"
        grace = services[compose_service]["stop_grace_period"]
        assert one(name, "Service.TimeoutStopSec") == grace.removesuffix("s")
        assert one(name, "Install.WantedBy") == "videocoach.target"
        assert one(name, "Unit.PartOf") == "videocoach.target"
        assert one(name, "Unit.Requires") == "videocoach-migrate.service"
        assert "videocoach-migrate.service" in unit(name)["Unit.After"]
    assert one("videocoach-migrate.service", "Service.Type") == "oneshot"
    assert one("videocoach-web.service", "Service.Type") == "notify"  # gunicorn tells when ready


def test_workers_have_the_limits_of_compose():
    limits = deployed()["services"]["worker"]["deploy"]["resources"]["limits"]
    worker = "videocoach-worker@.service"
    assert one(worker, "Service.MemoryMax") == limits["memory"].upper()
    assert one(worker, "Service.CPUQuota") == f"{float(limits['cpus']) * 100:g}%"
    # Past the limit the kernel ends an ffmpeg, that attempt is retried, and the worker
    # keeps running, as in compose; systemd's default would stop the whole worker.
    assert one(worker, "Service.OOMPolicy") == "continue"
    assert one(worker, "Service.MemorySwapMax") == "0"
    assert one(worker, "Install.DefaultInstance") == "1"


# --- the env example against production mode -----------------------------------------------


def placeholder_credentials() -> dict[str, str]:
    """The `#   name: value` lines of the env example: what each credential holds."""
    return dict(re.findall(r"^#   (\w+): +(\S+)$", ENV_EXAMPLE.read_text(), re.M))


def settings_with(credentials_dir: Path, data_dir: Path) -> Settings:
    """Settings as a unit gets them: its env file, its Environment=, its credentials."""
    env = dot_env(ENV_EXAMPLE)
    for key, value in environment("videocoach-web.service").items():
        env[key] = value.replace("%d", str(credentials_dir))
    env["VIDEOCOACH_DATA_DIR"] = str(data_dir)
    return Settings.from_env(env)


def test_the_example_credentials_are_placeholders_production_refuses(tmp_path):
    examples = placeholder_credentials()
    assert set(examples) == set(credentials("videocoach-web.service"))
    for name, value in examples.items():
        (tmp_path / name).write_text(value + "\n")
    with pytest.raises(ConfigError) as refused:
        settings_with(tmp_path, tmp_path / "data")
    problems = "\n".join(refused.value.problems)
    for subject in (
        "SECRET_KEY",
        "DATABASE_URL",
        "SMTP_URL",
        "AWS_SECRET_ACCESS_KEY",
        "VIDEOCOACH_METRICS_TOKEN",
    ):
        assert re.search(rf"{subject}.*placeholder", problems), subject


def test_generated_credentials_start_production_with_the_env_example(tmp_path):
    credentials_dir = tmp_path / "credentials"
    # The install step of docs/operations.md: docker/init-secrets, then the database on
    # this host rather than compose's `postgres` service.
    subprocess.run([str(DOCKER / "init-secrets"), str(credentials_dir)], check=True, timeout=30)
    database_url = credentials_dir / "database_url"
    assert "s/@postgres:/@127.0.0.1:/" in DATABASE_ON_THIS_HOST  # what the sed there does
    database_url.write_text(database_url.read_text().replace("@postgres:", "@127.0.0.1:"))
    settings = settings_with(credentials_dir, tmp_path / "data")  # production refuses nothing
    assert settings.production and settings.smtp_url is None
    assert settings.database_url.startswith("postgresql+psycopg://videocoach:")
    assert "@127.0.0.1:5432/videocoach" in settings.database_url


# --- videocoach-cli ---------------------------------------------------------------------------


def test_the_cli_wrapper_runs_a_command_with_the_units_settings_and_credentials(tmp_path):
    recorded = tmp_path / "systemd-run.args"
    fake = tmp_path / "systemd-run"
    fake.write_text(f'#!/bin/sh\nprintf "%s\\0" "$@" > {recorded}\n')
    fake.chmod(0o755)
    result = subprocess.run(
        ["sh", str(SYSTEMD / "videocoach-cli"), "create-user", "--name", "Tess Teacher"],
        env={**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}"},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    args = recorded.read_text().split("\0")[:-1]
    command = args.index(f"{VENV_BIN}videocoach")
    options, argv = args[:command], args[command:]
    assert argv == [f"{VENV_BIN}videocoach", "create-user", "--name", "Tess Teacher"]
    assert "--pipe" in options  # no terminal here
    assert {"--uid=videocoach", "--gid=videocoach", "--wait", "--collect"} <= set(options)
    assert "--working-directory=" + dot_env(ENV_EXAMPLE)["VIDEOCOACH_DATA_DIR"] in options
    web = "videocoach-web.service"
    assert f"--property=EnvironmentFile={one(web, 'Service.EnvironmentFile')}" in options
    [unit_name] = [
        option.removeprefix("--unit=") for option in options if option.startswith("--unit=")
    ]
    for credential, path in credentials(web).items():
        assert f"--property=LoadCredential={credential}:{path}" in options
        setting = f"{SETTING_OF_CREDENTIAL.get(credential, credential.upper())}_FILE"
        assert f"--setenv={setting}=/run/credentials/{unit_name}.service/{credential}" in options


# --- docs/operations.md -----------------------------------------------------------------------

DATABASE_ON_THIS_HOST = (
    "sed -i 's/@postgres:/@127.0.0.1:/' /etc/videocoach/credentials/database_url"
)


def test_the_install_steps_name_files_that_exist_and_install_every_unit():
    docs = (ROOT / "docs" / "operations.md").read_text()
    named = set(re.findall(r"deploy/systemd/[\w@.*-]+", docs))
    assert named
    for pattern in named:
        assert list(ROOT.glob(pattern)), f"docs/operations.md names {pattern}, which is missing"
    installed = {path.name for pattern in named for path in ROOT.glob(pattern)}
    assert installed == {path.name for path in SYSTEMD.iterdir()}
    # The step test_generated_credentials_start_production_with_the_env_example takes too.
    assert DATABASE_ON_THIS_HOST in docs
