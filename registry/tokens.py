"""Pipeline API tokens: creation (a service), the scope check and the throttles.

Tokens come from djangorestframework-api-key: a random key shown once, stored as a
SHA-512 hash with a public prefix, with an expiry date and a one-way ``revoked`` flag.
Callers send ``Authorization: Api-Key <prefix>.<secret>``.
"""

from __future__ import annotations

import datetime as dt

from django.core.cache import cache
from django.http import HttpRequest
from django.utils import timezone
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed, NotAuthenticated
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle
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


def token_from_request(request: Request | HttpRequest) -> PipelineToken | None:
    """The valid token the request carries, ``None`` without one; raises on a bad one.

    The lookup is cached on the request: the permission and the throttle both ask.
    """
    request = getattr(request, "_request", request)  # cache on Django's request
    if hasattr(request, "_pipeline_token"):
        return request._pipeline_token
    key = _parser.get(request)
    token = None
    if key:
        try:
            token = PipelineToken.objects.get_from_key(key)
        except PipelineToken.DoesNotExist:
            raise AuthenticationFailed("The API token is unknown or revoked.") from None
        if token.has_expired:
            raise AuthenticationFailed("The API token has expired; ask a maintainer for a new one.")
    request._pipeline_token = token
    return token


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
        token = token_from_request(request)
        if token is None:
            raise NotAuthenticated(
                "Send a pipeline token as 'Authorization: Api-Key <token>'; "
                "maintainers create them in the admin or with manage.py create_api_token."
            )
        return token.has_scope(TokenScope.REGISTRY_READ)


class _LiveRate:
    """Read the rate when asked (DRF binds it at import), so settings changes apply."""

    scope: str

    def get_rate(self) -> str | None:
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)


class AnonymousThrottle(_LiveRate, AnonRateThrottle):
    """Anonymous callers, by address (``API_ANON_RATE``); token holders skip it."""

    def get_cache_key(self, request: Request, view: object) -> str | None:
        if token_from_request(request) is not None:
            return None
        return super().get_cache_key(request, view)


class TokenThrottle(_LiveRate, SimpleRateThrottle):
    """Token holders, by token (``API_TOKEN_RATE``)."""

    scope = "registry_token"
    cache = cache

    def get_cache_key(self, request: Request, view: object) -> str | None:
        token = token_from_request(request)
        if token is None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": token.prefix}


THROTTLES = [AnonymousThrottle, TokenThrottle]
