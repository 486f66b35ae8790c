"""Who may do what: every route and API operation against every kind of caller.

One table, ``ROWS``: each URL the resolver knows and each operation of the OpenAPI schema,
with the policy that guards it; ``POLICIES`` says, for each policy, which callers are let
in. The test calls every row as every caller and compares. A route or operation without a
row fails the test, so a new one cannot ship unguarded by accident. The admin is covered by
pattern: every registered model's changelist, add, change, delete and history pages, with
``ADMIN_MODELS`` saying who may view, add, change and delete each.

Allowed means the call got past authorization (any answer below 400, or a 400 or 409 about
the input or the state); denied means 401, 403, the owner pages' 404, or a redirect to a
sign-in page. A 500 fails the test whatever the row says. Denials are logged, and the log
holds none of the secrets the callers sent.
"""

from __future__ import annotations

import itertools
import logging
import re
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.models import Group, User
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from governance.releases import release_start
from optout.links import status_page_path, status_token_for
from optout.models import RemovalRequest
from optout.status_cookie import COOKIE_NAME
from registry import notes, receipts_format
from registry.checkpoints import checkpoint_signed
from registry.enums import TokenScope
from registry.models import PipelineToken
from registry.receipts import downstream_key_add, downstream_user_register, receipt_submit
from registry.tokens import token_create
from tests.factories import approve, make_dataset, make_request

pytestmark = pytest.mark.django_db(transaction=True)

ALLOW, DENY = "allow", "deny"
CALLERS = (
    "anonymous",
    "owner",  # with the right status token (its request's cookie, header or form field)
    "other_owner",  # with another request's token
    "reviewer",  # staff in the reviewer group
    "superuser",
    "token",  # a pipeline token with the scope: the control that allowing still works
    "token_without_scope",
    "token_expired",
    "token_revoked",
)


def _only(*allowed: str) -> dict[str, str]:
    return {caller: ALLOW if caller in allowed else DENY for caller in CALLERS}


POLICIES: dict[str, dict[str, str]] = {
    # Anyone; credentials are not read.
    "public": _only(*CALLERS),
    # Anyone, but a pipeline token sent along is checked: a dead one gets 401, not a
    # silent downgrade to anonymous (the registry's public endpoints).
    "public_token_checked": _only(
        *(c for c in CALLERS if c not in ("token_expired", "token_revoked"))
    ),
    # A pipeline token with registry:read.
    "registry_read": _only("token"),
    # The request's own status token, and nothing else (not even a superuser).
    "owner": _only("owner"),
    # A signed-in account (the forge sign-in of owners; maintainers are signed in too).
    "signed_in": _only("reviewer", "superuser"),
    # Maintainers: reviewers and superusers.
    "staff": _only("reviewer", "superuser"),
    "superuser": _only("superuser"),
    # Refused to everyone: records that change only through their services.
    "nobody": _only(),
}


@dataclass(frozen=True)
class Row:
    method: str
    route: str  # the resolver's pattern, as Django prints it
    url: str  # with {placeholders} filled from the world
    policy: str
    data: dict = field(default_factory=dict)
    json: bool = False
    fresh: bool = False  # changes its request: each caller gets a request of its own


R = Row
ROWS: list[Row] = [
    # --- the owners' and everyone's pages ---------------------------------------------
    R("GET", "", "/", "public"),
    R("GET", "healthz", "/healthz", "public"),
    R("GET", "policy/", "/policy/", "public"),
    R("GET", "transparency/", "/transparency/", "public"),
    R("GET", "downstream/", "/downstream/", "public"),
    R("GET", "datasets/", "/datasets/", "public"),
    R("GET", "datasets/<slug:name>/", "/datasets/demo/", "public"),
    R("GET", "datasets/<slug:name>/<str:version>/", "/datasets/demo/1.0.0/", "public"),
    R(
        "GET",
        "datasets/<slug:name>/<str:version>/files/<path:path>",
        "/datasets/demo/1.0.0/files/manifest.json",
        "public",
    ),
    R("GET", "mirror/<path:path>", "/mirror/log/checkpoint", "public"),
    R("GET", ".well-known/opt-out-log-key", "/.well-known/opt-out-log-key", "public_token_checked"),
    R("GET", "requests/new/", "/requests/new/", "public"),
    R(
        "POST",
        "requests/new/",
        "/requests/new/",
        "public",
        {"subjects": "octo/new", "contact_email": "n@example.org"},
    ),
    R("GET", "requests/links/", "/requests/links/", "public"),
    R("POST", "requests/links/", "/requests/links/", "public", {"contact_email": "n@example.org"}),
    R("GET", "requests/mine/", "/requests/mine/", "signed_in"),
    R("GET", "requests/<uuid:public_id>/", "/requests/{a}/", "owner"),
    R("GET", "requests/<uuid:public_id>/", "/requests/{a}/?token={token}", "owner"),
    R("POST", "requests/<uuid:public_id>/", "/requests/{a}/", "owner", {"token": "{token}"}),
    R(
        "POST",
        "requests/<uuid:public_id>/verify/",
        "/requests/{a}/verify/",
        "owner",
        {"token": "{token}"},
    ),
    R(
        "POST",
        "requests/<uuid:public_id>/withdraw/",
        "/requests/{a}/withdraw/",
        "owner",
        {"token": "{token}", "confirm": "on"},
        fresh=True,
    ),
    # --- sign-in (django-allauth): forms anyone may see; account pages need a sign-in ---
    R("GET", "accounts/login/", "/accounts/login/", "public"),
    R("GET", "accounts/logout/", "/accounts/logout/", "public"),
    R("GET", "accounts/inactive/", "/accounts/inactive/", "public"),
    R("GET", "accounts/signup/", "/accounts/signup/", "public"),
    R("GET", "accounts/reauthenticate/", "/accounts/reauthenticate/", "signed_in"),
    R("GET", "accounts/email/", "/accounts/email/", "signed_in"),
    R("GET", "accounts/confirm-email/", "/accounts/confirm-email/", "public"),
    R("GET", "accounts/password/change/", "/accounts/password/change/", "signed_in"),
    R("GET", "accounts/password/set/", "/accounts/password/set/", "signed_in"),
    R("GET", "accounts/password/reset/", "/accounts/password/reset/", "public"),
    # A step of the sign-in flow: without a sign-in under way, back to the login page.
    R("GET", "accounts/login/code/confirm/", "/accounts/login/code/confirm/", "signed_in"),
    R(
        "GET",
        "accounts/^confirm-email/(?P<key>[-:\\w]+)/$",
        "/accounts/confirm-email/nokey/",
        "public",
    ),
    R("GET", "accounts/password/reset/key/done/", "/accounts/password/reset/key/done/", "public"),
    R(
        "GET",
        "accounts/^password/reset/key/(?P<uidb36>[0-9A-Za-z]+)-(?P<key>.+)/$",
        "/accounts/password/reset/key/1-nokey/",
        "public",
    ),
    R("GET", "accounts/password/reset/done/", "/accounts/password/reset/done/", "public"),
    R("GET", "accounts/3rdparty/login/cancelled/", "/accounts/3rdparty/login/cancelled/", "public"),
    # allauth answers its error page with a 401, whoever asks.
    R("GET", "accounts/3rdparty/login/error/", "/accounts/3rdparty/login/error/", "nobody"),
    # No sign-up without a forge sign-in under way: to the login page.
    R("GET", "accounts/3rdparty/signup/", "/accounts/3rdparty/signup/", "nobody"),
    R("GET", "accounts/3rdparty/", "/accounts/3rdparty/", "signed_in"),
    R("GET", "accounts/social/login/cancelled/", "/accounts/social/login/cancelled/", "public"),
    R("GET", "accounts/social/login/error/", "/accounts/social/login/error/", "public"),
    R("GET", "accounts/social/signup/", "/accounts/social/signup/", "public"),
    R("GET", "accounts/social/connections/", "/accounts/social/connections/", "public"),
    R("GET", "accounts/github/login/", "/accounts/github/login/", "nobody"),
    R("GET", "accounts/github/login/callback/", "/accounts/github/login/callback/", "nobody"),
    R("GET", "accounts/gitlab/login/", "/accounts/gitlab/login/", "nobody"),
    R("GET", "accounts/gitlab/login/callback/", "/accounts/gitlab/login/callback/", "nobody"),
    # (Forge sign-in is not set up in the tests: optout/signin_urls.py answers 404.)
    # --- the API ------------------------------------------------------------------------
    R("GET", "api/schema/", "/api/schema/", "public"),
    R("GET", "api/docs/", "/api/docs/", "public"),
    R("GET", "api/v1/check", "/api/v1/check?repo=octo/a", "public_token_checked"),
    R("POST", "api/v1/check", "/api/v1/check", "registry_read", {"repos": ["octo/a"]}, json=True),
    R("GET", "api/v1/exclusions/export", "/api/v1/exclusions/export", "registry_read"),
    R("GET", "api/v1/exclusions/changes", "/api/v1/exclusions/changes?since=0", "registry_read"),
    R("GET", "api/v1/log/checkpoint", "/api/v1/log/checkpoint", "public_token_checked"),
    R("GET", "api/v1/log/key", "/api/v1/log/key", "public_token_checked"),
    R("GET", "api/v1/log/entries", "/api/v1/log/entries?start=0&end=1", "public_token_checked"),
    R(
        "GET",
        "api/v1/log/proof/inclusion",
        "/api/v1/log/proof/inclusion?index=0&size=2",
        "public_token_checked",
    ),
    R(
        "GET",
        "api/v1/log/proof/consistency",
        "/api/v1/log/proof/consistency?first=1&second=2",
        "public_token_checked",
    ),
    R("GET", "api/v1/receipts/", "/api/v1/receipts/", "public_token_checked"),
    R(
        "POST",
        "api/v1/receipts/",
        "/api/v1/receipts/",
        "registry_read",
        {"note": "not a note"},
        json=True,
    ),
    R("GET", "api/v1/receipts/checkpoint", "/api/v1/receipts/checkpoint", "public_token_checked"),
    R(
        "GET",
        "api/v1/receipts/proof/inclusion",
        "/api/v1/receipts/proof/inclusion?index=0&size=1",
        "public_token_checked",
    ),
    R(
        "GET",
        "api/v1/receipts/proof/consistency",
        "/api/v1/receipts/proof/consistency?first=1&second=1",
        "public_token_checked",
    ),
    R("GET", "api/v1/datasets/", "/api/v1/datasets/", "public"),
    R("GET", "api/v1/datasets/<slug:name>/versions/", "/api/v1/datasets/demo/versions/", "public"),
    R(
        "GET",
        "api/v1/datasets/<slug:name>/lookup",
        "/api/v1/datasets/demo/lookup?repo=octo/a",
        "public",
    ),
    R(
        "GET",
        "api/v1/datasets/<slug:name>/versions/<str:version>/changelog/",
        "/api/v1/datasets/demo/versions/1.0.0/changelog/",
        "public",
    ),
    R(
        "GET",
        "api/v1/datasets/<slug:name>/versions/<str:version>/verify/",
        "/api/v1/datasets/demo/versions/1.0.0/verify/",
        "public",
    ),
    R(
        "POST",
        "api/v1/datasets/<slug:name>/versions/<str:version>/verify/",
        "/api/v1/datasets/demo/versions/1.0.0/verify/",
        "public",
    ),
    R("GET", "api/v1/transparency", "/api/v1/transparency", "public"),
    R(
        "POST",
        "api/v1/requests/",
        "/api/v1/requests/",
        "public",
        {"subjects": ["octo/api"], "contact_email": "n@example.org"},
        json=True,
    ),
    R("GET", "api/v1/requests/<str:public_id>/", "/api/v1/requests/{a}/", "owner"),
    R(
        "POST",
        "api/v1/requests/<str:public_id>/verify/",
        "/api/v1/requests/{a}/verify/",
        "owner",
        json=True,
    ),
    R(
        "POST",
        "api/v1/requests/<str:public_id>/withdraw/",
        "/api/v1/requests/{a}/withdraw/",
        "owner",
        {},
        json=True,
        fresh=True,
    ),
    # --- the admin's own pages and the custom ones --------------------------------------
    R("GET", "admin/", "/admin/", "staff"),
    R("GET", "admin/login/", "/admin/login/", "public"),
    R("POST", "admin/logout/", "/admin/logout/", "public"),
    R("GET", "admin/password_change/", "/admin/password_change/", "staff"),
    R("GET", "admin/password_change/done/", "/admin/password_change/done/", "staff"),
    # No admin field uses autocomplete: Django refuses every call (403).
    R("GET", "admin/autocomplete/", "/admin/autocomplete/", "nobody"),
    R("GET", "admin/jsi18n/", "/admin/jsi18n/", "staff"),
    # No model here has a page of its own on the site (get_absolute_url): 404.
    R(
        "GET",
        "admin/r/<path:content_type_id>/<path:object_id>/",
        "/admin/r/{request_ct}/{request_pk}/",
        "nobody",
    ),
    R("GET", "admin/^(?P<app_label>auth|registry|optout|governance)/$", "/admin/optout/", "staff"),
    # Nothing there: a 404 for staff, the login page for everyone else.
    R("GET", "admin/(?P<url>.*)$", "/admin/no/such/page/", "nobody"),
    R(
        "POST",
        "admin/optout/removalrequest/<int:object_id>/decide/",
        "/admin/optout/removalrequest/{request_pk}/decide/",
        "staff",
        {"decision": "approve"},  # the request is approved already: nothing changes
    ),
    R(
        "GET",
        "admin/governance/datasetversion/<int:version_id>/progress/",
        "/admin/governance/datasetversion/{version_pk}/progress/",
        "staff",
    ),
    R(
        "POST",
        "admin/governance/datasetversion/<int:version_id>/retry/",
        "/admin/governance/datasetversion/{version_pk}/retry/",
        "staff",  # a published version is not retried: nothing changes
    ),
    R(
        "GET",
        "admin/auth/user/<id>/password/",
        "/admin/auth/user/{reviewer_pk}/password/",
        "superuser",
    ),
]

# Who may view (changelist, change page, history), add, change (POST) and delete each
# model in the admin. Reviewers see what they review; tokens, accounts and datasets'
# settings are the superuser's.
ADMIN_MODELS: dict[str, tuple[str, str, str, str]] = {
    "auth.Group": ("superuser", "superuser", "superuser", "superuser"),
    "auth.User": ("superuser", "superuser", "superuser", "superuser"),
    "optout.RemovalRequest": ("staff", "nobody", "nobody", "nobody"),
    "optout.VerificationAttempt": ("staff", "nobody", "nobody", "nobody"),
    "registry.Exclusion": ("staff", "nobody", "nobody", "nobody"),
    "registry.LogEntry": ("staff", "nobody", "nobody", "nobody"),
    "registry.SignedCheckpoint": ("staff", "nobody", "nobody", "nobody"),
    "registry.PipelineToken": ("superuser", "superuser", "superuser", "nobody"),
    "registry.DownstreamUser": ("superuser", "superuser", "nobody", "nobody"),
    "registry.DownstreamKey": ("superuser", "superuser", "nobody", "nobody"),
    "registry.Receipt": ("superuser", "nobody", "nobody", "nobody"),
    # Deleting one that has versions is refused (PROTECT): the page says so.
    "governance.Dataset": ("staff", "superuser", "superuser", "superuser"),
    "governance.DatasetVersion": ("staff", "nobody", "nobody", "nobody"),
    "governance.VersionVerification": ("staff", "nobody", "nobody", "nobody"),
}


def _admin_rows(objects: dict[str, int]) -> list[Row]:
    rows = []
    for label, (view, add, change, delete) in ADMIN_MODELS.items():
        app, model = label.lower().split(".")
        base = f"/admin/{app}/{model}/"
        pk = objects.get(label)
        rows += [
            R("GET", f"admin/{app}/{model}/", base, view),
            R("GET", f"admin/{app}/{model}/add/", f"{base}add/", add),
            R("POST", f"admin/{app}/{model}/add/", f"{base}add/", add, {"name": ""}),
        ]
        if pk is not None:
            rows += [
                # The old address of the change page: any staff member is redirected
                # there, where the model's own permission is checked.
                R("GET", f"admin/{app}/{model}/<path:object_id>/", f"{base}{pk}/", "staff"),
                R(
                    "GET",
                    f"admin/{app}/{model}/<path:object_id>/change/",
                    f"{base}{pk}/change/",
                    view,
                ),
                R(
                    "POST",
                    f"admin/{app}/{model}/<path:object_id>/change/",
                    f"{base}{pk}/change/",
                    change,
                ),
                R(
                    "GET",
                    f"admin/{app}/{model}/<path:object_id>/history/",
                    f"{base}{pk}/history/",
                    view,
                ),
                R(
                    "GET",
                    f"admin/{app}/{model}/<path:object_id>/delete/",
                    f"{base}{pk}/delete/",
                    delete,
                ),
            ]
    return rows


# --- the world the rows are called in ---------------------------------------------------


@dataclass
class World:
    a: RemovalRequest  # the owner's request (approved: checks and decisions change nothing)
    b: RemovalRequest  # another owner's
    reviewer: User
    superuser: User
    tokens: dict[str, str]  # caller -> key
    values: dict[str, object]
    secrets: list[str]


def _reviewer_group() -> Group:
    import importlib

    from django.apps import apps as django_apps

    migration = importlib.import_module("governance.migrations.0005_reviewer_group")
    if not Group.objects.filter(name="reviewer").exists():
        migration.create_reviewer_group(django_apps, None)
    return Group.objects.get(name="reviewer")


def _one_receipt(token: PipelineToken) -> None:
    key = Ed25519PrivateKey.generate()
    user = downstream_user_register(name="reader", token=token)
    downstream_key_add(user=user, verifier_key=str(notes.verifier_key_for("reader-1", key)))
    body = receipts_format.ReceiptBody(
        origin=settings.LOG_NAME,
        user="reader",
        dataset="reader-code",
        size=1,
        root=checkpoint_signed(1).root_hash,
        manifest_sha256="",
        applied_at=timezone.now(),
    )
    note = notes.sign_note(receipts_format.receipt_text(body), "reader-1", key)
    receipt_submit(note=note, token=token)


def _build_world(tmp_path) -> World:
    dataset = make_dataset(tmp_path)
    a = approve(make_request(["github.com/owner-00001/repo-a"], email="a@example.org"))
    b = make_request(["github.com/owner-00002/repo-b"], email="b@example.org")
    version = release_start(dataset_id=dataset.id)
    Client().post("/api/v1/datasets/demo/versions/1.0.0/verify/")  # so that GET has one
    reviewer = User.objects.create_user("rita", password="pw-rita-123456", is_staff=True)
    reviewer.groups.add(_reviewer_group())
    superuser = User.objects.create_superuser("root", "r@example.org", "pw-root-123456")
    good_token, good = token_create(name="reader", scopes=[TokenScope.REGISTRY_READ])
    _one_receipt(good_token)  # so that the receipts log's proofs have an entry to prove
    _, unscoped = PipelineToken.objects.create_key(name="no scope", scopes="")
    expired_token, expired = token_create(name="expired", scopes=[TokenScope.REGISTRY_READ])
    PipelineToken.objects.filter(id=expired_token.id).update(
        expiry_date=timezone.now() - timedelta(days=1)
    )
    revoked_token, revoked = token_create(name="revoked", scopes=[TokenScope.REGISTRY_READ])
    PipelineToken.objects.filter(id=revoked_token.id).update(revoked=True)
    from django.contrib.contenttypes.models import ContentType

    objects = {
        "auth.Group": Group.objects.get(name="reviewer").id,
        "auth.User": reviewer.id,
        "optout.RemovalRequest": a.id,
        "registry.PipelineToken": expired_token.id,
        "governance.Dataset": dataset.id,
        "governance.DatasetVersion": version.id,
    }
    for label in ADMIN_MODELS:
        model = django_apps_get(label)
        first = model.objects.order_by("pk").first()
        if label not in objects and first is not None:
            objects[label] = first.pk
    tokens = {
        "token": good,
        "token_without_scope": unscoped,
        "token_expired": expired,
        "token_revoked": revoked,
    }
    return World(
        a=a,
        b=b,
        reviewer=reviewer,
        superuser=superuser,
        tokens=tokens,
        values={
            "request_pk": a.id,
            "reviewer_pk": reviewer.id,
            "request_ct": ContentType.objects.get_for_model(RemovalRequest).id,
            "version_pk": version.id,
            "objects": objects,
        },
        secrets=[
            status_token_for(a.public_id),
            status_token_for(b.public_id),
            *tokens.values(),
            "pw-rita-123456",
            "pw-root-123456",
        ],
    )


def django_apps_get(label: str):
    from django.apps import apps as django_apps

    return django_apps.get_model(label)


_ADDRESSES = itertools.count(1)


def _caller(name: str, world: World, target: RemovalRequest) -> tuple[Client, dict, str]:
    """A client for ``name`` (its own address, so no throttle counts across cells), the
    headers it sends, and the status token it knows (if any)."""
    number = next(_ADDRESSES)
    client = Client(REMOTE_ADDR=f"10.{number // 65536 % 256}.{number // 256 % 256}.{number % 256}")
    headers: dict = {}
    token = ""
    if name in ("owner", "other_owner"):
        held = target if name == "owner" else world.b
        token = status_token_for(held.public_id)
        client.post(status_page_path(held.public_id), {"token": token})  # its cookie
        headers["HTTP_X_STATUS_TOKEN"] = token
    elif name in ("reviewer", "superuser"):
        client.force_login(world.reviewer if name == "reviewer" else world.superuser)
    elif name.startswith("token"):
        headers["HTTP_AUTHORIZATION"] = f"Api-Key {world.tokens[name]}"
    return client, headers, token


_SIGN_IN = re.compile(r"/(admin/login|accounts/login)/")


def _outcome(response) -> str:
    code = response.status_code
    if code >= 500:
        return f"error {code}"
    if code in (401, 403, 404):
        return DENY
    if code in (301, 302, 303) and _SIGN_IN.search(response.get("Location", "")):
        return DENY
    return ALLOW


def _call(row: Row, world: World, caller: str) -> tuple[str, int]:
    target = make_request([f"github.com/fresh/r{next(_ADDRESSES)}"]) if row.fresh else world.a
    if row.fresh:
        approve(target)
    client, headers, token = _caller(caller, world, target)
    client.raise_request_exception = False  # a 500 is an answer to report, like any other
    fill = {"a": target.public_id, "token": token, **world.values}
    url = row.url.format(**fill)
    data = {k: (v.format(**fill) if isinstance(v, str) else v) for k, v in row.data.items()}
    if row.method == "GET":
        response = client.get(url, **headers)
    elif row.json:
        response = client.post(url, data, content_type="application/json", **headers)
    else:
        response = client.post(url, data, **headers)
    return _outcome(response), response.status_code


# --- coverage: every route and every operation has a row --------------------------------


def _routes(patterns=None, prefix: str = "") -> list[str]:
    found = []
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            found += _routes(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            found.append(prefix + str(pattern.pattern))
    return found


def _schema_operations(client) -> set[tuple[str, str]]:
    schema = client.get("/api/schema/?format=json").json()
    return {
        (method.upper(), path)
        for path, operations in schema["paths"].items()
        for method in operations
        if method in ("get", "post", "put", "patch", "delete")
    }


def _as_schema_path(route: str) -> str:
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)


def test_every_route_and_operation_has_a_row(client) -> None:
    rows = ROWS + _admin_rows({label: 1 for label in ADMIN_MODELS})
    routes = {row.route for row in rows}
    resolved = _routes()  # loads the URLconf, which also settles the admin's registry
    admin_models = {model._meta.label for model in admin.site._registry}
    assert admin_models == set(ADMIN_MODELS), "a model registered in the admin needs a row"
    missing = [
        route for route in resolved if route not in routes and not route.startswith("static/")
    ]
    assert missing == [], missing
    operations = {(row.method, _as_schema_path(row.route)) for row in rows}
    assert sorted(_schema_operations(client) - operations) == [], operations
    assert set(POLICIES) >= {row.policy for row in rows}


def test_every_caller_gets_exactly_what_its_row_allows(tmp_path, caplog, settings) -> None:
    world = _build_world(tmp_path)
    rows = ROWS + _admin_rows(world.values["objects"])
    caplog.set_level(logging.DEBUG)
    unexpected = []
    denials = 0
    for row in rows:
        for caller in CALLERS:
            expected = POLICIES[row.policy][caller]
            got, code = _call(row, world, caller)
            denials += got == DENY
            if got != expected:
                unexpected.append(
                    f"{row.method} {row.url} as {caller}: {got} ({code}), want {expected}"
                )
    assert unexpected == [], "\n".join(unexpected)
    assert denials > 500
    # Denials are logged (401, 403 and 404 by django.request, wrong status tokens by the
    # owner pages), and no log record holds a secret any caller sent.
    messages = [record.getMessage() for record in caplog.records]
    assert any(m.startswith("Unauthorized: /api/v1/exclusions/export") for m in messages)
    assert any(m.startswith("Forbidden (Permission denied): /admin/") for m in messages)
    assert any(m.startswith("Wrong status token for request ") for m in messages)
    leaked = [(secret, m) for m in messages for secret in world.secrets if secret in m]
    assert leaked == []
    cookie = [r for r in caplog.records if COOKIE_NAME in r.getMessage()]
    assert cookie == []
