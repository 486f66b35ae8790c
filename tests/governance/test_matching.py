"""The vectorised matching rule agrees with the registry's, and set differences are exact."""

from __future__ import annotations

import base64
import random
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from governance.releases.matching import (
    NO_EXCLUSIONS,
    all_namespaces,
    compile_exclusions,
    compiled_exclusions_at,
    excluded,
    exclusion_table_derive,
    exclusions_added_removed_between,
    exclusions_changed_between,
    matching_subjects,
)
from registry.checkpoints import checkpoint_latest
from registry.selectors import ExclusionSet, exclusions_at
from registry.services import exclusion_add, exclusion_remove
from tests.factories import toggle_exclusion
from tests.governance.exclusion_sets import exclusions_changed, exclusions_minus


def _compiled(repositories: set[str], namespaces: set[str]):
    return compile_exclusions(
        ExclusionSet(
            log_size=1, repositories=frozenset(repositories), namespaces=frozenset(namespaces)
        )
    )


def test_a_repository_exclusion_is_named_before_its_namespace() -> None:
    exclusions = _compiled({"github.com/o/r"}, {"github.com/o"})
    subjects, kinds = matching_subjects(
        pa.array(["github.com/o/r", "github.com/o/s", "github.com/p/r"]), exclusions
    )
    assert subjects.to_pylist() == ["github.com/o/r", "github.com/o", None]
    assert kinds.to_pylist() == ["repository", "namespace", None]


@pytest.mark.parametrize(
    ("repositories", "namespaces"),
    [
        (set(), set()),
        ({"github.com/o/r"}, set()),
        (set(), {"github.com/o", "gitlab.com/g/sub"}),
        ({"gitlab.com/g/sub", "github.com/p/r"}, {"github.com/o", "gitlab.com/g"}),
    ],
)
def test_excluded_says_whether_a_repository_has_a_matching_exclusion(
    repositories, namespaces
) -> None:
    github = ["github.com/o/r", "github.com/o/s", "github.com/p/r", "github.com/p/s", None]
    names = pa.array([*github, "gitlab.com/g/sub/x", "gitlab.com/g/sub", "gitlab.com/h/sub/x"])
    exclusions = _compiled(repositories, namespaces)
    subjects, _kinds = matching_subjects(names, exclusions)
    assert excluded(names, exclusions).to_pylist() == [s is not None for s in subjects.to_pylist()]


def test_changed_exclusions_are_the_symmetric_difference() -> None:
    before = _compiled({"github.com/o/a", "github.com/o/b"}, {"github.com/x"})
    after = _compiled({"github.com/o/b", "github.com/o/c"}, {"gitlab.com/g/sub"})
    changed = exclusions_changed(before, after)
    assert sorted(changed.repositories.to_pylist()) == ["github.com/o/a", "github.com/o/c"]
    assert sorted(all_namespaces(changed).to_pylist()) == ["github.com/x", "gitlab.com/g/sub"]
    assert exclusions_changed(NO_EXCLUSIONS, NO_EXCLUSIONS).count == 0


@pytest.mark.django_db
def test_a_table_derived_from_an_earlier_checkpoint_equals_the_replayed_one(settings) -> None:
    exclusion_add(kind="repository", subject="github.com/o/a", cause="t")
    exclusion_add(kind="repository", subject="github.com/o/b", cause="t")
    exclusion_add(kind="namespace", subject="github.com/x", cause="t")
    base = checkpoint_latest()
    exclusion_remove(kind="repository", subject="github.com/o/a", cause="t", reason="back")
    exclusion_add(kind="repository", subject="github.com/o/c", cause="t")
    exclusion_add(kind="namespace", subject="gitlab.com/g/sub", cause="t")
    exclusion_remove(kind="namespace", subject="gitlab.com/g/sub", cause="t", reason="back")
    exclusion_remove(kind="namespace", subject="github.com/x", cause="t", reason="back")
    exclusion_add(kind="namespace", subject="github.com/x", cause="t")  # removed, then again
    exclusion_add(kind="repository", subject="github.com/a/z", cause="t")
    after = checkpoint_latest()

    stored = exclusion_table_derive(
        size=after.size,
        root_hash=after.root_hash_b64,
        base_size=base.size,
        base_root_hash=base.root_hash_b64,
    )

    name = f"{after.size}-{base64.b64decode(after.root_hash_b64).hex()}.parquet"
    derived = pq.read_table(Path(settings.DATASET_STORAGE_ROOT) / ".exclusions" / name)
    assert stored is True
    assert sorted(derived.replace_schema_metadata(None).to_pylist(), key=str) == [
        {"kind": "namespace", "subject": "github.com/x"},
        {"kind": "repository", "subject": "github.com/a/z"},
        {"kind": "repository", "subject": "github.com/o/b"},
        {"kind": "repository", "subject": "github.com/o/c"},
    ]
    replayed = exclusions_at(after.size)
    assert sorted(replayed.repositories) == ["github.com/a/z", "github.com/o/b", "github.com/o/c"]
    assert sorted(replayed.namespaces) == ["github.com/x"]


@pytest.mark.django_db
def test_the_changes_read_from_the_log_range_equal_the_set_difference() -> None:
    rng = random.Random(3)
    subjects = [("repository", f"github.com/o/r{i}") for i in range(6)]
    subjects += [("namespace", "github.com/n"), ("namespace", "gitlab.com/g/sub")]
    active: set[tuple[str, str]] = set()
    checkpoints = [checkpoint_latest()]
    for step in range(60):
        toggle_exclusion(rng, subjects, active)
        if step % 6 == 5:
            checkpoints.append(checkpoint_latest())
    compared = 0
    for first in checkpoints:
        for second in checkpoints:
            if first.size > second.size:
                continue
            before = compiled_exclusions_at(first.size, first.root_hash_b64)
            after = compiled_exclusions_at(second.size, second.root_hash_b64)
            added, removed = exclusions_added_removed_between(first.size, second.size)
            for found, expected in (
                (
                    exclusions_changed_between(first.size, second.size),
                    exclusions_changed(before, after),
                ),
                (added, exclusions_minus(after, before)),
                (removed, exclusions_minus(before, after)),
            ):
                assert sorted(found.repositories.to_pylist()) == sorted(
                    expected.repositories.to_pylist()
                )
                assert sorted(all_namespaces(found).to_pylist()) == sorted(
                    all_namespaces(expected).to_pylist()
                )
            compared += (added.count > 0) + (removed.count > 0)
    assert compared > 20  # most pairs differ, both ways: the comparison is not vacuous
