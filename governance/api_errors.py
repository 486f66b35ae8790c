"""The API's single error shape.

Every error, whatever raised it, reaches clients as::

    {"error": {"code": "invalid", "message": "…", "fields": {"repo": ["…"]}}}

``code`` is stable and machine-readable, ``message`` says what is wrong and how to fix
it, and ``fields`` (possibly empty) maps input fields to their problems.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler


def error_body(code: str, message: str, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def _flatten(detail: Any) -> list[str]:
    if isinstance(detail, list):
        return [str(item) for item in detail]
    return [str(detail)]


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
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
