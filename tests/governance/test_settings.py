"""Configuration comes from the environment and a bad value stops start-up, naming it."""

from __future__ import annotations

import gc
import os
import runpy
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
_PYCACHE = shutil.ignore_patterns("__pycache__")


def _run(args: list[str], **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY"}}
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def _setup(**env: str) -> subprocess.CompletedProcess:
    return _run(
        ["-c", "import django; django.setup()"], DJANGO_SETTINGS_MODULE="governance.settings", **env
    )


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DEBUG", "maybe"),
        ("DATABASE_URL", "nosuchdb://x"),
        ("REDIS_URL", "http://127.0.0.1:6379"),
        ("EMAIL_PORT", "twenty-five"),
        ("CELERY_TASK_TIME_LIMIT", "5"),
    ],
)
def test_a_bad_value_stops_startup_naming_the_variable(variable: str, value: str) -> None:
    result = _setup(**{"DEBUG": "true", variable: value})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert variable in result.stderr.splitlines()[-1]


def test_it_refuses_to_start_without_secret_key_when_debug_is_off(tmp_path: Path) -> None:
    result = _setup(DEBUG="false", LOG_SIGNING_KEY_FILE=str(tmp_path / "k"))
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_it_requires_the_signing_key_file_in_production() -> None:
    result = _setup(DEBUG="false", SECRET_KEY="x" * 60)
    assert result.returncode != 0
    assert "LOG_SIGNING_KEY_FILE must be set" in result.stderr


def test_visibility_timeout_must_exceed_the_hard_time_limit() -> None:
    result = _setup(DEBUG="true", CELERY_TASK_TIME_LIMIT="600", CELERY_VISIBILITY_TIMEOUT="600")
    assert result.returncode != 0
    assert "CELERY_VISIBILITY_TIMEOUT=600 must be above CELERY_TASK_TIME_LIMIT=600" in result.stderr


def _production(tmp_path: Path) -> dict[str, str]:
    """Production settings, with a signing key made for them."""
    key = tmp_path / "production-signing.key"
    made = _run(["manage.py", "generate_signing_key", str(key)], DEBUG="true")
    assert made.returncode == 0, made.stderr
    return {
        "DEBUG": "false",
        "SECRET_KEY": "a-production-secret-key-that-is-long-and-random-enough-5f1c9e0b7d2a",
        "ALLOWED_HOSTS": "optout.example.org",
        "LOG_SIGNING_KEY_FILE": str(key),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'prod.sqlite3'}",
    }


def test_production_settings_pass_the_deploy_check(tmp_path: Path) -> None:
    result = _run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"], **_production(tmp_path)
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_every_environment_variable_the_settings_read_is_in_the_readme() -> None:
    import re

    source = (ROOT / "governance" / "settings.py").read_text()
    names = set(re.findall(r'env_[a-z_]+\(\s*"([A-Z0-9_]+)"', source))
    names |= set(re.findall(r'forges_from_env\(\s*"([A-Z0-9_]+)"', source))
    names |= {f"{p}_CLIENT_ID" for p in re.findall(r'_oauth_apps\(\s*"([A-Z0-9_]+)"', source)}
    readme = (ROOT / "README.md").read_text()
    assert len(names) > 30
    assert sorted(n for n in names if f"`{n}`" not in readme) == []


def test_the_gunicorn_configuration_loads_with_the_production_app(tmp_path: Path) -> None:
    result = _run(
        ["-m", "gunicorn", "--check-config", "--print-config", "governance.wsgi"],
        **_production(tmp_path),
        WEB_CONCURRENCY="3",
        WEB_THREADS="5",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    printed = dict(line.split(" = ", 1) for line in result.stdout.splitlines() if " = " in line)
    printed = {k.strip(): v.strip() for k, v in printed.items()}
    assert [printed[k] for k in ("workers", "threads", "worker_class", "keepalive")] == [
        "3",
        "5",
        "gthread",
        "5",
    ]


def test_gunicorn_workers_freeze_what_loading_the_app_made() -> None:
    hooks = runpy.run_path(str(Path(settings.BASE_DIR) / "gunicorn.conf.py"))
    assert gc.get_freeze_count() == 0
    try:
        hooks["post_worker_init"](worker=None)
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


def test_settings_load_where_the_os_has_no_cpu_affinity() -> None:
    """macOS has no os.sched_getaffinity: nothing at import may need it."""
    result = _run(
        [
            "-c",
            "import os; del os.sched_getaffinity; import django; django.setup(); "
            "from django.conf import settings; print(settings.DEBUG)",
        ],
        DJANGO_SETTINGS_MODULE="governance.settings",
        DEBUG="true",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "True"


def test_an_env_file_supplies_what_the_environment_does_not_set(tmp_path, monkeypatch) -> None:
    from governance.env import load_env_file

    env_file = tmp_path / ".env"
    env_file.write_text("# development\n\nPORTAL_TEST_A=from-file\nPORTAL_TEST_B = file\n")
    monkeypatch.delenv("PORTAL_TEST_A", raising=False)
    monkeypatch.setenv("PORTAL_TEST_B", "from-environment")

    load_env_file(env_file)

    assert os.environ["PORTAL_TEST_A"] == "from-file"
    assert os.environ["PORTAL_TEST_B"] == "from-environment"
    monkeypatch.delenv("PORTAL_TEST_A")


def test_a_malformed_env_file_stops_startup_naming_the_line(tmp_path) -> None:
    from django.core.exceptions import ImproperlyConfigured

    from governance.env import load_env_file

    env_file = tmp_path / ".env"
    env_file.write_text("DEBUG=true\nexport everything\n")
    with pytest.raises(ImproperlyConfigured, match=r"line 2: 'export everything'"):
        load_env_file(env_file)


def test_the_checkout_s_env_file_is_read_and_production_still_needs_a_secret_key(
    tmp_path,
) -> None:
    """The .env that `make run` writes lets manage.py run without DEBUG in the environment;
    a production environment (DEBUG=false, no SECRET_KEY) still refuses to start."""
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    # Copies of the project package and manage.py, so BASE_DIR is this checkout (Python
    # resolves a linked script's folder); the rest linked.
    shutil.copytree(ROOT / "governance", checkout / "governance", ignore=_PYCACHE)
    shutil.copy(ROOT / "manage.py", checkout / "manage.py")
    for name in ("optout", "registry", "templates"):
        (checkout / name).symlink_to(ROOT / name)
    (checkout / ".env").write_text("DEBUG=true\n")
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY"}}
    env["VAR_DIR"] = str(tmp_path / "var")

    def check(**extra: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "manage.py", "check"],
            cwd=checkout,
            env={**env, **extra},
            capture_output=True,
            text=True,
            timeout=120,
        )

    assert check().returncode == 0
    refused = check(DEBUG="false")
    assert refused.returncode != 0
    assert "SECRET_KEY must be set" in refused.stderr
