"""What each role may do in the admin: reviewers review and release; superusers also
manage datasets and tokens; other staff see only what they were granted."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, Permission, User
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client

from governance.enums import VersionStatus
from governance.models import Dataset, DatasetVersion
from governance.releases import release_start
from governance.releases.errors import version_fail
from optout.enums import RequestStatus
from optout.services import request_transition
from registry.models import Exclusion, PipelineToken
from registry.tokens import token_create
from tests.factories import approve, make_dataset, make_request

reviewer_migration = importlib.import_module("governance.migrations.0005_reviewer_group")

QUEUE = "/admin/optout/removalrequest/"


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def reviewer(db) -> User:
    # A test that flushes the database (transaction=True) also removes the group the
    # migration made; the migration's own function puts it back.
    if not Group.objects.filter(name="reviewer").exists():
        reviewer_migration.create_reviewer_group(apps, None)
    user = User.objects.create_user("rita", password="x", is_staff=True)
    user.groups.add(Group.objects.get(name="reviewer"))
    return user


@pytest.fixture
def reviewer_client(reviewer) -> Client:
    return _client(reviewer)


@pytest.fixture
def staff_client(db) -> Client:
    """Staff with no group: may sign in, may do nothing."""
    return _client(User.objects.create_user("sam", password="x", is_staff=True))


def _verified(line: str):
    request = make_request([line])
    return request_transition(
        request_id=request.id, to_status=RequestStatus.VERIFIED, actor_label="test"
    )


def _actions(client: Client, url: str) -> set[str]:
    page = client.get(url)
    assert page.status_code == 200
    form = page.context["action_form"]  # None when no action is offered
    return {name for name, _ in form.fields["action"].choices if name} if form else set()


# --- The group ---------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_migration_creates_the_reviewer_group_and_removes_it_when_reversed() -> None:
    executor = MigrationExecutor(connection)
    executor.migrate([("governance", "0004_shard_rows_done")])
    assert not Group.objects.filter(name="reviewer").exists()
    executor.loader.build_graph()
    # Forward to every app's newest migration, not to 0005: a later migration left
    # unapplied would break every test after this one.
    executor.migrate(executor.loader.graph.leaf_nodes())
    group = Group.objects.get(name="reviewer")
    codenames = set(group.permissions.values_list("content_type__app_label", "codename"))
    assert {
        ("optout", "review_removalrequest"),
        ("registry", "revoke_exclusion"),
        ("governance", "release_dataset"),
        ("optout", "view_removalrequest"),
        ("governance", "view_dataset"),
    } <= codenames
    assert not {c for _, c in codenames if c.startswith(("add_", "change_", "delete_"))}
    assert not {c for c in codenames if c[1].endswith("pipelinetoken")}


# --- Reviewers ---------------------------------------------------------------------------


def test_a_reviewer_approves_and_rejects_on_the_request_page(reviewer_client) -> None:
    first, second = _verified("octo/a"), _verified("octo/b")
    page = reviewer_client.get(f"{QUEUE}{first.id}/change/").content.decode()
    assert 'value="approve"' in page and 'value="reject"' in page

    reviewer_client.post(f"{QUEUE}{first.id}/decide/", {"decision": "approve"})
    reviewer_client.post(f"{QUEUE}{second.id}/decide/", {"decision": "reject", "reason": "No."})

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == (RequestStatus.APPROVED, RequestStatus.REJECTED)
    assert first.events.last().actor_label == "rita"
    assert _actions(reviewer_client, QUEUE) == {"approve", "reject", "revoke"}


def test_a_reviewer_revokes_an_exclusion(reviewer_client) -> None:
    approve(make_request(["octo/a"]))
    exclusion = Exclusion.objects.get()
    assert "revoke" in _actions(reviewer_client, "/admin/registry/exclusion/")
    reviewer_client.post(
        "/admin/registry/exclusion/",
        {"action": "revoke", "_selected_action": [exclusion.id], "apply": "1", "reason": "Why"},
    )
    exclusion.refresh_from_db()
    assert exclusion.active is False


def test_a_reviewer_starts_a_release_and_retries_a_failed_one(reviewer_client, tmp_path) -> None:
    dataset = make_dataset(tmp_path)
    assert _actions(reviewer_client, "/admin/governance/dataset/") == {"release_now"}
    reviewer_client.post(
        "/admin/governance/dataset/", {"action": "release_now", "_selected_action": [dataset.id]}
    )
    started = DatasetVersion.objects.get()
    assert started.triggered_by == "admin: rita"
    version_fail(started, "the worker ran out of disk")

    page = reviewer_client.get(f"/admin/governance/datasetversion/{started.id}/change/")
    assert 'id="retry-release"' in page.content.decode()
    response = reviewer_client.post(f"/admin/governance/datasetversion/{started.id}/retry/")

    retry = DatasetVersion.objects.exclude(id=started.id).get()
    assert response.url == f"/admin/governance/datasetversion/{retry.id}/change/"
    assert (retry.version, retry.status) == ("1.0.1", VersionStatus.BUILDING)
    assert retry.triggered_by == "admin retry of 1.0.0: rita"


def test_a_reviewer_cannot_change_datasets(reviewer_client, tmp_path) -> None:
    dataset = make_dataset(tmp_path)
    assert reviewer_client.get("/admin/governance/dataset/add/").status_code == 403
    page = reviewer_client.get(f"/admin/governance/dataset/{dataset.id}/change/")
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    changed = reviewer_client.post(
        f"/admin/governance/dataset/{dataset.id}/change/",
        {"name": "demo", "source_uri": "/etc", "repo_column": "x", "implied_host": "y"},
    )
    assert changed.status_code == 403
    assert Dataset.objects.get().source_uri == dataset.source_uri


def test_a_reviewer_sees_no_token_nor_account(reviewer_client) -> None:
    token_create(name="mirror", scopes=["registry:read"])
    token = PipelineToken.objects.get()
    for url in (
        "/admin/registry/pipelinetoken/",
        "/admin/registry/pipelinetoken/add/",
        f"/admin/registry/pipelinetoken/{token.pk}/change/",
        "/admin/auth/user/",
        "/admin/auth/group/",
    ):
        assert reviewer_client.get(url).status_code == 403, url
    index = reviewer_client.get("/admin/").content.decode()
    assert "pipelinetoken" not in index and "/admin/auth/" not in index
    assert "/admin/optout/removalrequest/" in index


# --- Staff outside the group -------------------------------------------------------------


def test_staff_without_a_role_can_do_nothing(staff_client, tmp_path) -> None:
    request = _verified("octo/a")
    version = release_start(dataset_id=make_dataset(tmp_path).id)
    version_fail(version, "failed")
    assert staff_client.get(QUEUE).status_code == 403
    assert (
        staff_client.post(f"{QUEUE}{request.id}/decide/", {"decision": "approve"}).status_code
        == 403
    )
    assert (
        staff_client.post(f"/admin/governance/datasetversion/{version.id}/retry/").status_code
        == 403
    )
    assert staff_client.get("/admin/governance/dataset/").status_code == 403
    request.refresh_from_db()
    assert request.status == RequestStatus.VERIFIED
    assert DatasetVersion.objects.count() == 1


def test_staff_who_may_only_view_requests_get_no_buttons(db) -> None:
    user = User.objects.create_user("vera", password="x", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_removalrequest"))
    client = _client(user)
    request = _verified("octo/a")

    page = client.get(f"{QUEUE}{request.id}/change/").content.decode()
    assert 'id="decision"' not in page
    assert _actions(client, QUEUE) == set()
    assert client.post(f"{QUEUE}{request.id}/decide/", {"decision": "approve"}).status_code == 403
    request.refresh_from_db()
    assert request.status == RequestStatus.VERIFIED


# --- Superusers --------------------------------------------------------------------------


def test_a_superuser_manages_tokens_and_datasets(admin_client) -> None:
    assert admin_client.get("/admin/registry/pipelinetoken/add/").status_code == 200
    added = admin_client.post(
        "/admin/governance/dataset/add/",
        {
            "name": "stack",
            "source_uri": "/data/stack",
            "repo_column": "repo_name",
            "implied_host": "github.com",
            "release_cadence": "1 00:00:00",
        },
    )
    assert added.status_code == 302
    assert Dataset.objects.get().name == "stack"
