from __future__ import annotations

import pytest

from optout.verification import request_verify
from tests.factories import make_request

pytestmark = pytest.mark.django_db


def test_the_evidence_admin_lists_attempts(admin_client, git_server) -> None:
    request = make_request(["git.loopback.test/alice/tool"])
    request_verify(request_id=request.id)
    page = admin_client.get("/admin/optout/verificationattempt/")
    assert page.status_code == 200
    assert "git.loopback.test/alice/tool" in page.content.decode()


def test_the_request_admin_shows_a_request(admin_client) -> None:
    request = make_request(["octo/hello"])
    page = admin_client.get(f"/admin/optout/removalrequest/{request.id}/change/")
    assert page.status_code == 200
    assert request.verification_token in page.content.decode()
