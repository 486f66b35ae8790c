"""Sign-in locks after 5 failures from one address, for the admin and allauth alike, with
the same answer whatever the username; there is no local sign-up."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.test import Client

pytestmark = pytest.mark.django_db

ADMIN_LOGIN = "/admin/login/"
ACCOUNT_LOGIN = "/accounts/login/"


@pytest.fixture(autouse=True)
def _fast_hasher(settings) -> None:
    # Each attempt hashes a password; the default hasher is slow on purpose.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def maintainer() -> User:
    return User.objects.create_superuser("maint", "m@example.org", "a-long-password-42")


def _admin_attempt(client: Client, username: str, password: str = "wrong-password"):
    return client.post(f"{ADMIN_LOGIN}?next=/admin/", {"username": username, "password": password})


def _account_attempt(client: Client, username: str, password: str = "wrong-password"):
    return client.post(ACCOUNT_LOGIN, {"login": username, "password": password})


def _without_noise(response, username: str) -> str:
    """The page minus what differs between any two requests: the CSRF token, and the
    username the form echoes back to whoever typed it."""
    html = response.content.decode()
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)
    return html.replace(f'value="{username}"', 'value=""')


def test_the_admin_login_locks_after_5_failures_with_any_username(client, maintainer) -> None:
    for attempt in range(4):
        refused = _admin_attempt(client, "maint" if attempt % 2 else "nobody")
        assert refused.status_code == 200
        assert "Please enter the correct username and password" in refused.content.decode()

    fifth = _admin_attempt(client, "maint")
    assert fifth.status_code == 429
    assert "Sign-in is locked for this network address after 5 failed attempts." in (
        fifth.content.decode()
    )
    assert fifth["Retry-After"] == "1800"

    right_password = _admin_attempt(client, "maint", "a-long-password-42")
    unknown_user = _admin_attempt(client, "nobody-at-all", "a-long-password-42")
    assert right_password.status_code == unknown_user.status_code == 429
    assert right_password.content == unknown_user.content
    assert client.get("/admin/").status_code == 302  # still not signed in


def test_a_failure_reads_the_same_for_a_real_and_an_unknown_username(maintainer) -> None:
    real = _admin_attempt(Client(), "maint")
    unknown = _admin_attempt(Client(REMOTE_ADDR="10.0.0.2"), "nobody")
    assert real.status_code == unknown.status_code == 200
    assert _without_noise(real, "maint") == _without_noise(unknown, "nobody")


def test_another_address_is_not_locked(maintainer) -> None:
    attacker = Client(REMOTE_ADDR="203.0.113.7")
    for _ in range(5):
        _admin_attempt(attacker, "maint")
    assert _admin_attempt(attacker, "maint", "a-long-password-42").status_code == 429

    colleague = Client(REMOTE_ADDR="198.51.100.1")
    signed_in = _admin_attempt(colleague, "maint", "a-long-password-42")
    assert (signed_in.status_code, signed_in.url) == (302, "/admin/")


def test_allauth_login_locks_after_5_failures_too(client, maintainer) -> None:
    for _ in range(4):
        assert _account_attempt(client, "maint").status_code == 200
    assert _account_attempt(client, "maint").status_code == 429
    # Past allauth's own per-username count too, every username reads the same page.
    answers = [_account_attempt(client, name) for name in ("maint", "maint", "nobody")]
    assert {a.status_code for a in answers} == {429}
    assert len({a.content for a in answers}) == 1
    assert "Sign-in is locked" in answers[0].content.decode()
    assert "<title>Sign-in locked | Opt-out portal</title>" in answers[0].content.decode()
    # The lock covers both doors: the admin's login refuses this address as well.
    assert _admin_attempt(client, "maint", "a-long-password-42").status_code == 429


def test_behind_a_trusted_proxy_each_client_is_counted_apart(settings, maintainer) -> None:
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    proxy = "10.0.0.1"
    attacker = Client(REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR="203.0.113.7")
    for _ in range(5):
        _admin_attempt(attacker, "maint")
    assert _admin_attempt(attacker, "maint").status_code == 429
    colleague = Client(REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR="198.51.100.1")
    assert _admin_attempt(colleague, "maint", "a-long-password-42").status_code == 302


def test_without_a_trusted_proxy_a_forged_forwarded_for_changes_nothing(maintainer) -> None:
    for number in range(5):
        Client(HTTP_X_FORWARDED_FOR=f"192.0.2.{number}").post(
            ADMIN_LOGIN, {"username": "maint", "password": "wrong"}
        )
    fresh_header = Client(HTTP_X_FORWARDED_FOR="192.0.2.99")
    assert _admin_attempt(fresh_header, "maint", "a-long-password-42").status_code == 429


def test_there_is_no_local_sign_up(client) -> None:
    page = client.get("/accounts/signup/")
    assert page.status_code == 200
    assert "Sign Up Closed" in page.content.decode()
    client.post(
        "/accounts/signup/",
        {
            "username": "mallory",
            "password1": "a-long-password-42",
            "password2": "a-long-password-42",
        },
    )
    assert not User.objects.filter(username="mallory").exists()


def test_the_sign_in_page_offers_forge_sign_in_and_no_local_account(client) -> None:
    page = client.get("/accounts/login/").content.decode()
    assert page.count("<h1>") == 1 and '<html lang="en">' in page
    assert "Sign-in with a forge account is not set up on this portal." in page
    assert 'href="/requests/links/"' in page and 'href="/admin/login/"' in page
    assert "/accounts/signup/" not in page and 'name="password"' not in page
