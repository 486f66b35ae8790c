"""No page of the admin writes a record behind its service's back.

The walk covers every model registered in the admin: for each record model (history that
only services write) it tries the add page, the change form, the delete page and the bulk
delete action as a superuser, and proves that nothing changed in the database.
"""

from __future__ import annotations

import re

import pytest
from django.contrib import admin
from django.db import models
from django.utils import timezone

from governance.models import DatasetVersion, ShardBuild, VersionVerification
from governance.releases import release_start
from optout.enums import VerificationMethod
from optout.models import (
    RemovalRequest,
    RequestEvent,
    RequestSubject,
    VerificationAttempt,
    VerificationRun,
)
from registry.admin_base import RecordAdmin
from registry.models import Exclusion, LogEntry, PipelineToken, SignedCheckpoint
from registry.selectors import log_size
from registry.tokens import token_create
from tests.factories import approve, make_dataset, make_request

pytestmark = pytest.mark.django_db

RECORDS = {
    RemovalRequest,
    VerificationAttempt,
    Exclusion,
    LogEntry,
    SignedCheckpoint,
    DatasetVersion,
    VersionVerification,
}
# Shown only inline on their parent's page, never with a form of their own.
INLINE_RECORDS = {RequestSubject, RequestEvent, ShardBuild}


def _plain(row: tuple) -> str:
    return repr(tuple(bytes(v) if isinstance(v, memoryview) else v for v in row))


def _snapshot() -> dict[str, list[str]]:
    return {
        model.__name__: sorted(map(_plain, model.objects.values_list()))
        for model in RECORDS | INLINE_RECORDS | {PipelineToken}
    }


@pytest.fixture
def populated(tmp_path) -> RemovalRequest:
    """One row of every record model, made the way the product makes them."""
    request = approve(make_request(["octo/hello", "github.com/someone"]))
    version = release_start(dataset_id=make_dataset(tmp_path).id)
    VersionVerification.objects.create(version=version)
    run = VerificationRun.objects.create(request=request)
    VerificationAttempt.objects.create(
        run=run,
        subject=request.subjects.first(),
        method=VerificationMethod.REPOSITORY_FILE,
        succeeded=True,
        message="found",
        checked_at=timezone.now(),
        duration_ms=1,
    )
    token_create(name="mirror", scopes=["registry:read"])
    return request


def test_every_record_model_is_shown_read_only() -> None:
    registered = {model: model_admin for model, model_admin in admin.site._registry.items()}
    assert set(registered) >= RECORDS
    for model in RECORDS:
        assert isinstance(registered[model], RecordAdmin), model.__name__
    for model_admin in registered.values():
        for inline in model_admin.inlines:
            if inline.model in INLINE_RECORDS:
                assert not inline.can_delete
                assert not inline(model_admin.model, admin.site).has_add_permission(None, None)


def test_no_admin_page_writes_a_record(admin_client, populated) -> None:
    before = _snapshot()
    size = log_size()
    for model in RECORDS:
        meta = model._meta
        base = f"/admin/{meta.app_label}/{meta.model_name}/"
        row = model.objects.first()
        assert row is not None, f"the walk needs a {meta.model_name}"
        fields = {
            f.name: "changed@example.org" if isinstance(f, models.EmailField) else "changed"
            for f in meta.fields
            if isinstance(f, models.CharField | models.TextField)
        }
        assert admin_client.get(f"{base}add/").status_code == 403
        assert admin_client.post(f"{base}add/", fields).status_code == 403
        assert admin_client.post(f"{base}{row.pk}/change/", fields).status_code == 403
        assert admin_client.post(f"{base}{row.pk}/delete/", {"post": "yes"}).status_code == 403
        admin_client.post(
            base, {"action": "delete_selected", "_selected_action": [row.pk], "post": "yes"}
        )
    token = PipelineToken.objects.get()
    assert admin_client.post(f"/admin/registry/pipelinetoken/{token.pk}/delete/").status_code == 403
    for model in RECORDS:
        meta = model._meta
        row = model.objects.first()
        base = f"/admin/{meta.app_label}/{meta.model_name}/"
        assert admin_client.get(f"{base}{row.pk}/change/").status_code == 200  # view only
    assert _snapshot() == before
    assert log_size() == size


def test_revoking_an_exclusion_asks_for_a_reason_and_writes_the_log(
    admin_client, populated
) -> None:
    exclusion = Exclusion.objects.get(subject="github.com/octo/hello")
    size = log_size()
    chosen = {"action": "revoke", "_selected_action": [exclusion.pk]}

    asked = admin_client.post("/admin/registry/exclusion/", chosen)
    assert asked.status_code == 200 and "reason" in asked.content.decode()
    blank = admin_client.post("/admin/registry/exclusion/", {**chosen, "apply": "1"})
    assert "This field is required" in blank.content.decode()
    assert Exclusion.objects.get(pk=exclusion.pk).active

    admin_client.post(
        "/admin/registry/exclusion/", {**chosen, "apply": "1", "reason": "proof was forged"}
    )
    exclusion.refresh_from_db()
    assert (exclusion.active, exclusion.removed_reason) == (False, "proof was forged")
    entry = LogEntry.objects.get(index=size)
    assert (entry.action, entry.subject, entry.cause) == (
        "remove",
        exclusion.subject,
        "maintainer:admin",
    )
    assert log_size() == size + 1
    for path in (
        "/api/v1/check?repo=github.com/octo/hello",
        "/api/v1/check?repo=octo/hello",
    ):
        assert admin_client.get(path).json()["excluded"] is False


_STANDARD_VIEWS = ("_changelist", "_add", "_change", "_delete", "_history", "_autocomplete")


def test_every_admin_page_answers_and_no_page_read_writes(admin_client, populated) -> None:
    """Every registered model's list and change page (a smoke test each), and every extra
    page an admin adds (decide, retry, progress), read with GET: nothing is written."""
    before = _snapshot()
    size = log_size()
    assert admin_client.get("/admin/").status_code == 200
    extra_pages = 0
    for model, model_admin in admin.site._registry.items():
        meta = model._meta
        base = f"/admin/{meta.app_label}/{meta.model_name}/"
        assert admin_client.get(base).status_code == 200, base
        row = model.objects.first()
        if row is None:
            continue
        assert admin_client.get(f"{base}{row.pk}/change/").status_code == 200, base
        for pattern in model_admin.get_urls():
            name = pattern.name or ""
            route = str(pattern.pattern)
            if not name or name.endswith(_STANDARD_VIEWS) or not route.startswith("<"):
                continue
            url = base + re.sub(r"^<[^>]+>", str(row.pk), route)
            extra_pages += 1
            assert admin_client.get(url).status_code in (200, 405), url
    assert extra_pages >= 3  # decide, retry and progress at least
    assert _snapshot() == before
    assert log_size() == size
