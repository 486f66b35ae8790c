"""A browser's access to one request's status page: a signed cookie scoped to its path.

The private link carries the status token in its fragment (``optout/links.py``), which
browsers never send. The page posts it once; the answer sets this cookie and redirects, so
later visits, "Check now" and withdraw carry no token at all.

- Scoped to ``/requests/<id>/``: a browser sends it to that request's pages only, and one
  browser can hold several requests at once (same name, one cookie per path).
- Signed with ``SECRET_KEY`` and salted with the request's id, over a prefix of the stored
  token hash: it opens only its own request, cannot be made from a database copy, and dies
  with the token.
- HttpOnly, Secure in production, and SameSite=Lax rather than Strict: forge sign-in comes
  back to the page through the forge's redirect, a cross-site navigation that Strict would
  send without the cookie, leaving the owner on the token form. Lax still keeps it off
  cross-site POSTs, and every POST also carries a CSRF token.
"""

from __future__ import annotations

import hmac

from django.conf import settings
from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from optout.models import RemovalRequest

COOKIE_NAME = "optout_status"


def _salt(request: RemovalRequest) -> str:
    return f"optout-status-cookie:{request.public_id}"


def _value(request: RemovalRequest) -> str:
    return request.status_token_hash[:32]


def status_cookie_set(response: HttpResponse, request: RemovalRequest) -> None:
    response.set_signed_cookie(
        COOKIE_NAME,
        _value(request),
        salt=_salt(request),
        max_age=settings.OPTOUT_STATUS_COOKIE_DAYS * 86400,
        path=reverse("optout:status", kwargs={"public_id": request.public_id}),
        secure=not settings.DEBUG,
        httponly=True,
        samesite="Lax",
    )


def request_by_status_cookie(http_request: HttpRequest, public_id: object) -> RemovalRequest | None:
    """The request this browser's cookie opens, or ``None`` (no cookie, another request's,
    expired, or tampered with)."""
    if COOKIE_NAME not in http_request.COOKIES:
        return None
    request = RemovalRequest.objects.filter(public_id=public_id).first()
    if request is None:
        return None
    try:
        value = http_request.get_signed_cookie(
            COOKIE_NAME,
            salt=_salt(request),
            max_age=settings.OPTOUT_STATUS_COOKIE_DAYS * 86400,
        )
    except signing.BadSignature:  # includes an expired signature
        return None
    return request if hmac.compare_digest(value, _value(request)) else None
