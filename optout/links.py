"""The owner's secret link.

The status token is derived from the request's public id with an HMAC keyed by
SECRET_KEY, so every e-mail can carry the link without the token being stored: the
database holds only its SHA-256 (a database leak alone opens nothing). Rotating
SECRET_KEY changes the token in new e-mails; links already sent keep working because
the stored hash is of the original token.
"""

from __future__ import annotations

import base64
import hmac
import uuid
from urllib.parse import urlencode

from django.conf import settings
from django.urls import reverse


def status_token_for(public_id: uuid.UUID) -> str:
    mac = hmac.new(
        settings.SECRET_KEY.encode(), b"optout-status-link:" + str(public_id).encode(), "sha256"
    )
    return base64.urlsafe_b64encode(mac.digest()).decode().rstrip("=")


def status_path(public_id: uuid.UUID, token: str) -> str:
    return (
        reverse("optout:status", kwargs={"public_id": public_id})
        + "?"
        + urlencode({"token": token})
    )


def status_url(public_id: uuid.UUID, token: str) -> str:
    return settings.SITE_URL.rstrip("/") + status_path(public_id, token)
