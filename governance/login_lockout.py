"""Sign-in lockout (django-axes): who is counted, and what a locked-out client reads.

Failures are counted per client address, for the admin's login and allauth's alike. A
locked-out address gets the same page whatever username it sends next, so the lockout
says nothing about which accounts exist, and nobody can lock a maintainer out by
typing their username from elsewhere.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse


def client_ip(request: HttpRequest) -> str:
    """The address the API's throttles count too: the peer's, or the one seen by the
    ``API_TRUSTED_PROXIES`` proxies in front of the portal (as DRF's ``get_ident``)."""
    proxies = settings.REST_FRAMEWORK.get("NUM_PROXIES") or 0
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies and forwarded:
        addresses = [part.strip() for part in forwarded.split(",")]
        return addresses[-min(proxies, len(addresses))]
    return request.META.get("REMOTE_ADDR", "")


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials=None
) -> HttpResponse:
    """The answer to every sign-in attempt from a locked-out address (429)."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    response = TemplateResponse(
        request,
        "admin/lockout.html",
        {
            **admin.site.each_context(request),
            "title": "Sign-in locked",
            "failure_limit": settings.AXES_FAILURE_LIMIT,
            "cooloff_minutes": minutes,
        },
        status=settings.AXES_HTTP_RESPONSE_CODE,
    )
    response["Retry-After"] = str(minutes * 60)
    return response.render()
