"""Each verification method against a real git server on loopback (git http-backend)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from optout.enums import RequestStatus, VerificationMethod
from optout.models import RemovalRequest, VerificationAttempt, VerificationRun
from optout.tasks import verification_sweep
from optout.verification import (
    VerificationRefused,
    request_verify,
    verification_perform,
    verification_start,
)
from tests.factories import make_request
from tests.optout.servers import head_commit

pytestmark = pytest.mark.django_db


def test_a_token_file_on_the_default_branch_verifies_the_repository(
    git_server, django_capture_on_commit_callbacks
) -> None:
    request = make_request(["git.loopback.test/alice/tool"])
    bare = git_server.create_repository(
        "alice/tool", {".dataset-optout": f"# opt-out\n{request.verification_token}\n"}
    )
    with django_capture_on_commit_callbacks(execute=True):
        report = request_verify(request_id=request.id)
    assert report.request.status == RequestStatus.VERIFIED
    attempt = VerificationAttempt.objects.get()
    assert attempt.method == VerificationMethod.REPOSITORY_FILE
    assert attempt.succeeded is True
    assert attempt.evidence["commit"] == head_commit(bare)
    assert attempt.evidence["branch"] == "main"
    assert [f["status"] for f in attempt.evidence["fetches"]] == [200, 200]
    assert attempt.message == (
        f"Found .dataset-optout with the token on the default branch (main, commit "
        f"{head_commit(bare)[:10]}) of git.loopback.test/alice/tool."
    )
    assert request.subjects.get().verified_by == VerificationMethod.REPOSITORY_FILE
    assert [m.subject for m in mail.outbox] == ["Your opt-out request is now verified"]


def test_a_file_on_another_branch_only_does_not_verify(git_server) -> None:
    request = make_request(["git.loopback.test/alice/tool"])
    git_server.create_repository("alice/tool", {"README": "hello"}, branch="trunk")
    report = request_verify(request_id=request.id)
    assert report.request.status == RequestStatus.PENDING_VERIFICATION
    file_attempt, namespace_attempt = report.attempts
    assert file_attempt.succeeded is False
    assert "the default branch (trunk, commit" in file_attempt.message
    assert "has no .dataset-optout file at its root" in file_attempt.message
    assert namespace_attempt.method == VerificationMethod.NAMESPACE_REPOSITORY
    assert namespace_attempt.message.startswith(
        f"No repository git.loopback.test/alice/dataset-optout-{request.verification_token} "
    )


def test_a_file_with_another_token_does_not_verify(git_server) -> None:
    request = make_request(["git.loopback.test/alice/tool"])
    git_server.create_repository("alice/tool", {".dataset-optout": "0123456789abcdef\n"})
    report = request_verify(request_id=request.id)
    assert report.request.status == RequestStatus.PENDING_VERIFICATION
    assert "does not contain this request's token" in report.attempts[0].message


def test_a_missing_repository_is_reported(git_server) -> None:
    request = make_request(["git.loopback.test/alice/nothing-here"])
    report = request_verify(request_id=request.id)
    assert report.attempts[0].message == (
        "Could not read git.loopback.test/alice/nothing-here: git.loopback.test/alice/"
        "nothing-here does not exist or is not public."
    )


def test_a_proof_repository_verifies_the_namespace_and_its_repositories(git_server) -> None:
    request = make_request(["git.loopback.test/acme", "git.loopback.test/acme/tool"])
    git_server.create_repository(f"acme/dataset-optout-{request.verification_token}", None)
    report = request_verify(request_id=request.id)
    assert report.request.status == RequestStatus.VERIFIED
    by_subject = {a.subject.subject: (a.method, a.succeeded) for a in report.attempts}
    assert by_subject == {
        "git.loopback.test/acme": (VerificationMethod.NAMESPACE_REPOSITORY, True),
        # The file method failed first (no such repository), then the namespace proof held.
        "git.loopback.test/acme/tool": (VerificationMethod.NAMESPACE_REPOSITORY, True),
    }
    # One ls-remote for the namespace, shared by both subjects.
    proof_path = f"/acme/dataset-optout-{request.verification_token}.git/info/refs"
    assert [p for _, p in git_server.requests if p.startswith(proof_path)] == [
        proof_path + "?service=git-upload-pack"
    ]


def test_a_proof_repository_in_another_namespace_proves_nothing(git_server) -> None:
    request = make_request(["git.loopback.test/acme"])
    git_server.create_repository(f"mallory/dataset-optout-{request.verification_token}", None)
    report = request_verify(request_id=request.id)
    assert report.request.status == RequestStatus.PENDING_VERIFICATION
    assert report.attempts[0].succeeded is False


def test_repeated_checks_are_rate_limited(git_server, settings) -> None:
    settings.OPTOUT_VERIFICATIONS_PER_HOUR = 2
    request = make_request(["git.loopback.test/alice/tool"])
    request_verify(request_id=request.id)
    request_verify(request_id=request.id)
    with pytest.raises(VerificationRefused, match="checked 2 times in the last hour"):
        request_verify(request_id=request.id)
    assert request.verification_runs.count() == 2


def test_an_expired_request_is_not_checked_and_becomes_expired(git_server) -> None:
    request = make_request(["git.loopback.test/alice/tool"])
    RemovalRequest.objects.filter(id=request.id).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    with pytest.raises(VerificationRefused, match="expired before it was verified"):
        request_verify(request_id=request.id)
    request.refresh_from_db()
    assert request.status == RequestStatus.EXPIRED
    assert git_server.requests == []


def test_a_verified_request_is_not_checked_again(git_server) -> None:
    request = make_request(["git.loopback.test/acme"])
    git_server.create_repository(f"acme/dataset-optout-{request.verification_token}", None)
    request_verify(request_id=request.id)
    with pytest.raises(VerificationRefused, match="This request is verified"):
        request_verify(request_id=request.id)


def test_large_files_are_not_downloaded_to_read_the_token(git_server) -> None:
    request = make_request(["git.loopback.test/alice/big"])
    noise = "".join(f"{i:08x}" for i in range(64 * 1024))  # 512 KiB that compresses poorly
    git_server.create_repository(
        "alice/big", {".dataset-optout": request.verification_token, "data.txt": noise}
    )
    report = request_verify(request_id=request.id)
    assert report.request.status == RequestStatus.VERIFIED
    pack_fetch = report.attempts[0].evidence["fetches"][1]
    assert pack_fetch["url"].endswith("/alice/big.git/git-upload-pack")
    assert pack_fetch["bytes"] < 4096  # the blob filter left the 512 KiB file on the server


def test_a_run_performed_twice_is_recorded_once(git_server) -> None:
    request = make_request(["git.loopback.test/alice/tool"])
    run = verification_start(request_id=request.id)
    first = verification_perform(run_id=run.id)
    second = verification_perform(run_id=run.id)
    assert [a.id for a in second.attempts] == [a.id for a in first.attempts]
    assert VerificationAttempt.objects.count() == 2  # file, then namespace proof


def test_subjects_beyond_the_time_budget_wait_for_the_next_run(git_server, settings) -> None:
    settings.OPTOUT_VERIFY_RUN_SECONDS = -1  # the budget is spent before the first check
    request = make_request(["git.loopback.test/alice/a", "git.loopback.test/alice/b"])
    report = request_verify(request_id=request.id)
    assert (report.run.subjects_skipped, report.attempts) == (2, [])
    assert report.request.status == RequestStatus.PENDING_VERIFICATION
    assert git_server.requests == []


def test_the_sweeper_performs_a_run_whose_task_was_lost(git_server) -> None:
    request = make_request(["git.loopback.test/acme"])
    git_server.create_repository(f"acme/dataset-optout-{request.verification_token}", None)
    run = verification_start(request_id=request.id)  # as if the task never arrived
    VerificationRun.objects.filter(id=run.id).update(
        started_at=timezone.now() - timedelta(minutes=10)
    )
    assert verification_sweep.delay().get() == 1
    request.refresh_from_db()
    assert request.status == RequestStatus.VERIFIED
    assert verification_sweep.delay().get() == 0
