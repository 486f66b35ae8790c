"""Set differences of compiled exclusions, worked out on plain Python sets.

The reference the tests hold ``governance.releases.matching``'s log-range reads to: it
needs no database and shares no code with them.
"""

from __future__ import annotations

from governance.releases.matching import CompiledExclusions, all_namespaces, compile_exclusions
from registry.selectors import ExclusionSet


def _sets(exclusions: CompiledExclusions) -> tuple[set[str], set[str]]:
    return set(exclusions.repositories.to_pylist()), set(all_namespaces(exclusions).to_pylist())


def _compiled(size: int, repositories: set[str], namespaces: set[str]) -> CompiledExclusions:
    return compile_exclusions(
        ExclusionSet(
            log_size=size, repositories=frozenset(repositories), namespaces=frozenset(namespaces)
        )
    )


def exclusions_minus(left: CompiledExclusions, right: CompiledExclusions) -> CompiledExclusions:
    """Exclusions in force in ``left`` and not in ``right``."""
    (left_repositories, left_namespaces), (right_repositories, right_namespaces) = (
        _sets(left),
        _sets(right),
    )
    return _compiled(
        left.size, left_repositories - right_repositories, left_namespaces - right_namespaces
    )


def exclusions_changed(before: CompiledExclusions, after: CompiledExclusions) -> CompiledExclusions:
    """Exclusions added or removed between two checkpoints, either direction."""
    (before_repositories, before_namespaces), (after_repositories, after_namespaces) = (
        _sets(before),
        _sets(after),
    )
    return _compiled(
        after.size,
        before_repositories ^ after_repositories,
        before_namespaces ^ after_namespaces,
    )
