"""Request jobs through a real Celery worker process on Redis (PostgreSQL runs only)."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.utils import timezone

from optout.enums import RequestStatus, VerificationMethod
from optout.models import RemovalRequest, RequestEvent, VerificationAttempt, VerificationRun
from optout.tasks import expire_unverified, notify_event
from registry.forges import forges_from_json
from tests.conftest import WORKER_GIT_HOST, worker_forges_json
from tests.factories import make_request
from tests.optout.servers import GitServer, head_commit

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_the_worker_expires_requests_and_claims_their_notification(celery_worker) -> None:
    request = make_request(["octo/old"])
    RemovalRequest.objects.filter(id=request.id).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    assert expire_unverified.delay().get(timeout=60) == 1
    request.refresh_from_db()
    assert request.status == RequestStatus.EXPIRED
    event = RequestEvent.objects.get(request=request, to_status=RequestStatus.EXPIRED)
    # The worker sent the e-mail after commit and marked the event; a second run is a no-op.
    notify_event.delay(event_id=event.id).get(timeout=60)
    event.refresh_from_db()
    assert event.notified_at is not None
    assert expire_unverified.delay().get(timeout=60) == 0


# --- Verification through the worker ------------------------------------------------------
# The worker reads the session's loopback git server, which it knows only from its
# environment (REGISTRY_EXTRA_FORGES, OPTOUT_OUTBOUND_ALLOW_LOOPBACK; tests/conftest.py).


@pytest.fixture
def worker_forge(settings, celery_worker, worker_git_server) -> Iterator[GitServer]:
    """The worker's forge, parsed here from the same JSON, and a gate on its answers."""
    settings.REGISTRY_EXTRA_FORGES = forges_from_json(
        "REGISTRY_EXTRA_FORGES", worker_forges_json(worker_git_server.base_url)
    )
    # Until the test opens the gate the worker cannot finish, so "still running" is certain.
    worker_git_server.gate = threading.Event()
    yield worker_git_server
    worker_git_server.gate.set()
    worker_git_server.gate = None


def _submit(client, subject: str) -> dict:
    created = client.post(
        "/api/v1/requests/",
        {"subjects": [subject], "contact_email": "owner@example.org"},
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    return created.json()


def _wait_for_run(public_id: str, timeout: float = 60) -> VerificationRun:
    """Wait for the worker to record the run (a bound, not a timing assertion)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = VerificationRun.objects.filter(request__public_id=public_id).first()
        if run is not None and run.finished_at is not None:
            return run
        time.sleep(0.05)
    raise AssertionError(f"no finished verification run after {timeout}s")


def test_check_now_has_the_worker_read_the_token_file_and_verify(client, worker_forge) -> None:
    owner = f"alice-{uuid.uuid4().hex[:8]}"
    subject = f"{WORKER_GIT_HOST}/{owner}/tool"
    created = _submit(client, subject)
    bare = worker_forge.create_repository(
        f"{owner}/tool", {".dataset-optout": f"# opt-out\n{created['verification_token']}\n"}
    )
    started = time.monotonic()
    pressed = client.post(f"/requests/{created['id']}/verify/", {"token": created["status_token"]})
    assert pressed.status_code == 302
    page = client.get(pressed["Location"]).content.decode()
    assert "Checking now. Refresh this page in a minute to see the results." in page
    worker_forge.gate.set()
    run = _wait_for_run(created["id"])
    print(f"verification through the worker: {time.monotonic() - started:.2f}s")

    request = RemovalRequest.objects.get(public_id=created["id"])
    assert request.status == RequestStatus.VERIFIED
    attempt = VerificationAttempt.objects.get(run=run)
    assert attempt.method == VerificationMethod.REPOSITORY_FILE
    assert attempt.succeeded is True
    assert attempt.evidence["branch"] == "main"
    assert attempt.evidence["commit"] == head_commit(bare)
    base = f"{worker_forge.base_url}/{owner}/tool.git"
    assert [(f["url"], f["status"]) for f in attempt.evidence["fetches"]] == [
        (f"{base}/info/refs?service=git-upload-pack", 200),
        (f"{base}/git-upload-pack", 200),
    ]
    message = (
        f"Found .dataset-optout with the token on the default branch (main, commit "
        f"{head_commit(bare)[:10]}) of {subject}."
    )
    assert attempt.message == message
    event = RequestEvent.objects.get(request=request, to_status=RequestStatus.VERIFIED)
    assert (event.actor_label, event.reason) == (
        "system",
        "control proven by File .dataset-optout in the repository",
    )
    page = client.get(pressed["Location"]).content.decode()
    assert message in page


def test_a_file_with_another_token_leaves_the_request_pending(client, worker_forge) -> None:
    owner = f"bob-{uuid.uuid4().hex[:8]}"
    subject = f"{WORKER_GIT_HOST}/{owner}/tool"
    created = _submit(client, subject)
    bare = worker_forge.create_repository(
        f"{owner}/tool", {".dataset-optout": "0123456789abcdef0123456789abcdef\n"}
    )
    headers = {"X-Status-Token": created["status_token"]}
    pressed = client.post(f"/api/v1/requests/{created['id']}/verify/", headers=headers)
    assert pressed.status_code == 202
    assert (pressed.json()["status"], pressed.json()["evidence"]) == ("pending_verification", [])
    worker_forge.gate.set()
    _wait_for_run(created["id"])

    detail = client.get(f"/api/v1/requests/{created['id']}/", headers=headers).json()
    assert detail["status"] == "pending_verification"
    assert [s["verified_at"] for s in detail["subjects"]] == [None]
    file_check, namespace_check = detail["evidence"]
    token = created["verification_token"]
    assert (file_check["method"], file_check["succeeded"]) == ("repository_file", False)
    assert file_check["message"] == (
        f"The .dataset-optout file on the default branch (main, commit {head_commit(bare)[:10]}) "
        f"of {subject} does not contain this request's token {token}. Put the token on a "
        "line of its own."
    )
    assert (namespace_check["method"], namespace_check["succeeded"]) == (
        "namespace_repository",
        False,
    )
    assert namespace_check["message"].startswith(
        f"No repository {WORKER_GIT_HOST}/{owner}/dataset-optout-{token} ("
    )
