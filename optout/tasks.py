"""Celery tasks for requests: thin wrappers that take ids and call services."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from optout.forge_signin import signin_tokens_expire
from optout.links import links_resend
from optout.models import RequestEvent, VerificationRun
from optout.notifications import send_event_email
from optout.services import requests_expire_unverified
from optout.verification import verification_perform
from registry.dispatch import queue, queue_after_commit


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=8)
def notify_event(*, event_id: int) -> None:
    # Claim the event with a conditional UPDATE so two workers never both send it.
    claimed = RequestEvent.objects.filter(id=event_id, notified_at=None).update(
        notified_at=timezone.now()
    )
    if claimed != 1:
        return
    event = RequestEvent.objects.select_related("request").get(id=event_id)
    try:
        send_event_email(event)
    except Exception:
        RequestEvent.objects.filter(id=event_id).update(notified_at=None)  # let a retry send it
        raise


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=8)
def links_resend_task(*, email: str) -> None:
    links_resend(email=email)


@shared_task
def notify_sweep(*, stale_seconds: int | None = None) -> int:
    """Re-queue notifications whose task was lost (the outbox sweeper for events).

    Events younger than ``stale_seconds`` (default: one sweep interval,
    ``OPTOUT_NOTIFY_SWEEP_SECONDS``) are left to the send queued at their commit."""
    if stale_seconds is None:
        stale_seconds = settings.OPTOUT_NOTIFY_SWEEP_SECONDS
    stale = timezone.now() - timedelta(seconds=stale_seconds)
    ids = list(
        RequestEvent.objects.filter(notified_at=None, created_at__lt=stale).values_list(
            "id", flat=True
        )[:500]
    )
    for event_id in ids:
        queue_after_commit(notify_event, event_id=event_id)
    return len(ids)


@shared_task
def expire_unverified() -> int:
    """Periodic (beat): requests still unverified past their expiry become expired.

    It also forgets forge tokens of sign-ins that no check used (returning only the
    number of requests expired): one periodic job for everything that goes stale.
    """
    signin_tokens_expire()
    return requests_expire_unverified()


@shared_task
def verify_run(*, run_id: int) -> None:
    """Perform one started verification run (the owner's "Check now")."""
    if not VerificationRun.objects.filter(id=run_id).exists():
        return
    verification_perform(run_id=run_id)


@shared_task
def verification_sweep() -> int:
    """Re-send runs whose task was lost; performing a run twice records it once."""
    stale = timezone.now() - timedelta(minutes=5)
    fresh = timezone.now() - timedelta(hours=1)  # older runs are left unfinished for good
    ids = list(
        VerificationRun.objects.filter(
            finished_at=None, started_at__lt=stale, started_at__gte=fresh
        ).values_list("id", flat=True)[:100]
    )
    for run_id in ids:
        queue(verify_run, run_id=run_id)
    return len(ids)
