"""Ownership verification: the methods, behind one interface, and the run that uses them.

Each method checks one subject of a request and returns a :class:`Proof`: whether it
succeeded, a message for the owner, and the evidence (what was fetched, when, what came
back). ``request_verify`` runs the methods for every unproven subject *outside* any
transaction (network I/O never holds a row lock), then records every attempt and, when
all subjects are proven, moves the request to ``verified`` through ``request_transition``.

Methods:
- ``RepositoryFileMethod``: ``.dataset-optout`` holding the token at the root of the
  default branch, read over git smart HTTP (any git host).
- ``NamespaceRepositoryMethod``: a repository ``dataset-optout-<token>`` exists in the
  namespace (``git ls-remote``). Proves a namespace, and every repository under it.
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
from optout.forge_signin import ForgeSigninMethod
from optout.gitsmart import GitError, advertised_refs, read_file_at_head
from optout.models import RemovalRequest, RequestSubject, VerificationAttempt, VerificationRun
from optout.outbound import OutboundError, OutboundRefused
from optout.proofs import Method, Proof
from optout.services import request_transition
from registry.enums import ExclusionKind
from registry.forges import forges
from registry.identifiers import Identifier

TOKEN_FILE = ".dataset-optout"  # noqa: S105 (a file name, not a secret)
PROOF_REPOSITORY_PREFIX = "dataset-optout-"


class VerificationRefused(Exception):
    """Verification cannot run now (wrong state, expired, too many attempts)."""


class VerificationThrottled(VerificationRefused):
    """Too many checks of this request in the last hour."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def _identifier(subject: RequestSubject) -> Identifier:
    return Identifier(kind=ExclusionKind(subject.kind), canonical=subject.subject)


def _unreachable(identifier: Identifier, exc: Exception) -> Proof:
    return Proof(False, f"Could not read {identifier.canonical}: {exc}", {"error": str(exc)})


class RepositoryFileMethod:
    method = VerificationMethod.REPOSITORY_FILE

    def applies_to(self, identifier: Identifier) -> bool:
        return identifier.kind == ExclusionKind.REPOSITORY

    def check(self, *, identifier: Identifier, token: str, memo: dict) -> Proof:
        forge = forges()[identifier.host]
        try:
            found = read_file_at_head(forge, identifier.path, TOKEN_FILE)
        except (GitError, OutboundError, OutboundRefused) as exc:
            return _unreachable(identifier, exc)
        branch = (found.branch or "HEAD").removeprefix("refs/heads/")
        evidence = {"fetches": found.evidence, "branch": branch, "commit": found.commit}
        where = f"the default branch ({branch}, commit {found.commit[:10]})"
        if found.content is None:
            return Proof(
                False,
                f"{where} of {identifier.canonical} has no {TOKEN_FILE} file at its root. "
                f"Commit one containing {token} and check again.",
                evidence,
            )
        lines = {line.strip() for line in found.content.decode(errors="replace").splitlines()}
        if token not in lines:
            return Proof(
                False,
                f"The {TOKEN_FILE} file on {where} of {identifier.canonical} does not contain "
                f"this request's token {token}. Put the token on a line of its own.",
                evidence,
            )
        message = f"Found {TOKEN_FILE} with the token on {where} of {identifier.canonical}."
        return Proof(True, message, evidence)


class NamespaceRepositoryMethod:
    method = VerificationMethod.NAMESPACE_REPOSITORY

    def applies_to(self, identifier: Identifier) -> bool:
        return True  # a proven namespace also proves every repository in it

    def check(self, *, identifier: Identifier, token: str, memo: dict) -> Proof:
        namespace = identifier.namespace_path
        key = (identifier.host, namespace)
        if key not in memo:  # several subjects in one namespace: ask the forge once
            memo[key] = self._check_namespace(identifier.host, namespace, token)
        return memo[key]

    def _check_namespace(self, host: str, namespace: str, token: str) -> Proof:
        forge = forges()[host]
        proof_repository = f"{namespace}/{PROOF_REPOSITORY_PREFIX}{token}"
        try:
            found = advertised_refs(forge, proof_repository)
        except GitError as exc:
            return Proof(
                False,
                f"No repository {host}/{proof_repository} ({exc}) Create it (it may be empty) "
                "and check again.",
                {"repository": f"{host}/{proof_repository}", "error": str(exc)},
            )
        except (OutboundError, OutboundRefused) as exc:
            return Proof(False, f"Could not reach {host}: {exc}", {"error": str(exc)})
        return Proof(
            True,
            f"Found the proof repository {host}/{proof_repository}.",
            {"repository": f"{host}/{proof_repository}", "fetches": [found.fetched.evidence()]},
        )


METHODS: tuple[Method, ...] = (RepositoryFileMethod(), NamespaceRepositoryMethod())


@dataclass
class VerificationReport:
    request: RemovalRequest
    run: VerificationRun
    attempts: list[VerificationAttempt]

    @property
    def all_proven(self) -> bool:
        return not self.request.subjects.filter(verified_at=None).exists()


def _start_run(request_id: int) -> tuple[VerificationRun, list[RequestSubject], str] | None:
    """Lock the request, check it may be verified now, and record the run (the rate limit)."""
    now = timezone.now()
    with transaction.atomic():
        request = RemovalRequest.objects.select_for_update().get(id=request_id)
        if request.status != RequestStatus.PENDING_VERIFICATION:
            raise VerificationRefused(
                f"This request is {request.get_status_display().lower()}; only requests "
                "pending verification are checked."
            )
        if request.expires_at is not None and request.expires_at <= now:
            return None
        window = now - timedelta(hours=1)
        recent = list(
            request.verification_runs.filter(started_at__gte=window).values_list(
                "started_at", flat=True
            )
        )
        if len(recent) >= settings.OPTOUT_VERIFICATIONS_PER_HOUR:
            retry_at = min(recent) + timedelta(hours=1)
            raise VerificationThrottled(
                f"This request was checked {len(recent)} times in the last hour, the most "
                f"allowed. Try again after {retry_at:%H:%M} UTC.",
                max(1, int((retry_at - now).total_seconds())),
            )
        run = VerificationRun.objects.create(request=request)
        subjects = list(request.subjects.filter(verified_at=None).order_by("id"))
        return run, subjects, request.verification_token


def methods_for(user: AbstractBaseUser | None) -> tuple[Method, ...]:
    """The methods to try, the signed-in owner's forge first (one API call, no git)."""
    if user is not None and user.is_authenticated:
        return (ForgeSigninMethod(user), *METHODS)
    return METHODS


def request_verify(
    *,
    request_id: int,
    user: AbstractBaseUser | None = None,
    methods: tuple[Method, ...] | None = None,
) -> VerificationReport:
    """Check every unproven subject of the request; verify the request when all are proven.

    ``user`` is the signed-in person pressing "Check now", if any: their forge sign-in is
    tried, and a request they prove that way is listed as theirs.
    """
    methods = methods if methods is not None else methods_for(user)
    started = _start_run(request_id)
    if started is None:
        request_transition(
            request_id=request_id,
            to_status=RequestStatus.EXPIRED,
            actor_label="system",
            reason=f"not verified within {settings.OPTOUT_TOKEN_TTL_DAYS} days",
        )
        raise VerificationRefused(
            "This request expired before it was verified. Submit a new request to get a new token."
        )
    run, subjects, token = started
    memo: dict = {}
    outcomes: list[tuple[RequestSubject, VerificationMethod, Proof, object, int]] = []
    for subject in subjects:
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
    return _record_run(run, outcomes, user=user)


def _record_run(
    run: VerificationRun,
    outcomes: list[tuple[RequestSubject, VerificationMethod, Proof, object, int]],
    *,
    user: AbstractBaseUser | None,
) -> VerificationReport:
    now = timezone.now()
    with transaction.atomic():
        request = RemovalRequest.objects.select_for_update().get(id=run.request_id)
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
        run.save(update_fields=["finished_at"])
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
