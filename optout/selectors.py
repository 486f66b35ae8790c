"""Reads of removal requests."""

from __future__ import annotations

import hmac
import uuid
from collections.abc import Iterator

from django.db.models import QuerySet

from governance.enums import VersionStatus
from governance.models import Dataset, DatasetVersion
from optout.enums import OPEN_STATUSES, RequestStatus
from optout.models import RemovalRequest, RequestEvent, RequestSubject, VerificationAttempt
from optout.tokens import hash_token
from registry.enums import ExclusionKind
from registry.identifiers import Identifier
from registry.matching import enclosing_namespaces
from registry.models import Exclusion


def request_by_secret_link(*, public_id: uuid.UUID | str, token: str) -> RemovalRequest | None:
    """The request that this secret link opens, or ``None``. Constant-time comparison."""
    try:
        public_id = uuid.UUID(str(public_id))
    except ValueError:
        return None
    request = RemovalRequest.objects.filter(public_id=public_id).first()
    if request is None or not hmac.compare_digest(request.status_token_hash, hash_token(token)):
        return None
    return request


def _chunks(items: list[str], size: int = 500) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def active_exclusions_covering(identifiers: list[Identifier]) -> dict[str, str]:
    """For each identifier already covered by an active exclusion: the exclusion's subject.

    A repository is covered by itself or any enclosing namespace; a namespace by itself
    or an enclosing namespace (gitlab.com/group covers gitlab.com/group/sub). A few
    queries for the whole list, however long.
    """
    repositories = sorted({i.canonical for i in identifiers if i.kind == ExclusionKind.REPOSITORY})
    candidates: dict[str, list[str]] = {}
    for identifier in identifiers:
        enclosing = list(enclosing_namespaces(identifier.canonical))
        if identifier.kind == ExclusionKind.NAMESPACE:
            enclosing.append(identifier.canonical)
        candidates[identifier.canonical] = enclosing
    namespaces = sorted({n for enclosing in candidates.values() for n in enclosing})
    excluded_repositories: set[str] = set()
    for chunk in _chunks(repositories):
        excluded_repositories.update(
            Exclusion.objects.filter(
                active=True, kind=ExclusionKind.REPOSITORY, subject__in=chunk
            ).values_list("subject", flat=True)
        )
    excluded_namespaces: set[str] = set()
    for chunk in _chunks(namespaces):
        excluded_namespaces.update(
            Exclusion.objects.filter(
                active=True, kind=ExclusionKind.NAMESPACE, subject__in=chunk
            ).values_list("subject", flat=True)
        )
    covered: dict[str, str] = {}
    for identifier in identifiers:
        if identifier.canonical in excluded_repositories:
            covered[identifier.canonical] = identifier.canonical
            continue
        hits = [n for n in candidates[identifier.canonical] if n in excluded_namespaces]
        if hits:
            covered[identifier.canonical] = hits[0]  # the outermost namespace
    return covered


def open_requests_overlapping(
    request: RemovalRequest, *, limit: int = 200
) -> list[tuple[RemovalRequest, list[str]]]:
    """Other open requests to the same contact address (any case) naming some of the same
    subjects, oldest first, each with the subjects it shares.

    For the e-mail to that address only: the person submitting is never told, since the
    address they typed may not be theirs.
    """
    shared = (
        RequestSubject.objects.filter(
            subject__in=request.subjects.values("subject"),
            request__contact_email__iexact=request.contact_email,
            request__status__in=OPEN_STATUSES,
        )
        .exclude(request=request)
        .select_related("request")
        .order_by("request__created_at", "request_id", "subject")[:limit]
    )
    grouped: dict[int, tuple[RemovalRequest, list[str]]] = {}
    for row in shared:
        grouped.setdefault(row.request_id, (row.request, []))[1].append(row.subject)
    return list(grouped.values())


def request_evidence(request: RemovalRequest) -> QuerySet[VerificationAttempt]:
    """Every verification attempt of ``request``, newest last, with its subject."""
    return VerificationAttempt.objects.filter(run__request=request).select_related("subject")


def requests_claimed_by(user: object) -> QuerySet[RemovalRequest]:
    return RemovalRequest.objects.filter(claimed_by=user).prefetch_related("subjects")


def request_revocations(request: RemovalRequest) -> list[RequestEvent]:
    """The maintainers' revocations of the request or of one of its exclusions, oldest
    first, each with the reason its owner reads."""
    return [event for event in request.events.all() if event.revoked or event.revoked_in_part]


def request_applied_in(request: RemovalRequest) -> list[str]:
    """The published versions that applied an applied request: each dataset's first one
    built at a checkpoint holding the request's exclusions. Labels are the version alone
    ("1.0.1") when there is one dataset, else "name 1.0.1"."""
    if request.status != RequestStatus.APPLIED or request.applied_from_log_size is None:
        return []
    datasets = list(Dataset.objects.order_by("name"))
    labels = []
    for dataset in datasets:
        first = (
            DatasetVersion.objects.filter(
                dataset=dataset,
                status=VersionStatus.PUBLISHED,
                log_size__gte=request.applied_from_log_size,
            )
            .order_by("published_at", "id")
            .first()
        )
        if first is not None:
            labels.append(first.version if len(datasets) == 1 else first.label)
    return labels
