"""E-mail to owners about their request. Sent only after commit, from a task."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from optout.guidance import next_step
from optout.links import status_token_for, status_url
from optout.models import RequestEvent
from optout.selectors import open_requests_overlapping


def send_event_email(event: RequestEvent) -> None:
    request = event.request
    if not request.contact_email:
        return  # opened by the portal from a marker in the dataset: nobody to write to
    context = {
        "event": event,
        "request": request,
        "subjects": list(request.subjects.values_list("subject", flat=True)[:20]),
        "more_subjects": max(0, request.subjects.count() - 20),
        "status_url": status_url(request.public_id, status_token_for(request.public_id)),
        "next_step": next_step(request),
        # Said here and nowhere else: only the address's owner may learn of its requests.
        "overlapping": [
            (other, shared, status_url(other.public_id, status_token_for(other.public_id)))
            for other, shared in (
                open_requests_overlapping(request) if not event.from_status else []
            )
        ],
    }
    if event.revoked_in_part:
        subject = "Part of your opt-out request was revoked"
    elif event.revoked:
        subject = "Your opt-out request was revoked"
    elif event.from_status:
        subject = f"Your opt-out request is now {event.get_to_status_display().lower()}"
    else:
        subject = "Your opt-out request: prove that you control what you named"
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string("optout/email/status_changed.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[request.contact_email],
    )
    message.attach_alternative(
        render_to_string("optout/email/status_changed.html", context), "text/html"
    )
    message.send()
