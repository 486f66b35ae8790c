"""Pipeline API tokens: creation (a service), lookup and the scope check.

Tokens come from djangorestframework-api-key: a random key shown once, stored as a
SHA-512 hash with a public prefix, with an expiry date and a one-way ``revoked`` flag.
Callers send ``Authorization: Api-Key <prefix>.<secret>``.
"""

from __future__ import annotations

import datetime as dt

from django.db import connection, models
from django.http import HttpRequest
from django.utils import timezone
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed, NotAuthenticated
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework_api_key.permissions import KeyParser

from registry.enums import TokenScope
from registry.models import PipelineToken

_parser = KeyParser()


class TokenError(ValueError):
    """Token input that cannot be used, with a message saying how to fix it."""


def token_create(
    *, name: str, scopes: list[str], expires_days: int | None = None
) -> tuple[PipelineToken, str]:
    """Create a token and return it with its secret, which is never stored or shown again."""
    name = name.strip()
    if not name or len(name) > 50:
        raise TokenError("Give the token a name of 1 to 50 characters (who or what uses it).")
    known = set(TokenScope.values)
    unknown = [s for s in scopes if s not in known]
    if unknown or not scopes:
        raise TokenError(
            f"Unknown scope(s) {unknown or scopes}; choose from {', '.join(sorted(known))}."
        )
    if expires_days is not None and expires_days < 1:
        raise TokenError("--expires-days must be 1 or more (or left out for no expiry).")
    expiry = timezone.now() + dt.timedelta(days=expires_days) if expires_days else None
    return PipelineToken.objects.create_key(
        name=name, scopes=" ".join(sorted(set(scopes))), expiry_date=expiry
    )


def presented_key(request: Request | HttpRequest) -> str | None:
    """The key in ``Authorization: Api-Key <key>``, unchecked."""
    return _parser.get(getattr(request, "_request", request)) or None


def token_from_request(request: HttpRequest) -> PipelineToken | None:
    """The valid token the request carries, ``None`` without one; raises on a bad one."""
    key = presented_key(request)
    if not key:
        return None
    token = _usable_token(key)
    if token is None:
        raise AuthenticationFailed("The API token is unknown or revoked.")
    if token.has_expired:
        raise AuthenticationFailed("The API token has expired; ask a maintainer for a new one.")
    return token


def _aware(value: object) -> object:
    """SQLite hands raw queries dates as text or naive values, in UTC."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value


def _usable_token(key: str) -> PipelineToken | None:
    """``PipelineToken.objects.get_from_key`` (unrevoked, by prefix, hash verified) as one
    raw query: building the ORM query cost more CPU than the rest of a call (docs/api.md,
    "Performance")."""
    prefix = key.partition(".")[0]
    fields = PipelineToken._meta.concrete_fields  # from_db wants them in this order
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    table = connection.ops.quote_name(PipelineToken._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {columns} FROM {table} WHERE prefix = %s AND NOT revoked",  # noqa: S608
            [prefix],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    values = [
        _aware(v) if isinstance(f, models.DateTimeField) else v
        for f, v in zip(fields, row, strict=True)
    ]
    token = PipelineToken.from_db(connection.alias, [f.attname for f in fields], values)
    return token if token.is_valid(key) else None


class ApiKeyChallenge(BaseAuthentication):
    """Accepts a pipeline token (no user: ``request.auth`` is the token) and names the
    ``Api-Key`` scheme, so a missing or bad token gets 401 and a wrong scope 403."""

    def authenticate(self, request: Request) -> tuple[None, PipelineToken] | None:
        token = token_from_request(request._request)
        return None if token is None else (None, token)

    def authenticate_header(self, request: Request) -> str:
        return "Api-Key"


class HasRegistryRead(BasePermission):
    """A valid, unexpired, unrevoked token with the ``registry:read`` scope."""

    message = "This endpoint needs a token with the registry:read scope."

    def has_permission(self, request: Request, view: object) -> bool:
        token = request.auth  # set by ApiKeyChallenge, which every API view lists
        if token is None:
            raise NotAuthenticated(
                "Send a pipeline token as 'Authorization: Api-Key <token>'; "
                "maintainers create them in the admin or with manage.py create_api_token."
            )
        return token.has_scope(TokenScope.REGISTRY_READ)
