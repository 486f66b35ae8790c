"""A shard's runs decide the same rows, index and changes as the rule applied row by row."""

from __future__ import annotations

from collections import Counter, defaultdict

import pyarrow as pa
from hypothesis import given
from hypothesis import strategies as st

from governance.releases.matching import NO_EXCLUSIONS, compile_exclusions
from governance.releases.shard_index import (
    kept_repositories,
    repository_index,
    shard_changes,
    shard_repositories,
)
from registry.matching import enclosing_namespaces, is_repository_excluded
from registry.selectors import ExclusionSet
from tests.governance.exclusion_sets import exclusions_changed

_part = st.sampled_from(["a", "b", "Ab", "c-d"])
_repo = st.lists(_part, min_size=2, max_size=4).map("/".join)
_names = st.lists(st.one_of(_repo, st.none()), max_size=30)
_repositories = st.sets(_repo.map(lambda r: f"gitlab.com/{r.lower()}"), max_size=5)
_namespaces = st.sets(
    st.lists(_part, min_size=1, max_size=2).map(lambda p: "gitlab.com/" + "/".join(p).lower()),
    max_size=4,
)


def _compiled(repositories: set[str], namespaces: set[str]):
    return compile_exclusions(
        ExclusionSet(
            log_size=1, repositories=frozenset(repositories), namespaces=frozenset(namespaces)
        )
    )


def _attributed(repository: str, repositories: set[str], namespaces: set[str]):
    """(kind, subject) excluding ``repository``: itself first, then the outermost namespace."""
    if repository in repositories:
        return "repository", repository
    for namespace in enclosing_namespaces(repository):
        if namespace in namespaces:
            return "namespace", namespace
    return None


@given(names=_names, repositories=_repositories, namespaces=_namespaces)
def test_the_rows_kept_agree_with_the_registry_rule(names, repositories, namespaces) -> None:
    keep = shard_repositories(
        pa.array(names, pa.string()), "gitlab.com", _compiled(repositories, namespaces)
    ).keep
    expected = [
        name is None
        or not is_repository_excluded(f"gitlab.com/{name.lower()}", repositories, namespaces)
        for name in names
    ]
    assert keep.to_pylist() == expected


@given(names=_names)
def test_the_index_counts_every_row_of_each_repository_whatever_its_runs(names) -> None:
    # Chunked, as read from a file with several row groups.
    column = pa.chunked_array([pa.array(names[:3], pa.string()), pa.array(names[3:], pa.string())])
    index = repository_index(shard_repositories(column, "gitlab.com", NO_EXCLUSIONS).runs)
    counts = Counter(f"gitlab.com/{name.lower()}" for name in names if name is not None)
    indexed: Counter[str] = Counter()
    for repository, rows in zip(*index.to_pydict().values(), strict=True):
        indexed[repository] += rows
    assert indexed == counts


@given(names=_names, repositories=_repositories, namespaces=_namespaces)
def test_the_kept_repositories_count_each_kept_row_once_sorted(
    names, repositories, namespaces
) -> None:
    # Chunked, as read from a file with several row groups; split runs must add up.
    column = pa.chunked_array([pa.array(names[:4], pa.string()), pa.array(names[4:], pa.string())])
    runs = shard_repositories(column, "gitlab.com", _compiled(repositories, namespaces)).runs
    kept = kept_repositories(runs).to_pydict()
    counts = Counter(
        f"gitlab.com/{name.lower()}"
        for name in names
        if name is not None
        and not is_repository_excluded(f"gitlab.com/{name.lower()}", repositories, namespaces)
    )
    assert kept["repository"] == sorted(counts)
    assert dict(zip(kept["repository"], kept["rows"], strict=True)) == counts


@given(
    names=_names,
    before=st.tuples(_repositories, _namespaces),
    after=st.tuples(_repositories, _namespaces),
)
def test_the_changes_agree_with_the_rule_before_and_after(names, before, after) -> None:
    runs = shard_repositories(pa.array(names, pa.string()), "gitlab.com", _compiled(*after)).runs
    changed = exclusions_changed(_compiled(*before), _compiled(*after))
    changes = shard_changes(runs, before=_compiled(*before), changed=changed)
    expected: dict[tuple, list] = defaultdict(lambda: [set(), 0])
    for name in names:
        if name is None:
            continue
        repository = f"gitlab.com/{name.lower()}"
        old, new = _attributed(repository, *before), _attributed(repository, *after)
        change = (
            ("removed", *new)
            if new and not old
            else ("reincluded", *old)
            if old and not new
            else None
        )
        if change:
            expected[change][0].add(repository)
            expected[change][1] += 1
    assert sorted(
        zip(*(changes.column(c).to_pylist() for c in changes.column_names), strict=True)
    ) == sorted((*key, len(repos), rows) for key, (repos, rows) in expected.items())


def test_a_shard_with_no_rows_keeps_nothing_and_indexes_nothing() -> None:
    repositories = shard_repositories(
        pa.array([], pa.string()), "github.com", _compiled({"github.com/o/r"}, set())
    )
    assert len(repositories.keep) == 0
    assert repository_index(repositories.runs).num_rows == 0


def test_an_index_lists_each_run_in_shard_order() -> None:
    names = pa.array(["b/z", "a/y", "a/y", "C/x", "a/w", "A/y"], pa.string())
    index = repository_index(shard_repositories(names, "github.com", NO_EXCLUSIONS).runs)
    assert index.to_pydict() == {
        "repository": [
            "github.com/b/z",
            "github.com/a/y",
            "github.com/c/x",
            "github.com/a/w",
            "github.com/a/y",
        ],
        "rows": [1, 2, 1, 1, 1],
    }
