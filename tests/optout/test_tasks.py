from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.utils import timezone

from optout.enums import RequestStatus
from optout.models import RemovalRequest
from optout.tasks import expire_unverified
from tests.factories import make_request

pytestmark = pytest.mark.django_db


def test_unverified_requests_expire_after_the_token_lifetime(
    django_capture_on_commit_callbacks,
) -> None:
    old = make_request(["octo/old"])
    fresh = make_request(["octo/fresh"])
    assert old.expires_at - old.created_at == pytest.approx(timedelta(days=14), abs=timedelta(1))
    RemovalRequest.objects.filter(id=old.id).update(expires_at=timezone.now() - timedelta(1))
    with django_capture_on_commit_callbacks(execute=True):
        assert expire_unverified.delay().get() == 1
    assert expire_unverified.delay().get() == 0  # safe to run twice
    assert RemovalRequest.objects.get(id=old.id).status == RequestStatus.EXPIRED
    assert RemovalRequest.objects.get(id=fresh.id).status == RequestStatus.PENDING_VERIFICATION
    assert old.events.last().reason == "not verified within 14 days"
    assert [m.subject for m in mail.outbox] == ["Your opt-out request is now expired"]


def test_the_expiry_task_is_in_the_beat_schedule() -> None:
    entry = settings.CELERY_BEAT_SCHEDULE["optout-expire-unverified"]
    assert entry == {"task": "optout.tasks.expire_unverified", "schedule": 900.0}
