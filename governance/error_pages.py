"""Error answers outside DRF's views: JSON in the API's single shape, HTML elsewhere.

DRF's exception handler only covers errors raised inside an API view. An unmatched
``/api/…`` path, a request Django refuses before any view runs (too many fields, a bad
Host header), and a crash must still answer API clients in the documented shape.
"""

from __future__ import annotations

from django.core.exceptions import SuspiciousOperation
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from governance.api_errors import error_body, refusal

_API_PREFIXES = ("/api/", "/.well-known/")

_MESSAGES = {
    400: ("bad_request", "The request could not be read. Check its syntax and size."),
    403: ("permission_denied", "You do not have permission to do this."),
    404: ("not_found", "No such endpoint or object. The API is described at /api/docs/."),
    500: ("server_error", "Something went wrong on our side. Nothing was changed; try again."),
}


def _answer(request: HttpRequest, status: int) -> HttpResponse:
    code, message = _MESSAGES[status]
    if request.path.startswith(_API_PREFIXES):
        return JsonResponse(error_body(code, message), status=status)
    if status >= 500:
        # No template or context processors: the failure may be in one of them.
        return HttpResponse(f"<h1>Server error</h1><p>{message}</p>", status=status)
    return render(request, "error.html", {"status": status, "message": message}, status=status)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if isinstance(exception, SuspiciousOperation) and request.path.startswith(_API_PREFIXES):
        status, code, message = refusal(exception)
        return JsonResponse(error_body(code, message), status=status)
    return _answer(request, 400)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _answer(request, 403)


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _answer(request, 404)


def server_error(request: HttpRequest) -> HttpResponse:
    return _answer(request, 500)
