"""Owner-facing pages: submit, follow through the secret link, check now, withdraw.

Owners signed in with a forge (django-allauth) also get a list of the requests they
proved by signing in.
"""

from __future__ import annotations

import logging
import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_POST

from optout.enums import ALLOWED_TRANSITIONS, EXCLUDING_STATUSES, RequestStatus
from optout.forge_signin import configured_providers
from optout.forms import LinksForm, SubmitRequestForm, WithdrawForm
from optout.guidance import next_step
from optout.links import (
    links_resend_allowed,
    status_page_path,
    status_path,
    status_token_for,
    token_from_pasted,
)
from optout.models import RemovalRequest
from optout.release_schedule import expected_next_release
from optout.selectors import (
    request_applied_in,
    request_evidence,
    request_revocations,
    requests_claimed_by,
)
from optout.services import TransitionError, request_submit, request_transition
from optout.status_cookie import request_by_status_cookie, status_cookie_set
from optout.steps import request_steps
from optout.tasks import links_resend_task, verify_run
from optout.throttling import client_ip, submission_count, submission_throttled
from optout.token_throttle import TokensThrottled, request_by_presented_token
from optout.verification import VerificationRefused, verification_start
from registry.dispatch import queue

logger = logging.getLogger(__name__)


def submit(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = SubmitRequestForm(request.POST)
    else:
        # Pre-filled from the home page's "Request removal" (?subjects=github.com/octo/x).
        form = SubmitRequestForm(initial={"subjects": request.GET.get("subjects", "")[:600]})
    context: dict[str, object] = {"form": form}
    if request.method != "POST":
        return render(request, "optout/submit.html", context)
    if not form.is_valid():
        return render(request, "optout/submit.html", context, status=400)
    ip, email = client_ip(request.META), form.cleaned_data["contact_email"]
    throttled = submission_throttled(ip=ip, email=email)
    if throttled:
        form.add_error(None, throttled.message)
        response = render(request, "optout/submit.html", context, status=429)
        response["Retry-After"] = str(throttled.retry_after)
        return response
    result = request_submit(
        lines=form.cleaned_data["subjects"].splitlines(),
        contact_email=email,
        reason=form.cleaned_data["reason"],
    )
    context["lines"] = result.lines
    if result.errors:
        for number, message in sorted(result.errors.items()):
            form.add_error("subjects", f"Line {number}: {message}" if number else message)
        return render(request, "optout/submit.html", context, status=400)
    if result.request is None:
        context["nothing_new"] = True
        return render(request, "optout/submit.html", context)
    submission_count(ip=ip, email=email)
    context.update(
        removal_request=result.request,
        status_link=request.build_absolute_uri(
            status_path(result.request.public_id, result.status_token or "")
        ),
    )
    response = render(request, "optout/submitted.html", context, status=201)
    # The browser that submitted opens the page at once, with or without JavaScript.
    status_cookie_set(response, result.request)
    return response


def _locked(
    request: HttpRequest, public_id: uuid.UUID, *, wait: TokensThrottled | None = None
) -> HttpResponse:
    """The one answer without access: no token, a wrong or expired one, or no such request
    (the same page, so it reveals nothing). It holds the token form that the page's script
    fills from the link's fragment, and that an owner without JavaScript pastes into."""
    context = {"public_id": public_id, "throttled": str(wait) if wait else ""}
    response = render(request, "optout/status_locked.html", context, status=429 if wait else 404)
    if wait:
        response["Retry-After"] = str(wait.retry_after)
    return response


def _owned(request: HttpRequest, public_id: uuid.UUID) -> RemovalRequest | None:
    """The request this browser may act on: by its cookie, else by a token posted with the
    form (pages cached from before the cookie). Raises ``TokensThrottled``."""
    found = request_by_status_cookie(request, public_id)
    if found is None and request.method == "POST" and request.POST.get("token"):
        found = request_by_presented_token(
            request, public_id=public_id, token=token_from_pasted(request.POST["token"])
        )
    return found


def _open_with_token(request: HttpRequest, public_id: uuid.UUID, token: str) -> HttpResponse:
    """Exchange a presented token for the cookie, then show the page at its bare address."""
    try:
        found = request_by_presented_token(request, public_id=public_id, token=token)
    except TokensThrottled as wait:
        return _locked(request, public_id, wait=wait)
    if found is None:
        return _locked(request, public_id)
    response = HttpResponseRedirect(status_page_path(public_id), status=303)
    status_cookie_set(response, found)
    return response


def status(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    if request.method == "POST":  # the token form
        return _open_with_token(
            request, public_id, token_from_pasted(request.POST.get("token", ""))
        )
    if "token" in request.GET:  # a link of the former kind: one visit, then the bare address
        return _open_with_token(request, public_id, request.GET["token"])
    removal_request = request_by_status_cookie(request, public_id)
    if removal_request is None:
        return _locked(request, public_id)
    return _render_status(request, removal_request)


def _render_status(
    request: HttpRequest,
    removal_request: RemovalRequest,
    *,
    withdraw_form: WithdrawForm | None = None,
    status_code: int = 200,
) -> HttpResponse:
    can_verify = removal_request.status == RequestStatus.PENDING_VERIFICATION
    release = expected_next_release()
    excluded = removal_request.status in EXCLUDING_STATUSES
    context = {
        "steps": request_steps(removal_request, release=release),
        # The next release matters only until it has removed the code.
        "show_next_release": removal_request.status
        in (RequestStatus.VERIFIED, RequestStatus.APPROVED),
        # Withdrawing opts back in once the code is excluded; before, it cancels the request.
        "withdraw_opts_back_in": excluded,
        "removal_request": removal_request,
        "subjects": removal_request.subjects.all(),
        "events": removal_request.events.all(),
        "revocations": request_revocations(removal_request),
        "applied_in": request_applied_in(removal_request),
        "excluding": excluded,
        "evidence": request_evidence(removal_request),
        "running_check": removal_request.verification_runs.filter(finished_at=None).first(),
        "next_step": next_step(removal_request, release=release),
        "next_release": release,
        "can_verify": can_verify,
        "can_withdraw": RequestStatus.WITHDRAWN in ALLOWED_TRANSITIONS[removal_request.status],
        "withdraw_form": withdraw_form or WithdrawForm(),
        "signin_providers": configured_providers() if can_verify else [],
        "signed_in": request.user.is_authenticated,
    }
    return render(request, "optout/status.html", context, status=status_code)


@require_POST
def verify(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    try:
        removal_request = _owned(request, public_id)
    except TokensThrottled as wait:
        return _locked(request, public_id, wait=wait)
    if removal_request is None:
        return _locked(request, public_id)
    try:
        run = verification_start(request_id=removal_request.id, user=request.user)
    except VerificationRefused as exc:
        messages.error(request, str(exc))
        return _back_to_page(removal_request)
    queue(verify_run, run_id=run.id)  # in-process without a broker: results are ready below
    run.refresh_from_db()
    removal_request.refresh_from_db()
    if run.finished_at is None:
        messages.info(request, "Checking now. Refresh this page in a minute to see the results.")
    elif removal_request.status != RequestStatus.PENDING_VERIFICATION:
        messages.success(request, "Control proven. Thank you.")
    else:
        messages.warning(request, "Not everything is proven yet; see the results below.")
    if run.subjects_skipped:
        messages.info(
            request,
            f"{run.subjects_skipped} subject(s) were not checked this time (time limit of one "
            "check); press \u201cCheck now\u201d again for them.",
        )
    return _back_to_page(removal_request)


@require_POST
def withdraw(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    try:
        removal_request = _owned(request, public_id)
    except TokensThrottled as wait:
        return _locked(request, public_id, wait=wait)
    if removal_request is None:
        return _locked(request, public_id)
    form = WithdrawForm(request.POST)
    if not form.is_valid():
        return _render_status(request, removal_request, withdraw_form=form, status_code=400)
    try:
        request_transition(
            request_id=removal_request.id,
            to_status=RequestStatus.WITHDRAWN,
            actor_label="owner",
            reason=form.cleaned_data["reason"] or "withdrawn by the owner",
        )
    except TransitionError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Withdrawn. Your code comes back in the next dataset version.")
    return _back_to_page(removal_request)


def _back_to_page(removal_request: RemovalRequest) -> HttpResponse:
    # The cookie comes along, also when the form was posted with a token instead.
    response = HttpResponseRedirect(status_page_path(removal_request.public_id))
    status_cookie_set(response, removal_request)
    return response


@login_required
def mine(request: HttpRequest) -> HttpResponse:
    """The requests the signed-in forge account proved, each with its private link."""
    rows = [
        (
            removal_request,
            status_path(removal_request.public_id, status_token_for(removal_request.public_id)),
        )
        for removal_request in requests_claimed_by(request.user)
    ]
    return render(request, "optout/mine.html", {"rows": rows})


def links(request: HttpRequest) -> HttpResponse:
    """Send an owner's private links again. The same answer whether or not the address
    has requests: the e-mail goes out from a task, and only its owner reads it."""
    form = LinksForm(request.POST or None)
    if request.method != "POST" or not form.is_valid():
        status_code = 400 if request.method == "POST" else 200
        return render(request, "optout/links.html", {"form": form}, status=status_code)
    email = form.cleaned_data["contact_email"]
    if not links_resend_allowed(ip=client_ip(request.META), email=email):
        form.add_error(
            None,
            "Links were asked for too often from this network or for this address in the "
            "last hour. Try again in an hour.",
        )
        response = render(request, "optout/links.html", {"form": form}, status=429)
        response["Retry-After"] = "3600"
        return response
    transaction.on_commit(lambda: _queue_links(email))
    return render(request, "optout/links.html", {"sent_to": email})


def _queue_links(email: str) -> None:
    try:
        links_resend_task.delay(email=email)
    except Exception:  # the broker is down: the owner can ask again; the page stays honest
        logger.exception("Could not queue the private links for an address")
