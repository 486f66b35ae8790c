"""Reads of removal requests."""

from __future__ import annotations

import hmac
import uuid

from django.db.models import QuerySet

from optout.enums import OPEN_STATUSES
from optout.models import RemovalRequest, RequestSubject, VerificationAttempt
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


def active_exclusion_covering(identifier: Identifier) -> str | None:
    """The subject of an active exclusion that already covers ``identifier``, if any.

    A repository is covered by itself or any enclosing namespace; a namespace by itself
    or an enclosing namespace (gitlab.com/group covers gitlab.com/group/sub).
    """
    namespaces = list(enclosing_namespaces(identifier.canonical))
    query = Exclusion.objects.filter(active=True, kind=ExclusionKind.NAMESPACE)
    if identifier.kind == ExclusionKind.NAMESPACE:
        namespaces.append(identifier.canonical)
    elif Exclusion.objects.filter(
        active=True, kind=ExclusionKind.REPOSITORY, subject=identifier.canonical
    ).exists():
        return identifier.canonical
    covering = query.filter(subject__in=namespaces).order_by("subject").first()
    return covering.subject if covering else None


def subject_open_for_email(*, canonical: str, contact_email: str) -> bool:
    return RequestSubject.objects.filter(
        subject=canonical,
        request__status__in=OPEN_STATUSES,
        request__contact_email__iexact=contact_email,
    ).exists()


def request_evidence(request: RemovalRequest) -> QuerySet[VerificationAttempt]:
    """Every verification attempt of ``request``, newest last, with its subject."""
    return VerificationAttempt.objects.filter(run__request=request).select_related("subject")


def requests_claimed_by(user: object) -> QuerySet[RemovalRequest]:
    return RemovalRequest.objects.filter(claimed_by=user).prefetch_related("subjects")
