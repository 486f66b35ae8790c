"""A published version marks the requests it applied, and tells their owners how to check."""

import pytest
from django.core import mail

from governance.releases import release_start
from optout.enums import RequestStatus
from tests.factories import approve, make_dataset, make_request

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_owner_is_told_the_version_and_its_manifest_checksum(tmp_path) -> None:
    dataset = make_dataset(tmp_path)
    request = approve(make_request(["octo/hello"], email="octo@example.org"))
    mail.outbox.clear()

    version = release_start(dataset_id=dataset.id)
    version.refresh_from_db()

    request.refresh_from_db()
    assert request.status == RequestStatus.APPLIED
    applied = [m for m in mail.outbox if m.to == ["octo@example.org"]]
    assert len(applied) == 1
    assert f"dataset version {version.label}" in applied[0].body
    assert f"manifest.json SHA-256 {version.manifest_sha256}" in applied[0].body
    assert len(version.manifest_sha256) == 64
