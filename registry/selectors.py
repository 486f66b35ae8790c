"""Reads of the registry."""

from __future__ import annotations

from dataclasses import dataclass

from registry.enums import ExclusionKind, LogAction
from registry.matching import enclosing_namespaces, is_repository_excluded
from registry.models import Exclusion, LogEntry, LogHead


@dataclass(frozen=True)
class ExclusionSet:
    """The exclusions in force at one log size."""

    log_size: int
    repositories: frozenset[str]
    namespaces: frozenset[str]

    def excludes(self, repository: str) -> bool:
        return is_repository_excluded(repository, self.repositories, self.namespaces)


def log_size() -> int:
    head = LogHead.objects.filter(id=1).first()
    return head.size if head else 0


def exclusions_at(size: int | None = None) -> ExclusionSet:
    """Replay the log up to ``size`` entries (default: all) into the set then in force.

    Reading the log rather than ``Exclusion`` rows makes a release reproducible: the same
    size always gives the same set, whatever has changed since.
    """
    if size is None:
        size = log_size()
    state: dict[tuple[str, str], bool] = {}
    entries = LogEntry.objects.filter(index__lt=size).order_by("index")
    for action, kind, subject in entries.values_list("action", "kind", "subject").iterator(
        chunk_size=10_000
    ):
        state[(kind, subject)] = action == LogAction.ADD
    repositories = frozenset(
        s for (k, s), on in state.items() if on and k == ExclusionKind.REPOSITORY
    )
    namespaces = frozenset(s for (k, s), on in state.items() if on and k == ExclusionKind.NAMESPACE)
    return ExclusionSet(log_size=size, repositories=repositories, namespaces=namespaces)


def exclusion_matching(repository: str) -> Exclusion | None:
    """The active exclusion that excludes ``repository``, if any (repository first)."""
    direct = Exclusion.objects.filter(
        kind=ExclusionKind.REPOSITORY, subject=repository, active=True
    ).first()
    if direct is not None:
        return direct
    return (
        Exclusion.objects.filter(
            kind=ExclusionKind.NAMESPACE,
            subject__in=list(enclosing_namespaces(repository)),
            active=True,
        )
        .order_by("subject")
        .first()
    )
