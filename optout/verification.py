"""Ownership verification: the methods, behind one interface, and the run that uses them.

Each method checks one subject of a request and returns a :class:`Proof`: whether it
succeeded, a message for the owner, and the evidence (what was fetched, when, what came
back). A *run* is one "Check now": ``verification_start`` checks state, expiry and the
rate limit and records the run; ``verification_perform`` (from the ``verify_run`` task)
runs the methods for every unproven subject *outside* any transaction (network I/O
never holds a row lock), records every attempt and, when all subjects are proven, moves
the request to ``verified`` through ``request_transition``.

Methods:
- ``RepositoryFileMethod`` and ``NamespaceRepositoryMethod`` (optout/git_methods.py):
  a ``.dataset-optout`` file on the default branch, or a ``dataset-optout-<token>``
  repository in the namespace, both read over git smart HTTP.
- ``ForgeSigninMethod`` (optout/forge_signin.py): the owner signed in with the forge
  (django-allauth) and its API confirms the account controls the subject. Used only
  when the person pressing "Check now" is signed in.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from optout.enums import RequestStatus, VerificationMethod
from optout.forge_signin import ForgeSigninMethod, signin_tokens_discard
from optout.git_methods import NamespaceRepositoryMethod, RepositoryFileMethod
from optout.models import RemovalRequest, RequestSubject, VerificationAttempt, VerificationRun
from optout.proofs import Method, Proof
from optout.services import request_transition
from registry.enums import ExclusionKind
from registry.identifiers import Identifier


class VerificationRefused(Exception):
    """Verification cannot run now (wrong state, expired, too many attempts)."""


class VerificationThrottled(VerificationRefused):
    """Too many checks of this request in the last hour."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def _identifier(subject: RequestSubject) -> Identifier:
    return Identifier(kind=ExclusionKind(subject.kind), canonical=subject.subject)


METHODS: tuple[Method, ...] = (RepositoryFileMethod(), NamespaceRepositoryMethod())


@dataclass
class VerificationReport:
    request: RemovalRequest
    run: VerificationRun
    attempts: list[VerificationAttempt]


def verification_start(*, request_id: int, user: AbstractBaseUser | None = None) -> VerificationRun:
    """Check the request may be verified now and record the run (which the rate limit counts).

    Raises :class:`VerificationRefused` (wrong state, expired: the request becomes
    ``expired``) or :class:`VerificationThrottled`. The checks themselves happen in
    :func:`verification_perform`, usually from a task.
    """
    now = timezone.now()
    with transaction.atomic():
        request = RemovalRequest.objects.select_for_update().get(id=request_id)
        if request.status != RequestStatus.PENDING_VERIFICATION:
            raise VerificationRefused(
                f"This request is {request.get_status_display().lower()}; only requests "
                "pending verification are checked."
            )
        expired = request.expires_at is not None and request.expires_at <= now
        if not expired:
            window = now - timedelta(hours=1)
            recent = list(
                request.verification_runs.filter(started_at__gte=window).values_list(
                    "started_at", flat=True
                )
            )
            if len(recent) >= settings.OPTOUT_VERIFICATIONS_PER_HOUR:
                retry_at = min(recent) + timedelta(hours=1)
                raise VerificationThrottled(
                    f"This request was checked {len(recent)} times in the last hour, the "
                    f"most allowed. Try again after {retry_at:%H:%M} UTC.",
                    max(1, int((retry_at - now).total_seconds())),
                )
            signed_in = user if user is not None and user.is_authenticated else None
            return VerificationRun.objects.create(request=request, requested_by=signed_in)
    request_transition(
        request_id=request_id,
        to_status=RequestStatus.EXPIRED,
        actor_label="system",
        reason=f"not verified within {settings.OPTOUT_TOKEN_TTL_DAYS} days",
    )
    raise VerificationRefused(
        "This request expired before it was verified. Submit a new request to get a new token."
    )


def methods_for(user: AbstractBaseUser | None) -> tuple[Method, ...]:
    """The methods to try, the signed-in owner's forge first (one API call, no git)."""
    if user is not None and user.is_authenticated:
        return (ForgeSigninMethod(user), *METHODS)
    return METHODS


def verification_perform(
    *, run_id: int, methods: tuple[Method, ...] | None = None
) -> VerificationReport:
    """Run the checks of a started run, outside any transaction, then record them.

    Safe to run twice (a lost task is re-sent by the sweeper): a run already finished is
    left as it is. Stops starting new checks after ``OPTOUT_VERIFY_RUN_SECONDS``; the
    subjects left over are counted on the run and checked by the next one.
    """
    run = VerificationRun.objects.select_related("request", "requested_by").get(id=run_id)
    if run.finished_at is not None:
        return VerificationReport(run.request, run, list(run.attempts.all()))
    methods = methods if methods is not None else methods_for(run.requested_by)
    token = run.request.verification_token
    subjects = list(run.request.subjects.filter(verified_at=None).order_by("id"))
    budget_ends = time.monotonic() + settings.OPTOUT_VERIFY_RUN_SECONDS
    memo: dict = {}
    outcomes: list[tuple[RequestSubject, VerificationMethod, Proof, object, int]] = []
    skipped = 0
    for subject in subjects:
        if time.monotonic() > budget_ends:
            skipped += 1
            continue
        identifier = _identifier(subject)
        for method in methods:
            if not method.applies_to(identifier):
                continue
            checked_at = timezone.now()
            clock = time.monotonic()
            proof = method.check(identifier=identifier, token=token, memo=memo)
            elapsed = int((time.monotonic() - clock) * 1000)
            outcomes.append((subject, method.method, proof, checked_at, elapsed))
            if proof.succeeded:
                break
    used_tokens = {
        token_id
        for method in methods
        if isinstance(method, ForgeSigninMethod)
        for token_id in method.used_token_ids
    }
    return _record_run(run, outcomes, skipped=skipped, used_tokens=used_tokens)


def request_verify(
    *,
    request_id: int,
    user: AbstractBaseUser | None = None,
    methods: tuple[Method, ...] | None = None,
) -> VerificationReport:
    """Start and perform a run in one go (commands and tests; pages go through a task).

    ``user`` is the signed-in person asking, if any: their forge sign-in is tried, and a
    request they prove that way is listed as theirs.
    """
    run = verification_start(request_id=request_id, user=user)
    return verification_perform(run_id=run.id, methods=methods)


def _record_run(
    run: VerificationRun,
    outcomes: list[tuple[RequestSubject, VerificationMethod, Proof, object, int]],
    *,
    skipped: int,
    used_tokens: set[int] | None = None,
) -> VerificationReport:
    now = timezone.now()
    user = run.requested_by
    with transaction.atomic():
        # Forge tokens are deleted with the evidence they produced, even by a run recorded
        # twice: the check is done, and nothing else reads them.
        signin_tokens_discard(token_ids=used_tokens or set())
        request = RemovalRequest.objects.select_for_update().get(id=run.request_id)
        run = VerificationRun.objects.select_for_update().get(id=run.id)
        if run.finished_at is not None:  # another worker recorded this run meanwhile
            return VerificationReport(request, run, list(run.attempts.all()))
        attempts = VerificationAttempt.objects.bulk_create(
            VerificationAttempt(
                run=run,
                subject=subject,
                method=method,
                succeeded=proof.succeeded,
                message=proof.message,
                evidence=proof.evidence,
                checked_at=checked_at,
                duration_ms=elapsed,
            )
            for subject, method, proof, checked_at, elapsed in outcomes
        )
        for subject, method, proof, _, _ in outcomes:
            if proof.succeeded:
                RequestSubject.objects.filter(id=subject.id, verified_at=None).update(
                    verified_at=now, verified_by=method
                )
        signed_in_proof = any(
            proof.succeeded and method == VerificationMethod.FORGE_SIGNIN
            for _, method, proof, _, _ in outcomes
        )
        if signed_in_proof and user is not None and request.claimed_by_id is None:
            request.claimed_by = user
            request.save(update_fields=["claimed_by", "updated_at"])
        run.finished_at = now
        run.subjects_skipped = skipped
        run.save(update_fields=["finished_at", "subjects_skipped"])
        unproven = request.subjects.filter(verified_at=None).exists()
        if request.status == RequestStatus.PENDING_VERIFICATION and not unproven:
            used = sorted(set(request.subjects.values_list("verified_by", flat=True)))
            request = request_transition(
                request_id=request.id,
                to_status=RequestStatus.VERIFIED,
                actor_label="system",
                reason="control proven by " + ", ".join(VerificationMethod(m).label for m in used),
            )
    request.refresh_from_db()
    return VerificationReport(request=request, run=run, attempts=list(attempts))
