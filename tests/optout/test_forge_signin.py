"""Forge sign-in: django-allauth's GitLab and GitHub providers against a fake forge on loopback.

The whole OAuth2 round trip runs for real (state and PKCE checked by the fake forge's
token endpoint), then the permission API is asked through the portal's safe fetcher.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from allauth.socialaccount.models import SocialAccount, SocialToken
from allauth.socialaccount.providers.github.views import GitHubOAuth2Adapter
from django.utils import timezone

from optout.enums import RequestStatus, VerificationMethod
from optout.links import status_path, status_token_for
from optout.models import VerificationAttempt
from optout.tasks import expire_unverified
from optout.verification import request_verify
from registry.forges import Forge, NameRule
from tests.factories import make_request

pytestmark = pytest.mark.django_db

_RULE = NameRule(re.compile(r"[a-z0-9][a-z0-9._-]*"), 100, "lower-case letters and digits")
ACCESS_TOKEN = "forge-token-1"


class OAuthForge:
    """Token endpoint with PKCE checking, and the users/groups/repositories it knows."""

    def __init__(self, server, flavour: str) -> None:
        self.server, self.flavour = server, flavour
        self.challenges: list[str] = []
        prefix = "/api/v4" if flavour == "gitlab" else "/api/v3"
        token_path = "/oauth/token" if flavour == "gitlab" else "/login/oauth/access_token"
        server.routes[token_path] = self.token
        self.prefix = prefix
        self.api("/user", {"id": 4242, "username": "alice", "login": "alice", "name": "Alice"})

    def api(self, path: str, payload: object) -> None:
        def answer(handler, body):
            query = parse_qs(urlsplit(handler.path).query)
            authorised = handler.headers.get("Authorization") in {
                f"Bearer {ACCESS_TOKEN}",
                f"token {ACCESS_TOKEN}",
            } or query.get("access_token") == [ACCESS_TOKEN]
            if not authorised:
                return 401, {"Content-Type": "application/json"}, b'{"message": "401"}'
            return 200, {"Content-Type": "application/json"}, json.dumps(payload).encode()

        self.server.routes[self.prefix + path] = answer

    def token(self, handler, body):
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        verifier = form.get("code_verifier", "")
        digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        pkce_ok = digest.decode().rstrip("=") in self.challenges
        if form.get("code") != "c0de" or not pkce_ok or form.get("client_id") != "cid":
            return 400, {"Content-Type": "application/json"}, b'{"error": "invalid_grant"}'
        payload = {"access_token": ACCESS_TOKEN, "token_type": "bearer", "scope": "read"}
        return 200, {"Content-Type": "application/json"}, json.dumps(payload).encode()


def _forge(base: str, flavour: str) -> Forge:
    return Forge(
        host=f"{flavour}.loopback.test",
        label=f"Loopback {flavour}",
        case_sensitive=False,
        owner_rule=_RULE,
        name_rule=_RULE,
        nested_groups=flavour == "gitlab",
        max_group_depth=5,
        web_base_url=base,
        api_base_url=base + ("/api/v4" if flavour == "gitlab" else "/api/v3"),
        api_flavour=flavour,
        signin_provider=flavour,
    )


@pytest.fixture
def gitlab(fake_forge, settings) -> OAuthForge:
    settings.REGISTRY_EXTRA_FORGES = [_forge(fake_forge.base_url, "gitlab")]
    settings.SOCIALACCOUNT_PROVIDERS = {
        **settings.SOCIALACCOUNT_PROVIDERS,
        "gitlab": {
            "APPS": [{"client_id": "cid", "secret": "shh"}],
            "SCOPE": ["read_api"],
            "OAUTH_PKCE_ENABLED": True,
            "GITLAB_URL": fake_forge.base_url,
        },
    }
    return OAuthForge(fake_forge, "gitlab")


@pytest.fixture
def github(fake_forge, settings, monkeypatch) -> OAuthForge:
    settings.REGISTRY_EXTRA_FORGES = [_forge(fake_forge.base_url, "github")]
    settings.SOCIALACCOUNT_PROVIDERS = {
        **settings.SOCIALACCOUNT_PROVIDERS,
        "github": {
            "APPS": [{"client_id": "cid", "secret": "shh"}],
            "SCOPE": ["read:org"],
            "OAUTH_PKCE_ENABLED": True,
            "GITHUB_URL": fake_forge.base_url,
        },
    }
    # allauth's GitHub adapter reads GITHUB_URL once, when its module is imported; the
    # test's forge gets a fresh port, so its URLs are set here to what GITHUB_URL gives.
    base, api = fake_forge.base_url, fake_forge.base_url + "/api/v3"
    for name, value in {
        "web_url": base,
        "api_url": api,
        "access_token_url": f"{base}/login/oauth/access_token",
        "authorize_url": f"{base}/login/oauth/authorize",
        "profile_url": f"{api}/user",
        "emails_url": f"{api}/user/emails",
    }.items():
        monkeypatch.setattr(GitHubOAuth2Adapter, name, value)
    return OAuthForge(fake_forge, "github")


def _sign_in(client, forge: OAuthForge, next_url: str = "/requests/mine/", *, state=None):
    started = client.post(f"/accounts/{forge.flavour}/login/?process=login&next={next_url}")
    assert started.status_code == 302
    location = urlsplit(started["Location"])
    assert location.netloc == urlsplit(forge.server.base_url).netloc
    query = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert query["code_challenge_method"] == "S256"
    forge.challenges.append(query["code_challenge"])
    callback = f"/accounts/{forge.flavour}/login/callback/"
    return client.get(callback, {"code": "c0de", "state": state or query["state"]})


def test_signing_in_with_gitlab_runs_oauth_with_state_and_pkce(client, gitlab) -> None:
    response = _sign_in(client, gitlab)
    assert response.status_code == 302
    assert response["Location"] == "/requests/mine/"
    account = SocialAccount.objects.get()
    assert (account.provider, account.uid) == ("gitlab", "4242")
    assert client.get("/requests/mine/").status_code == 200


def test_a_forged_state_is_refused(client, gitlab) -> None:
    _sign_in(client, gitlab, state="forged-state")
    assert SocialAccount.objects.count() == 0
    assert "_auth_user_id" not in client.session


def _check_now(client, request):
    token = status_token_for(request.public_id)
    client.post(f"/requests/{request.public_id}/verify/", {"token": token})
    request.refresh_from_db()
    return request


def test_a_gitlab_user_proves_their_own_namespace(client, gitlab) -> None:
    request = make_request(["gitlab.loopback.test/alice"])
    _sign_in(client, gitlab)
    request = _check_now(client, request)
    assert request.status == RequestStatus.VERIFIED
    attempt = VerificationAttempt.objects.get(succeeded=True)
    assert attempt.method == VerificationMethod.FORGE_SIGNIN
    assert attempt.message == "Signed in as alice, the namespace itself."
    assert attempt.evidence["forge_account_id"] == 4242
    assert request.claimed_by.socialaccount_set.get().uid == "4242"
    mine = client.get("/requests/mine/").content.decode()
    assert (
        status_path(request.public_id, status_token_for(request.public_id)).replace("&", "&amp;")
        in mine
    )


def test_a_gitlab_group_owner_proves_a_subgroup_and_a_developer_does_not(client, gitlab) -> None:
    gitlab.api("/groups/acme%2Fplatform", {"id": 77, "full_path": "acme/platform"})
    gitlab.api("/groups/77/members/all/4242", {"id": 4242, "access_level": 50})
    gitlab.api("/groups/acme%2Fdocs", {"id": 78, "full_path": "acme/docs"})
    gitlab.api("/groups/78/members/all/4242", {"id": 4242, "access_level": 30})
    owned = make_request(["gitlab.loopback.test/acme/platform/*"])
    not_owned = make_request(["gitlab.loopback.test/acme/docs/*"], email="b@example.org")
    _sign_in(client, gitlab)
    assert _check_now(client, owned).status == RequestStatus.VERIFIED
    _sign_in(client, gitlab)  # each sign-in serves one check
    assert _check_now(client, not_owned).status == RequestStatus.PENDING_VERIFICATION
    messages = list(
        VerificationAttempt.objects.filter(method=VerificationMethod.FORGE_SIGNIN)
        .order_by("id")
        .values_list("message", "evidence__forge_group_id")
    )
    assert messages == [
        ("alice is an owner of the group acme/platform.", 77),
        ("alice is not an owner of the group acme/docs.", 78),
    ]


def test_a_gitlab_maintainer_proves_a_project_and_its_id_is_recorded(client, gitlab) -> None:
    gitlab.api(
        "/projects/acme%2Ftool",
        {"id": 901, "permissions": {"project_access": {"access_level": 40}, "group_access": None}},
    )
    request = make_request(["gitlab.loopback.test/acme/tool"])
    _sign_in(client, gitlab)
    assert _check_now(client, request).status == RequestStatus.VERIFIED
    attempt = VerificationAttempt.objects.get(method=VerificationMethod.FORGE_SIGNIN)
    assert (attempt.evidence["forge_repository_id"], attempt.evidence["forge_account_id"]) == (
        901,
        4242,
    )


def test_a_github_org_owner_and_repository_admin_prove_control(client, github) -> None:
    github.api("/user/memberships/orgs/acme", {"state": "active", "role": "admin"})
    github.api("/repos/other/tool", {"id": 555, "permissions": {"admin": True}})
    github.api("/repos/other/docs", {"id": 556, "permissions": {"admin": False, "push": True}})
    request = make_request(
        [
            "github.loopback.test/acme",
            "github.loopback.test/other/tool",
            "github.loopback.test/other/docs",
        ]
    )
    _sign_in(client, github)
    request = _check_now(client, request)
    assert request.status == RequestStatus.PENDING_VERIFICATION
    results = {
        a.subject.subject: (a.succeeded, a.message)
        for a in VerificationAttempt.objects.filter(method=VerificationMethod.FORGE_SIGNIN)
    }
    assert results == {
        "github.loopback.test/acme": (True, "alice is an owner of the organisation acme."),
        "github.loopback.test/other/tool": (
            True,
            "alice is an admin of github.loopback.test/other/tool.",
        ),
        "github.loopback.test/other/docs": (
            False,
            "alice is not an admin of github.loopback.test/other/docs.",
        ),
    }


def test_without_sign_in_the_method_does_not_apply(gitlab) -> None:
    request = make_request(["gitlab.loopback.test/alice"])
    report = request_verify(request_id=request.id)
    assert {a.method for a in report.attempts} == {VerificationMethod.NAMESPACE_REPOSITORY}
    assert gitlab.server.requests[-1][1].startswith("/alice/dataset-optout-")


def test_a_renamed_repository_is_reported_as_moved(client, github) -> None:
    github.server.routes["/api/v3/repos/alice/old-name"] = (
        301,
        {"Location": f"{github.server.base_url}/api/v3/repositories/555"},
        b"",
    )
    request = make_request(["github.loopback.test/alice/old-name"])
    _sign_in(client, github)
    _check_now(client, request)
    attempt = VerificationAttempt.objects.get(method=VerificationMethod.FORGE_SIGNIN)
    assert attempt.message == (
        "Loopback github could not confirm your access: the name has moved (renamed or "
        "transferred); request the current name"
    )


def test_the_forge_token_is_deleted_once_the_check_is_recorded(client, gitlab) -> None:
    request = make_request(["gitlab.loopback.test/alice"])
    _sign_in(client, gitlab)
    assert list(SocialToken.objects.values_list("token", flat=True)) == [ACCESS_TOKEN]
    assert _check_now(client, request).status == RequestStatus.VERIFIED
    assert SocialToken.objects.count() == 0
    # The account stays (it lists the request as its own); only the secret is gone.
    assert list(SocialAccount.objects.values_list("uid", flat=True)) == ["4242"]
    assert VerificationAttempt.objects.get().evidence["forge_account_id"] == 4242


def _revocations(forge: OAuthForge) -> list[dict]:
    """Record what the forge is asked to revoke, answering as the real forge does."""
    asked: list[dict] = []

    def revoke(handler, body):
        asked.append({"auth": handler.headers.get("Authorization"), "body": body.decode()})
        return (204, {}, b"") if forge.flavour == "github" else (200, {}, b"{}")

    path = "/api/v3/applications/cid/token" if forge.flavour == "github" else "/oauth/revoke"
    forge.server.routes[path] = revoke
    return asked


@pytest.mark.parametrize("flavour", ["gitlab", "github"])
def test_a_used_token_is_revoked_at_the_forge_after_commit(
    client, request, flavour, django_capture_on_commit_callbacks
) -> None:
    forge = request.getfixturevalue(flavour)
    forge.api("/user/orgs", [])
    asked = _revocations(forge)
    removal = make_request([f"{flavour}.loopback.test/alice"])
    _sign_in(client, forge)
    with django_capture_on_commit_callbacks(execute=True):
        _check_now(client, removal)
    assert SocialToken.objects.count() == 0
    if flavour == "github":
        assert asked == [
            {"auth": "Basic " + base64.b64encode(b"cid:shh").decode(),
             "body": json.dumps({"access_token": ACCESS_TOKEN})}
        ]  # fmt: skip
    else:
        assert asked == [
            {"auth": None, "body": f"token={ACCESS_TOKEN}&client_id=cid&client_secret=shh"}
        ]


def test_a_revocation_the_forge_refuses_is_logged_not_raised(client, gitlab, caplog) -> None:
    from optout.forge_signin import signin_token_revoke

    assert signin_token_revoke("gitlab", ACCESS_TOKEN) is False  # no route: the forge 404s
    assert "gitlab answered 404 to revoking a sign-in token" in caplog.text
    assert ACCESS_TOKEN not in caplog.text
    asked = _revocations(gitlab)
    assert signin_token_revoke("gitlab", ACCESS_TOKEN) is True and len(asked) == 1


def test_a_failed_check_also_deletes_the_token_and_the_next_needs_a_new_sign_in(
    client, gitlab
) -> None:
    gitlab.api("/groups/acme", {"id": 80, "full_path": "acme"})
    gitlab.api("/groups/80/members/all/4242", {"id": 4242, "access_level": 30})
    request = make_request(["gitlab.loopback.test/acme"])
    _sign_in(client, gitlab)
    assert _check_now(client, request).status == RequestStatus.PENDING_VERIFICATION
    assert SocialToken.objects.count() == 0
    asked = len(gitlab.server.requests)
    _check_now(client, request)
    methods = list(VerificationAttempt.objects.order_by("id").values_list("method", "message"))
    assert methods[0] == ("forge_signin", "alice is not an owner of the group acme.")
    assert [m for m, _ in methods[1:]] == ["namespace_repository", "namespace_repository"]
    # The second check asked the forge's git, never its API with a token.
    assert [path for _, path in gitlab.server.requests[asked:]] == [
        f"/acme/dataset-optout-{request.verification_token}.git/info/refs?service=git-upload-pack"
    ]


def test_a_token_no_check_used_is_forgotten_an_hour_after_sign_in(
    client, gitlab, django_capture_on_commit_callbacks
) -> None:
    asked = _revocations(gitlab)
    _sign_in(client, gitlab)
    expire_unverified.delay().get()  # the periodic job that forgets stale tokens
    assert SocialToken.objects.count() == 1
    # update() leaves last_login as given (auto_now applies only on save).
    SocialAccount.objects.update(last_login=timezone.now() - timedelta(minutes=61))
    with django_capture_on_commit_callbacks(execute=True):
        expire_unverified.delay().get()
    assert SocialToken.objects.count() == 0
    assert [a["body"].split("&")[0] for a in asked] == [f"token={ACCESS_TOKEN}"]
    assert SocialAccount.objects.count() == 1
