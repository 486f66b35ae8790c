"""Pieces shared by the registry's API views: error schema, text parser, throttles, JSON."""

from __future__ import annotations

from typing import Any

import orjson
from django.core.validators import RegexValidator
from django.http import HttpResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema_field
from rest_framework import serializers, status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import BaseParser

from registry.identifiers import MAX_INPUT_LENGTH
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


# DRF refuses a NUL in any text field; the schema says so with this pattern.
NO_NUL = r"^[^\x00]*$"


class _NulPattern(RegexValidator):
    """States DRF's refusal of NUL in the schema (drf-spectacular writes a RegexValidator as
    ``pattern``) and refuses nothing itself: DRF's own validator does, in its own words."""

    def __call__(self, value: object) -> None:
        return None


class StrictCharField(serializers.CharField):
    """A string, and only a string: DRF would turn ``0`` or ``false`` into text, which the
    schema (``type: string``) says is invalid. The schema also states DRF's refusal of NUL."""

    states_nul_refusal = True

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not self.states_nul_refusal:
            return
        # With allow_blank, drf-spectacular writes oneOf [this pattern, maxLength 0]: the
        # pattern must then refuse "" too, or "" would match both and be called invalid.
        self.validators.append(_NulPattern(NO_NUL if not self.allow_blank else r"^[^\x00]+$"))

    def to_internal_value(self, data: object) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


def _identifier_schema(fmt: str, what: str) -> dict[str, Any]:
    return {
        "type": "string",
        "format": fmt,
        "minLength": 1,
        "maxLength": MAX_INPUT_LENGTH,
        "description": f"{what}, in any form people paste (registry/identifiers.py): a URL, "
        "an SSH address, host/owner/name, or owner/name for github.com.",
    }


@extend_schema_field(_identifier_schema("repository", "A repository"))
class RepositoryField(StrictCharField):
    """A repository as people paste it. OpenAPI has no way to state the parser's rules (the
    forges, their name rules): the schema names them as the ``repository`` format. (No NUL
    pattern: schemathesis would generate from it rather than from the format.)"""

    states_nul_refusal = False

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=MAX_INPUT_LENGTH, **kwargs)


@extend_schema_field(_identifier_schema("namespace", "A user or organisation (host/owner)"))
class NamespaceField(RepositoryField):
    """A user or organisation as people paste it (the ``namespace`` format)."""


@extend_schema_field(_identifier_schema("subject", "A repository or a namespace"))
class SubjectField(RepositoryField):
    """A repository or a namespace (the ``subject`` format)."""


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
# A proof or page of a tree the log has not reached: well formed, not there (yet).
BEYOND_THE_LOG = _error("A size or position beyond the log's; ask again when it has grown.")
TOKEN_ERRORS: dict[int, Any] = {
    **PUBLIC_ERRORS,
    401: _error("No token, or an unknown, revoked or expired one."),
    403: _error("The token lacks the registry:read scope."),
}


class BodyTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"


class FixedMediaType(DefaultContentNegotiation):
    """For endpoints whose answer has one media type of its own (a signed note as text, an
    export in the format asked for): ``Accept`` does not choose it, so it never ends in a
    406, and errors are rendered by the first renderer, JSON, in the single error shape."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class PlainTextParser(BaseParser):
    """A ``text/plain`` body as one string (bulk check: one repository a line)."""

    media_type = "text/plain"

    def parse(self, stream, media_type=None, parser_context=None) -> str:
        data = stream.read(MAX_TEXT_BODY + 1) if stream is not None else b""
        if len(data) > MAX_TEXT_BODY:
            raise BodyTooLarge(
                f"The body is over {MAX_TEXT_BODY:,} bytes; send fewer lines a call."
            )
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
