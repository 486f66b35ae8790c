"""Pieces shared by the registry's API views: error schema, text parser, throttles, JSON."""

from __future__ import annotations

from typing import Any

import orjson
from django.http import HttpResponse
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser

from registry.throttles import THROTTLES
from registry.tokens import ApiKeyChallenge, HasRegistryRead

MAX_INDEX = 2**62  # log positions fit a signed 64-bit column with room; larger is an error
MAX_TEXT_BODY = 8 * 1024 * 1024  # 10,000 lines of at most ~600 characters, with room
# Valid in JSON, not in JavaScript source: DRF's renderer escapes them, and so do we.
_LINE_SEPARATOR = "\u2028".encode()
_PARAGRAPH_SEPARATOR = "\u2029".encode()


def json_response(body: object) -> HttpResponse:
    """``body`` as DRF's ``JSONRenderer`` renders it (compact, UTF-8, U+2028/9 escaped), for
    the bulk check's up to 10,000 results: orjson encodes them several times faster than
    the json module, to the same bytes (tested against DRF's renderer)."""
    encoded = orjson.dumps(body)
    encoded = encoded.replace(_LINE_SEPARATOR, b"\\u2028").replace(_PARAGRAPH_SEPARATOR, b"\\u2029")
    return HttpResponse(encoded, content_type="application/json")


class ErrorSerializer(serializers.Serializer):
    class ErrorBody(serializers.Serializer):
        code = serializers.CharField()
        message = serializers.CharField()
        fields = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))

    error = ErrorBody()


def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorSerializer, description=description)


# Public operations take a token optionally (it lifts the anonymous rate limit).
PUBLIC_AUTH = [{"pipelineToken": []}, {}]

PUBLIC_ERRORS: dict[int, Any] = {
    400: _error("The input is invalid; `fields` says which and why."),
    401: _error("The token sent is unknown, revoked or expired."),
    429: _error("Too many calls; retry after the `Retry-After` seconds."),
}
TOKEN_ERRORS: dict[int, Any] = {
    **PUBLIC_ERRORS,
    401: _error("No token, or an unknown, revoked or expired one."),
    403: _error("The token lacks the registry:read scope."),
}


class PlainTextParser(BaseParser):
    """A ``text/plain`` body as one string (bulk check: one repository a line)."""

    media_type = "text/plain"

    def parse(self, stream, media_type=None, parser_context=None) -> str:
        data = stream.read(MAX_TEXT_BODY + 1) if stream is not None else b""
        if len(data) > MAX_TEXT_BODY:
            raise ParseError(f"The body is over {MAX_TEXT_BODY} bytes; send fewer lines a call.")
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise ParseError("The body is not UTF-8 text.") from None


class PublicMixin:
    """Anonymous calls allowed, throttled by address; token holders throttled by token."""

    authentication_classes = [ApiKeyChallenge]
    permission_classes: list = []
    throttle_classes = THROTTLES


class TokenMixin:
    authentication_classes = [ApiKeyChallenge]
    permission_classes = [HasRegistryRead]
    throttle_classes = THROTTLES


def reject_blank(query: Any, *names: str) -> None:
    """DRF reads an empty optional query parameter as absent; we call it an error."""
    blank = {name: ["This field may not be blank."] for name in names if query.get(name) == ""}
    if blank:
        raise serializers.ValidationError(blank)
