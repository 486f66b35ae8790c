"""Requests the portal opens itself: an opt-out marker found inside the dataset.

When a version is published, governance sends ``version_published``; ``receivers.py``
calls :func:`marker_requests_open`, which turns every marker that version's shards held
(``governance.selectors.version_markers``) into a removal request for its repository.
The marker is the proof of control (only the repository's owner could commit it), so the
request is recorded as verified with the evidence "found in dataset version X, shard S,
path P, revision R", and waits for review like any verified request, or is approved at
once under ``OPTOUT_AUTO_APPROVE``.

Idempotent: the announcement may come twice, and a later release finds the same markers
again. A repository already excluded, named by an open request, or that a marker already
opened a request for (``MarkerRequest``, unique per repository and kind) gets none.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone

from governance.models import DatasetMarker
from governance.selectors import version_markers
from optout.enums import OPEN_STATUSES, RequestStatus, VerificationMethod
from optout.models import (
    MarkerRequest,
    RequestSubject,
    VerificationAttempt,
    VerificationRun,
)
from optout.selectors import active_exclusions_covering
from optout.services import request_submit, request_transition
from registry.enums import ExclusionKind
from registry.identifiers import Identifier, IdentifierError, parse_identifier
from registry.matching import enclosing_namespaces


def marker_requests_open(*, dataset: str, version: str) -> int:
    """Open a request for each marker of a published version that needs one; returns how
    many were opened."""
    opened = 0
    for marker in version_markers(dataset=dataset, version=version).order_by("id"):
        if _marker_request_open(marker):
            opened += 1
    return opened


def marker_evidence(marker: DatasetMarker) -> tuple[str, dict[str, object]]:
    """The sentence and the fields the owner and the reviewers read."""
    revision = (
        f"{marker.revision_column} {marker.revision}"
        if marker.revision
        else "not recorded in the dataset"
    )
    message = (
        f"Opt-out marker found in dataset version {marker.version.label}, shard "
        f"{marker.shard}, path {marker.path}, revision {revision}: {marker.directive!r}."
    )
    evidence = {
        "dataset": marker.version.dataset.name,
        "version": marker.version.version,
        "shard": marker.shard,
        "path": marker.path,
        "revision": marker.revision or None,
        "revision_column": marker.revision_column or None,
        "marker": marker.kind,
        "line": marker.directive,
    }
    return message, evidence


def _marker_request_open(marker: DatasetMarker) -> bool:
    try:
        identifier = parse_identifier(marker.repository)
    except IdentifierError:
        return False  # a repository column value the portal cannot name: nothing to open
    if identifier.kind != ExclusionKind.REPOSITORY or _already_handled(identifier, marker):
        return False
    try:
        with transaction.atomic():
            result = request_submit(
                lines=[identifier.canonical],
                contact_email="",
                reason=f"Opt-out marker found in dataset version {marker.version.label}.",
                actor_label="system",
            )
            if result.request is None:
                return False  # excluded meanwhile
            request = result.request
            # Inserted first: a concurrent run for the same marker stops here.
            MarkerRequest.objects.create(
                request=request, repository=identifier.canonical, marker=marker.kind
            )
            _record_marker_proof(request.id, marker)
            request_transition(
                request_id=request.id,
                to_status=RequestStatus.VERIFIED,
                actor_label="system",
                reason=f"opt-out marker found in dataset version {marker.version.label}",
            )
    except IntegrityError:
        return False
    return True


def _already_handled(identifier: Identifier, marker: DatasetMarker) -> bool:
    if MarkerRequest.objects.filter(repository=identifier.canonical, marker=marker.kind).exists():
        return True
    if active_exclusions_covering([identifier]):
        return True
    covering = [identifier.canonical, *enclosing_namespaces(identifier.canonical)]
    return RequestSubject.objects.filter(
        subject__in=covering, request__status__in=OPEN_STATUSES
    ).exists()


def _record_marker_proof(request_id: int, marker: DatasetMarker) -> None:
    """The marker as the request's verification: a run with one successful attempt."""
    now = timezone.now()
    message, evidence = marker_evidence(marker)
    run = VerificationRun.objects.create(request_id=request_id, finished_at=now)
    subject = RequestSubject.objects.get(request_id=request_id)
    VerificationAttempt.objects.create(
        run=run,
        subject=subject,
        method=VerificationMethod.DATASET_MARKER,
        succeeded=True,
        message=message,
        evidence=evidence,
        checked_at=now,
        duration_ms=0,
    )
    RequestSubject.objects.filter(id=subject.id).update(
        verified_at=now, verified_by=VerificationMethod.DATASET_MARKER
    )
