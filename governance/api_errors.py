"""The API's single error shape.

Every error, whatever raised it, reaches clients as::

    {"error": {"code": "invalid", "message": "…", "fields": {"repo": ["…"]}}}

``code`` is stable and machine-readable, ``message`` says what is wrong and how to fix
it, and ``fields`` (possibly empty) maps input fields to their problems.

Django refuses some requests itself (too many fields, a body over its limit, a bad Host
header) by raising ``SuspiciousOperation``; inside an API view those are worded here, and
before any view runs by ``governance.error_pages``, with the same words.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import (
    DisallowedHost,
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.http import Http404
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler


def error_body(code: str, message: str, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def refusal(exc: SuspiciousOperation) -> tuple[int, str, str]:
    """``(status, code, message)`` for a request Django refused as suspicious."""
    if isinstance(exc, RequestDataTooBig):
        return (
            413,
            "too_large",
            f"The body is over {settings.DATA_UPLOAD_MAX_MEMORY_SIZE:,} bytes; send less a call.",
        )
    if isinstance(exc, TooManyFieldsSent | TooManyFilesSent):
        return (
            400,
            "too_many_fields",
            f"The request has more than {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS:,} query or "
            "form fields; send only the parameters the endpoint documents.",
        )
    if isinstance(exc, DisallowedHost):
        return (
            400,
            "bad_host",
            "The Host header names a site this server does not answer for; "
            "use the portal's own address.",
        )
    return 400, "bad_request", "The request could not be read. Check its syntax and size."


def _flatten(detail: Any) -> list[str]:
    if isinstance(detail, list):
        return [str(item) for item in detail]
    return [str(detail)]


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, SuspiciousOperation):
        status_code, code, message = refusal(exc)
        return Response(error_body(code, message), status=status_code)
    response = exception_handler(exc, context)
    if response is None:
        return None  # an unexpected error: Django's 500 handling and logging take over

    if isinstance(exc, exceptions.ValidationError) and isinstance(exc.detail, dict):
        fields = {name: _flatten(problems) for name, problems in exc.detail.items()}
        summary = "; ".join(f"{name}: {' '.join(msgs)}" for name, msgs in fields.items())
        body = error_body("invalid", f"The request is invalid. {summary}", fields)
    elif isinstance(exc, exceptions.ValidationError):
        body = error_body("invalid", " ".join(_flatten(exc.detail)))
    elif isinstance(exc, exceptions.APIException):
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else "error"
        body = error_body(code, str(exc.detail))
    else:  # pragma: no cover - exception_handler only answers APIException subclasses
        body = error_body("error", str(exc))
    response.data = body
    return response
