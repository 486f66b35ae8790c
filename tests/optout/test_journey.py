"""One owner, start to finish, through the pages: submit, prove, approval, withdraw."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail

from optout.enums import RequestStatus
from optout.models import RemovalRequest
from registry.models import Exclusion
from tests.factories import open_status_page

pytestmark = pytest.mark.django_db


def test_an_owner_opts_out_proves_control_and_opts_back_in(
    client, git_server, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        submitted = client.post(
            "/requests/new/",
            {"subjects": "git.loopback.test/alice/tool", "contact_email": "alice@example.org"},
        )
    assert submitted.status_code == 201
    request = RemovalRequest.objects.get()
    link = re.search(r'href="http://testserver(/requests/[^"]+)"', submitted.content.decode())[1]
    link = link.replace("&amp;", "&")
    token = link.split("#t=")[1]
    git_server.create_repository(
        "alice/tool", {".dataset-optout": request.verification_token + "\n"}
    )

    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/requests/{request.public_id}/verify/", {"token": token})
    maintainer = get_user_model().objects.create_superuser("maint", "m@example.org", "pw-12345678")
    client.force_login(maintainer)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/admin/optout/removalrequest/",
            {"action": "approve", "_selected_action": [request.id]},
        )
    client.logout()  # the test client's logout forgets every cookie: open the link again
    assert Exclusion.objects.get(active=True).subject == "git.loopback.test/alice/tool"
    page = client.get(open_status_page(client, request)).content.decode()
    assert '<span class="status">Approved</span>' in page
    assert "next release: when maintainers run one" in page

    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/requests/{request.public_id}/withdraw/", {"token": token, "confirm": "on"})
    request.refresh_from_db()
    assert request.status == RequestStatus.WITHDRAWN
    assert not Exclusion.objects.filter(active=True).exists()
    assert [m.subject for m in mail.outbox] == [
        "Your opt-out request: prove that you control what you named",
        "Your opt-out request is now verified",
        "Your opt-out request is now approved",
        "Your opt-out request is now withdrawn",
    ]
    assert all(f"/requests/{request.public_id}/#t={token}\n" in m.body for m in mail.outbox)
