"""Read settings from environment variables, failing loudly on a bad value.

Every helper raises ``ImproperlyConfigured`` naming the variable and saying what a
good value looks like. None of them silently falls back to the default when a value
is present but malformed: a typo in production must stop start-up, not change
behaviour.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import environ
from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
_SUPPORTED_ENGINES = {"django.db.backends.postgresql", "django.db.backends.sqlite3"}


def load_env_file(path: Path) -> None:
    """Put the variables a ``NAME=value`` file lists into the environment, unless it has them.

    ``make run`` and ``make test`` write a git-ignored ``.env`` at the checkout's root with
    the development settings, so the checkout's ``manage.py`` and ``pytest`` run as make
    runs them. The environment always wins, so production (which never has this file)
    is configured by its environment alone.
    """
    if not path.is_file():
        return
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, equals, value = line.partition("=")
        name = name.strip()
        if not equals or not name.isidentifier():
            raise ImproperlyConfigured(
                f"{path}, line {number}: {line!r} is not NAME=value (e.g. DEBUG=true)."
            )
        os.environ.setdefault(name, value.strip())


def _raw(name: str) -> str | None:
    value = os.environ.get(name)
    return None if value is None else value.strip()


def env_str(name: str, default: str | None = None, *, required: bool = False) -> str | None:
    value = _raw(name)
    if value is None or value == "":
        if required:
            raise ImproperlyConfigured(f"{name} must be set.")
        return default
    return value


def env_bool(name: str, default: bool) -> bool:
    value = _raw(name)
    if value is None:
        return default
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean; use true or false.")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    value = _raw(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not a whole number.") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name}={number} is below the minimum of {minimum}.")
    return number


def env_list(name: str, default: list[str]) -> list[str]:
    value = _raw(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def env_path(name: str, default: Path) -> Path:
    value = _raw(name)
    return Path(value).expanduser().resolve() if value else default


def env_database(name: str, default: str) -> dict[str, Any]:
    value = _raw(name) or default
    try:
        config = environ.Env.db_url_config(value)
    except Exception as exc:  # django-environ raises several types for bad URLs
        raise ImproperlyConfigured(
            f"{name}={value!r} is not a database URL "
            "(expected e.g. postgres://user@127.0.0.1:5432/portal or sqlite:////abs/path.db): "
            f"{exc}"
        ) from None
    if config.get("ENGINE") not in _SUPPORTED_ENGINES:
        raise ImproperlyConfigured(
            f"{name}={value!r} names an unsupported database; use postgres:// or sqlite:///."
        )
    return config


def env_redis_url(name: str) -> str | None:
    value = _raw(name)
    if not value:
        return None
    if not value.startswith(("redis://", "rediss://", "memory://")):
        raise ImproperlyConfigured(
            f"{name}={value!r} is not a Redis URL (expected redis://host:6379/0)."
        )
    return value
