"""Forge sign-in's entry points while a forge has no OAuth app: a 404 that says so."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "path",
    [
        "/accounts/github/login/",
        "/accounts/github/login/callback/",
        "/accounts/gitlab/login/",
        "/accounts/gitlab/login/callback/",
    ],
)
def test_sign_in_with_a_forge_that_is_not_set_up_is_a_404_not_a_500(client, path) -> None:
    client.raise_request_exception = False
    response = client.get(path)
    assert response.status_code == 404


def test_a_forge_that_is_set_up_signs_in_through_allauth(client, settings) -> None:
    settings.SOCIALACCOUNT_PROVIDERS = {
        **settings.SOCIALACCOUNT_PROVIDERS,
        "github": {**settings.SOCIALACCOUNT_PROVIDERS["github"], "APPS": [{"client_id": "cid"}]},
    }
    response = client.post("/accounts/github/login/")
    assert response.status_code == 302
    assert response["Location"].startswith("https://github.com/login/oauth/authorize?client_id=cid")
