"""Verification runs (governance/releases/verify.py): one open run per version, reports kept."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from governance.enums import VerificationStatus
from governance.models import VersionVerification
from governance.releases import release_start, version_folder
from governance.releases.verify import verification_request, verification_run
from tests.factories import make_dataset

pytestmark = pytest.mark.django_db(transaction=True)  # releases and runs start on commit


@pytest.fixture
def version(tmp_path):
    return release_start(dataset_id=make_dataset(tmp_path).id)


def test_a_request_while_one_is_open_joins_it(version) -> None:
    with transaction.atomic():  # the task (run in-process here) waits for this commit
        first, created = verification_request(version=version)
        second, created_again = verification_request(version=version)
        assert second.status == VerificationStatus.QUEUED
    assert (created, created_again) == (True, False) and second.id == first.id
    assert list(VersionVerification.objects.values_list("status", flat=True)) == ["passed"]


def test_a_run_records_its_report_and_a_finished_run_is_not_run_again(version) -> None:
    run, _ = verification_request(version=version)
    done = VersionVerification.objects.get(id=run.id)
    assert done.status == VerificationStatus.PASSED and done.report["rows_checked"] == 600
    finished_at = done.finished_at
    assert verification_run(verification_id=run.id).finished_at == finished_at
    again, created = verification_request(version=version)
    assert created and again.id != run.id


def test_a_tampered_file_fails_the_run_with_the_reason(version) -> None:
    data = sorted((version_folder(version) / "data").iterdir())[0]
    data.write_bytes(data.read_bytes()[:-1] + b"\0")
    run, _ = verification_request(version=version)
    done = VersionVerification.objects.get(id=run.id)
    assert done.status == VerificationStatus.FAILED
    assert done.report["ok"] is False
    assert any(f"{data.name} hashes to" in problem for problem in done.report["problems"])


def test_a_run_lost_long_ago_is_closed_and_a_new_one_starts(version, settings) -> None:
    lost = VersionVerification.objects.create(version=version)  # its task never ran
    long_ago = timezone.now() - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT * 3)
    VersionVerification.objects.filter(id=lost.id).update(
        status=VerificationStatus.RUNNING, requested_at=long_ago
    )
    fresh, created = verification_request(version=version)
    lost.refresh_from_db()
    assert created and fresh.id != lost.id
    assert lost.status == VerificationStatus.FAILED
    assert lost.report["problems"] == ["The run was lost before it finished; ask for a new one."]
    assert lost.report["dataset"] == "demo" and lost.report["ok"] is False


def test_a_run_whose_worker_died_is_run_again(version) -> None:
    run = VersionVerification.objects.create(version=version, status=VerificationStatus.RUNNING)
    assert verification_run(verification_id=run.id).status == VerificationStatus.PASSED
