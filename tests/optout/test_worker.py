"""Request jobs through a real Celery worker process on Redis (PostgreSQL runs only)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from optout.enums import RequestStatus
from optout.models import RemovalRequest, RequestEvent
from optout.tasks import expire_unverified, notify_event
from tests.factories import make_request

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
