"""Wrong status tokens, counted per client address: the owner pages and API answer 429.

Every place that takes a status token from a person (the status page's token form, a
link of the former ``?token=`` kind, "Check now" and withdraw without the page's cookie,
the owner API's ``X-Status-Token``) goes through ``request_by_presented_token``. Wrong
tokens are counted per address in fixed 15-minute windows of the shared cache; once an
address has presented ``OPTOUT_WRONG_TOKENS_PER_IP`` of them, every token it presents is
refused unread until the window ends, so a refusal tells a guesser nothing. Right tokens
are never counted, and a browser that already holds a request's cookie
(``optout/status_cookie.py``) is not affected: a neighbour behind the same address cannot
lock an owner out of a page they have open.

When the cache cannot be reached, tokens are checked uncounted and a warning is logged, as
the API's and the submissions' limits do. A status token is a 256-bit HMAC, so the limit
guards against floods, not against a guess that could succeed; refusing every owner while
Redis is down would trade a broken cache for a locked-out owner.
"""

from __future__ import annotations

import logging
import time
import uuid

from django.conf import settings
from django.http import HttpRequest

from governance.login_lockout import client_ip
from optout.models import RemovalRequest
from optout.selectors import request_by_secret_link
from registry.throttles import window_count, window_read

logger = logging.getLogger(__name__)
WINDOW_SECONDS = 900


class TokensThrottled(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after  # seconds

    def __str__(self) -> str:
        minutes = max(1, (self.retry_after + 59) // 60)
        return (
            "Too many wrong tokens were sent from this network. Try again in "
            f"{minutes} minute{'s' if minutes != 1 else ''}, with the whole private link "
            "from the confirmation page or an e-mail."
        )


def _key(ip: str, window: int) -> str:
    return f"optout:wrong-token:{ip}:{window}"


def request_by_presented_token(
    http_request: HttpRequest, *, public_id: uuid.UUID | str, token: str
) -> RemovalRequest | None:
    """The request that ``token`` opens, or ``None`` (counted as a wrong token).

    Raises ``TokensThrottled`` without reading the token once the address has sent too
    many wrong ones in this window."""
    ip = client_ip(http_request)
    now = time.time()
    window = int(now // WINDOW_SECONDS)
    retry_after = (window + 1) * WINDOW_SECONDS - int(now)
    try:
        wrong_so_far = window_read(_key(ip, window))
    except Exception:  # the cache is down: see the module's docstring
        logger.warning("Wrong status tokens not counted: the cache is unreachable")
        return request_by_secret_link(public_id=public_id, token=token)
    if wrong_so_far >= settings.OPTOUT_WRONG_TOKENS_PER_IP:
        logger.info("Status token refused unread: %s sent too many wrong ones", ip)
        raise TokensThrottled(retry_after)
    found = request_by_secret_link(public_id=public_id, token=token)
    if found is None:
        # The address and the request's id, never the token: the log is no place for it.
        logger.info("Wrong status token for request %s from %s", public_id, ip)
        try:
            window_count(_key(ip, window), timeout=WINDOW_SECONDS + 60)
        except Exception:
            logger.warning("Wrong status token not counted: the cache is unreachable")
    return found
