""" "Is my code in the dataset?": one answer for a repository or an owner, per dataset.

Composes three reads: which published versions hold it (``governance.lookup``, from each
version's repository list), whether the registry excludes it now and since which version
that applies, and whether an open request names it. The home page and the API render the
same ``LookupAnswer``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from governance.lookup import (
    IndexMissing,
    OwnerPage,
    owner_repositories,
    repository_presence,
)
from governance.models import Dataset, DatasetVersion
from governance.selectors import next_release_at, published_versions
from optout.enums import RequestStatus
from optout.models import RequestSubject
from registry.enums import ExclusionKind
from registry.identifiers import Identifier
from registry.matching import enclosing_namespaces
from registry.models import Exclusion

PAGE_SIZE = 50
# Versions looked at per dataset: each costs one small read, and older ones matter less.
VERSIONS_SHOWN = 20
# Open, and not yet in the registry (an approved request's exclusion is already active).
UNDECIDED_STATUSES = (RequestStatus.PENDING_VERIFICATION, RequestStatus.VERIFIED)


@dataclass(frozen=True)
class VersionHit:
    version: DatasetVersion
    indexed: bool  # False: published before versions listed their repositories
    rows: int = 0
    shards: tuple[str, ...] = ()  # a repository's data files
    repositories: int = 0  # an owner's repositories in the version

    @property
    def present(self) -> bool:
        return self.rows > 0


@dataclass
class DatasetAnswer:
    dataset: Dataset
    versions: list[VersionHit]
    applied_in: DatasetVersion | None  # first version built after the exclusion
    next_release_at: datetime | None
    page: OwnerPage | None = None  # an owner's repositories in the latest version
    page_number: int = 1

    @property
    def latest(self) -> VersionHit | None:
        return self.versions[0] if self.versions else None

    @property
    def in_latest(self) -> bool:
        return bool(self.versions) and self.versions[0].present

    @property
    def ever_present(self) -> bool:
        return any(hit.present for hit in self.versions)

    @property
    def pages(self) -> int:
        if self.page is None:
            return 0
        return max(1, -(-self.page.repositories // PAGE_SIZE))


@dataclass
class LookupAnswer:
    identifier: Identifier
    exclusion: Exclusion | None  # the active exclusion covering it, if any
    pending: bool  # an open request names it or an enclosing namespace
    datasets: list[DatasetAnswer] = field(default_factory=list)

    @property
    def is_namespace(self) -> bool:
        return self.identifier.kind == ExclusionKind.NAMESPACE


def _covering(identifier: Identifier) -> tuple[list[str], list[str]]:
    """Subjects whose exclusion covers ``identifier``: (repositories, namespaces)."""
    namespaces = list(enclosing_namespaces(identifier.canonical))
    if identifier.kind == ExclusionKind.NAMESPACE:
        return [], [*namespaces, identifier.canonical]
    return [identifier.canonical], namespaces


def covering_exclusion(identifier: Identifier) -> Exclusion | None:
    repositories, namespaces = _covering(identifier)
    direct = Exclusion.objects.filter(
        kind=ExclusionKind.REPOSITORY, subject__in=repositories, active=True
    ).first()
    if direct is not None:
        return direct
    return (
        Exclusion.objects.filter(kind=ExclusionKind.NAMESPACE, subject__in=namespaces, active=True)
        .order_by("subject")
        .first()
    )


def undecided_request_names(identifier: Identifier) -> bool:
    repositories, namespaces = _covering(identifier)
    return RequestSubject.objects.filter(
        subject__in=repositories + namespaces, request__status__in=UNDECIDED_STATUSES
    ).exists()


def _hit(version: DatasetVersion, identifier: Identifier) -> VersionHit:
    try:
        if identifier.kind == ExclusionKind.NAMESPACE:
            page = owner_repositories(version, identifier.canonical, limit=0)
            return VersionHit(
                version=version, indexed=True, rows=page.rows, repositories=page.repositories
            )
        presence = repository_presence(version, identifier.canonical)
    except IndexMissing:
        return VersionHit(version=version, indexed=False)
    if presence is None:
        return VersionHit(version=version, indexed=True)
    return VersionHit(version=version, indexed=True, rows=presence.rows, shards=presence.shards)


def dataset_answer(
    dataset: Dataset, identifier: Identifier, exclusion: Exclusion | None, *, page: int = 1
) -> DatasetAnswer:
    versions = list(published_versions(dataset).select_related("dataset")[:VERSIONS_SHOWN])
    hits = [_hit(version, identifier) for version in versions]
    applied_in = None
    if exclusion is not None and exclusion.added_at_index is not None:
        applied_in = (
            published_versions(dataset)
            .filter(log_size__gt=exclusion.added_at_index)
            .order_by("published_at", "id")
            .first()
        )
    answer = DatasetAnswer(
        dataset=dataset,
        versions=hits,
        applied_in=applied_in,
        next_release_at=next_release_at(dataset),
        page_number=page,
    )
    if identifier.kind == ExclusionKind.NAMESPACE and hits and hits[0].indexed:
        answer.page = owner_repositories(
            versions[0], identifier.canonical, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE
        )
    return answer


def lookup(
    identifier: Identifier, *, datasets: list[Dataset] | None = None, page: int = 1
) -> LookupAnswer:
    exclusion = covering_exclusion(identifier)
    answer = LookupAnswer(
        identifier=identifier,
        exclusion=exclusion,
        pending=undecided_request_names(identifier),
    )
    for dataset in datasets if datasets is not None else Dataset.objects.order_by("name"):
        answer.datasets.append(dataset_answer(dataset, identifier, exclusion, page=page))
    return answer
