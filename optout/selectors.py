"""Reads of removal requests."""

from __future__ import annotations

import hmac
import uuid

from optout.models import RemovalRequest
from optout.services import hash_token


def request_by_secret_link(*, public_id: uuid.UUID, token: str) -> RemovalRequest | None:
    """The request that this secret link opens, or ``None``. Constant-time comparison."""
    request = RemovalRequest.objects.filter(public_id=public_id).first()
    if request is None or not hmac.compare_digest(request.status_token_hash, hash_token(token)):
        return None
    return request
