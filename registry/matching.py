"""The matching rule, in one place.

A repository ``host/owner/name`` is excluded when it is an active repository exclusion,
or when any namespace containing it is an active namespace exclusion. For forges with
nested groups (``gitlab.com/group/subgroup/name``), every enclosing group counts.
"""

from __future__ import annotations

from collections.abc import Iterator


def enclosing_namespaces(repository: str) -> Iterator[str]:
    """``gitlab.com/a/b/name`` → ``gitlab.com/a``, ``gitlab.com/a/b``."""
    parts = repository.split("/")
    for end in range(2, len(parts)):
        yield "/".join(parts[:end])


def is_repository_excluded(
    repository: str, repositories: set[str] | frozenset[str], namespaces: set[str] | frozenset[str]
) -> bool:
    if repository in repositories:
        return True
    return any(namespace in namespaces for namespace in enclosing_namespaces(repository))
