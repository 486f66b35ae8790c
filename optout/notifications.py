"""E-mail to owners about their request. Sent only after commit, from a task."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse

from optout.models import RequestEvent


def send_event_email(event: RequestEvent) -> None:
    request = event.request
    context = {
        "event": event,
        "request": request,
        "subjects": list(request.subjects.values_list("subject", flat=True)[:20]),
        "status_url": settings.SITE_URL.rstrip("/")
        + reverse("optout:status", kwargs={"public_id": request.public_id}),
    }
    subject = f"Your opt-out request is now {event.get_to_status_display().lower()}"
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
