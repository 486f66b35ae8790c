from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from optout.models import RemovalRequest
from tests.factories import make_request

pytestmark = pytest.mark.django_db


def test_verify_request_prints_each_result(git_server) -> None:
    request = make_request(["git.loopback.test/acme"])
    git_server.create_repository(f"acme/dataset-optout-{request.verification_token}", None)
    out = StringIO()
    call_command("verify_request", str(request.public_id), stdout=out)
    assert out.getvalue().splitlines() == [
        "ok git.loopback.test/acme [namespace_repository] Found the proof repository "
        f"git.loopback.test/acme/dataset-optout-{request.verification_token}.",
        "status: verified",
    ]


def test_verify_request_names_an_unknown_id() -> None:
    with pytest.raises(CommandError, match="No request has the id 'nope'"):
        call_command("verify_request", "nope")


def test_expire_requests_expires_old_ones() -> None:
    request = make_request(["octo/old"])
    RemovalRequest.objects.filter(id=request.id).update(expires_at=timezone.now() - timedelta(1))
    out = StringIO()
    call_command("expire_requests", stdout=out)
    assert out.getvalue() == "1 request(s) expired.\n"
