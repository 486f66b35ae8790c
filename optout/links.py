"""The owner's secret link: ``/requests/<id>/#t=<status token>``.

The token rides in the URL's fragment, which browsers never send to a server: no access
log, proxy or Referer header sees it. The page's script posts it once and the answer sets
a cookie for that request's path (``optout/status_cookie.py``); without JavaScript the
page asks for the link to be pasted into a form, which is posted the same way. A link may
be clicked any number of times, from any device, for as long as the request exists.
Links of the former kind (``?token=``) still open the page once per browser: the answer
sets the cookie and redirects to the address without the query.

The status token is derived from the request's public id with an HMAC keyed by
SECRET_KEY, so every e-mail can carry the link without the token being stored: the
database holds only its SHA-256 (a database leak alone opens nothing). Rotating
SECRET_KEY changes the token in new e-mails; links already sent keep working because
the stored hash is of the original token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import uuid
from urllib.parse import urlencode

from django.conf import settings
from django.core.cache import cache
from django.core.mail import send_mail
from django.urls import reverse

from optout.models import RemovalRequest


def status_token_for(public_id: uuid.UUID) -> str:
    mac = hmac.new(
        settings.SECRET_KEY.encode(), b"optout-status-link:" + str(public_id).encode(), "sha256"
    )
    return base64.urlsafe_b64encode(mac.digest()).decode().rstrip("=")


def status_page_path(public_id: uuid.UUID) -> str:
    """The status page's address without its secret: what redirects and cookies name."""
    return reverse("optout:status", kwargs={"public_id": public_id})


def status_path(public_id: uuid.UUID, token: str) -> str:
    """The private link, with the token in the fragment."""
    return status_page_path(public_id) + "#" + urlencode({"t": token})


def token_from_pasted(text: str) -> str:
    """The token in what an owner pasted: a whole link (either kind) or the token alone."""
    text = text.strip()
    for marker in ("#t=", "?token=", "&token="):
        if marker in text:
            text = text.rsplit(marker, 1)[1]
    return text.split("&", 1)[0].split("#", 1)[0].strip()


def status_url(public_id: uuid.UUID, token: str) -> str:
    return settings.SITE_URL.rstrip("/") + status_path(public_id, token)


# --- sending the links again ---------------------------------------------------------------

RESEND_WINDOW_SECONDS = 3600
RESEND_PER_HOUR_PER_EMAIL = 3
RESEND_PER_HOUR_PER_IP = 10
RESEND_MAX_REQUESTS = 50  # links in one e-mail, newest first


def links_resend_allowed(*, ip: str, email: str) -> bool:
    """Count one resend for ``ip`` and ``email``; False once either used its hour's share.

    Counted whether or not the address has requests, so the answer reveals nothing."""
    window = int(time.time() // RESEND_WINDOW_SECONDS)
    allowed = True
    for kind, value, limit in (
        ("ip", ip, RESEND_PER_HOUR_PER_IP),
        ("email", email.strip().lower(), RESEND_PER_HOUR_PER_EMAIL),
    ):
        key = f"optout:links:{kind}:{hashlib.sha256(value.encode()).hexdigest()[:32]}:{window}"
        cache.add(key, 0, timeout=RESEND_WINDOW_SECONDS + 60)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=RESEND_WINDOW_SECONDS + 60)
            count = 1
        allowed = allowed and count <= limit
    return allowed


def links_resend(*, email: str) -> int:
    """E-mail ``email`` the private link of each of its requests; how many it listed.

    Runs in a task, so the page answers the same, as fast, whether or not requests exist.
    """
    requests = list(
        RemovalRequest.objects.filter(contact_email__iexact=email.strip())
        .prefetch_related("subjects")
        .order_by("-created_at")[:RESEND_MAX_REQUESTS]
    )
    if not requests:
        return 0
    lines = ["The private links of your opt-out requests:", ""]
    for request in requests:
        subjects = ", ".join(s.subject for s in list(request.subjects.all())[:5])
        lines += [
            f"{request.created_at:%Y-%m-%d} ({request.get_status_display()}): {subjects}",
            status_url(request.public_id, status_token_for(request.public_id)),
            "",
        ]
    lines.append("Someone (perhaps you) asked for these links on the portal.")
    send_mail(
        subject="Your opt-out requests: private links",
        message="\n".join(lines),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[requests[0].contact_email],
    )
    return len(requests)
