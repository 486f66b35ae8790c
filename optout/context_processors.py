"""What every page's header needs from optout."""

from __future__ import annotations

from django.http import HttpRequest

from optout.forge_signin import configured_providers


def forge_signin(request: HttpRequest) -> dict[str, bool]:
    """Whether forge sign-in is configured: only then does "Signed-in requests" (the
    requests a forge account proved) lead anywhere, so only then is it linked."""
    return {"forge_signin_enabled": bool(configured_providers())}
