"""Forge sign-in's entry points, answered with a 404 while the forge has no OAuth app.

allauth's GitHub and GitLab views raise ``SocialApp.DoesNotExist`` (a 500) when no app is
configured; these routes, mounted before allauth's under ``/accounts/``, say instead that
sign-in with that forge is off here, and hand over to allauth's own views when it is on.
"""

from __future__ import annotations

from collections.abc import Callable

from allauth.socialaccount.providers.github import views as github
from allauth.socialaccount.providers.gitlab import views as gitlab
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import path

from optout.forge_signin import configured_providers

_LABELS = {"github": "GitHub", "gitlab": "GitLab"}


def _when_configured(
    provider: str, view: Callable[..., HttpResponse]
) -> Callable[..., HttpResponse]:
    def guarded(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        if provider not in configured_providers():
            raise Http404(f"Sign-in with {_LABELS[provider]} is not set up on this portal.")
        return view(request, *args, **kwargs)

    return guarded


urlpatterns = [
    path("github/login/", _when_configured("github", github.oauth2_login)),
    path("github/login/callback/", _when_configured("github", github.oauth2_callback)),
    path("gitlab/login/", _when_configured("gitlab", gitlab.oauth2_login)),
    path("gitlab/login/callback/", _when_configured("gitlab", gitlab.oauth2_callback)),
]
