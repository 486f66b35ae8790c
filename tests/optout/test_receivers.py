"""A published version marks the requests it applied, and tells their owners how to check;
a maintainer's revocation of an exclusion tells the owners of the requests behind it why."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth.models import User
from django.core import mail

from governance.releases import release_start
from optout.enums import RequestStatus
from optout.tasks import notify_sweep
from registry.models import Exclusion
from tests.factories import approve, make_dataset, make_request, open_status_page

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


def test_the_status_page_names_the_version_that_applied_the_request_only_once_true(
    client, tmp_path
) -> None:
    dataset = make_dataset(tmp_path)
    release_start(dataset_id=dataset.id)  # 1.0.0
    request = approve(make_request(["octo/hello"], email="octo@example.org"))
    waiting = make_request(["octo/other"], email="other@example.org")
    path = open_status_page(client, request)
    approved = client.get(path).content.decode()

    release_start(dataset_id=dataset.id)  # 1.0.1 applies it
    applied = client.get(path).content.decode()
    pending = client.get(open_status_page(client, waiting)).content.decode()

    assert 'id="downstream-applied"' not in approved  # no version yet, no downstream users
    assert '<p id="downstream-applied">Applied by our dataset (version 1.0.1).</p>' in applied
    assert 'id="downstream-applied"' not in pending


# --- a maintainer revokes an exclusion in the registry ----------------------------------


def _owner_reads(client, message) -> str:
    """The owner opens the private link of ``message`` as their browser does: the page's
    address, with the token of the link's fragment given once for the page's cookie."""
    link = re.search(r"Your private link \(keep it to yourself\): (\S+)", message.body)[1]
    path, fragment = urlsplit(link).path, urlsplit(link).fragment
    token = parse_qs(fragment)["t"][0]
    assert client.post(path, {"token": token}).status_code == 303
    return client.get(path).content.decode()


def _revoke_in_console(client, subject: str, reason: str):
    """A maintainer's "Revoke selected exclusions" action, reason page included."""
    maintainer = User.objects.create_superuser("rita", "rita@example.org", "a-long-password-42")
    client.force_login(maintainer)
    exclusion = Exclusion.objects.get(subject=subject, active=True)
    answer = client.post(
        "/admin/registry/exclusion/",
        {"action": "revoke", "_selected_action": [exclusion.pk], "reason": reason, "apply": "1"},
        follow=True,
    )
    client.logout()
    return answer


def test_revoking_a_requests_only_exclusion_ends_it_and_tells_the_owner_why(client) -> None:
    request = approve(make_request(["octo/hello"], email="octo@example.org"))
    mail.outbox.clear()

    answer = _revoke_in_console(client, "github.com/octo/hello", "The proof was forged.")

    assert "1 exclusion(s) revoked." in answer.content.decode()
    request.refresh_from_db()
    assert request.status == RequestStatus.WITHDRAWN
    assert (request.events.last().actor_label, request.events.last().reason) == (
        "rita",
        "The proof was forged.",
    )
    [message] = mail.outbox
    assert message.to == ["octo@example.org"]
    assert message.subject == "Your opt-out request was revoked"
    assert message.body.startswith(
        f"The maintainers revoked your opt-out request {request.public_id}: its exclusions "
        "are removed from the registry."
    )
    assert "Reason: The proof was forged." in message.body
    assert "The maintainers revoked the request (their reason is above)" in message.body
    page = _owner_reads(client, message)
    assert "Revoked by the maintainers" in page
    assert "the whole request. Reason: The proof was forged." in page
    assert "You withdrew" not in page


def test_revoking_one_of_several_exclusions_tells_the_owner_which_and_why(client) -> None:
    request = approve(make_request(["octo/hello", "octo/world"], email="octo@example.org"))
    mail.outbox.clear()

    _revoke_in_console(client, "github.com/octo/world", "Not the owner's repository.")

    request.refresh_from_db()
    assert request.status == RequestStatus.APPROVED  # octo/hello stays excluded
    assert Exclusion.objects.filter(subject="github.com/octo/hello", active=True).exists()
    [message] = mail.outbox
    assert message.subject == "Part of your opt-out request was revoked"
    assert (
        f"A maintainer revoked part of your opt-out request {request.public_id}; the rest of "
        "it stays approved."
    ) in message.body
    assert (
        "Reason: The exclusion of github.com/octo/world was revoked: Not the owner's repository."
    ) in message.body
    page = _owner_reads(client, message)
    assert "The exclusion of github.com/octo/world was revoked: Not the owner&#x27;s" in page
    assert "Approved; one exclusion revoked" in page
    assert '<span class="status">Approved</span>' in page


@pytest.mark.django_db(transaction=False)
def test_a_revocation_whose_e_mail_task_never_ran_is_sent_by_the_sweeper(
    client, django_capture_on_commit_callbacks
) -> None:
    """As when Redis was down at commit: the event waits in the outbox (the events table),
    and the sweeper beat runs every two minutes sends it (registry/dispatch.py)."""
    request = approve(make_request(["octo/hello"], email="octo@example.org"))
    mail.outbox.clear()

    # This test's transaction never commits, so nothing queued "after commit" is sent:
    # the revocation is saved, its e-mail is not.
    answer = _revoke_in_console(client, "github.com/octo/hello", "The proof was forged.")

    assert "1 exclusion(s) revoked." in answer.content.decode()
    request.refresh_from_db()
    assert request.status == RequestStatus.WITHDRAWN
    assert mail.outbox == []
    assert request.events.last().notified_at is None

    with django_capture_on_commit_callbacks(execute=True):
        notify_sweep(stale_seconds=0)

    # (The sweeper also sends the earlier e-mails of this request, lost the same way.)
    [message] = [m for m in mail.outbox if m.subject == "Your opt-out request was revoked"]
    assert "Reason: The proof was forged." in message.body
