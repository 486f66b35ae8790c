"""Owner-facing pages.

MINIMAL (Foundation): submit a request and follow it through the secret link. The
requests issue adds verification, withdrawal, signed-in lists and throttling.
"""

from __future__ import annotations

import uuid

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from optout.forms import SubmitRequestForm
from optout.selectors import request_by_secret_link
from optout.services import request_submit


def submit(request: HttpRequest) -> HttpResponse:
    form = SubmitRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        result = request_submit(
            lines=form.cleaned_data["subjects"].splitlines(),
            contact_email=form.cleaned_data["contact_email"],
            reason=form.cleaned_data["reason"],
        )
        if result.request is not None:
            link = reverse("optout:status", kwargs={"public_id": result.request.public_id})
            context = {
                "removal_request": result.request,
                "status_link": request.build_absolute_uri(f"{link}?token={result.status_token}"),
            }
            return render(request, "optout/submitted.html", context)
        for number, message in sorted(result.errors.items()):
            form.add_error("subjects", f"Line {number}: {message}" if number else message)
    status = 400 if request.method == "POST" else 200
    return render(request, "optout/submit.html", {"form": form}, status=status)


def status(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    removal_request = request_by_secret_link(
        public_id=public_id, token=request.GET.get("token", "")
    )
    if removal_request is None:
        # Same answer for "no such request" and "wrong token": reveal nothing.
        return render(request, "optout/status_not_found.html", status=404)
    context = {
        "removal_request": removal_request,
        "subjects": removal_request.subjects.all(),
        "events": removal_request.events.all(),
    }
    return render(request, "optout/status.html", context)
