import pytest

from registry.enums import ExclusionKind, LogAction
from registry.models import Exclusion, LogEntry
from registry.selectors import exclusion_matching, exclusions_at, log_size
from registry.services import exclusion_add, exclusion_remove

pytestmark = pytest.mark.django_db


def test_adding_an_exclusion_appends_one_log_entry() -> None:
    exclusion_add(kind=ExclusionKind.REPOSITORY, subject="github.com/a/b", cause="test:1")
    assert log_size() == 1
    entry = LogEntry.objects.get()
    assert (entry.index, entry.action, entry.subject) == (0, LogAction.ADD, "github.com/a/b")


def test_adding_the_same_exclusion_twice_is_idempotent() -> None:
    first = exclusion_add(kind="repository", subject="github.com/a/b", cause="test:1")
    second = exclusion_add(kind="repository", subject="github.com/a/b", cause="test:2")
    assert first.id == second.id
    assert log_size() == 1


def test_removal_leaves_an_exclusion_that_something_else_caused() -> None:
    exclusion_add(kind="namespace", subject="github.com/a", cause="test:1")
    removed = exclusion_remove(
        kind="namespace",
        subject="github.com/a",
        cause="test:2",
        reason="r",
        only_if_caused_by="test:2",
    )
    assert removed is None
    assert Exclusion.objects.filter(active=True).count() == 1


def test_replaying_the_log_gives_the_set_in_force_at_each_size() -> None:
    exclusion_add(kind="repository", subject="github.com/a/b", cause="c")
    exclusion_add(kind="namespace", subject="github.com/org", cause="c")
    exclusion_remove(kind="repository", subject="github.com/a/b", cause="c", reason="withdrawn")
    assert exclusions_at(1).repositories == {"github.com/a/b"}
    assert exclusions_at(2).namespaces == {"github.com/org"}
    latest = exclusions_at()
    assert latest.log_size == 3
    assert latest.repositories == frozenset()
    assert latest.excludes("github.com/org/anything")
    assert not latest.excludes("github.com/a/b")


def test_a_namespace_exclusion_matches_its_repositories() -> None:
    exclusion_add(kind="namespace", subject="github.com/org", cause="c")
    match = exclusion_matching("github.com/org/repo")
    assert match is not None and match.subject == "github.com/org"
    assert exclusion_matching("github.com/other/repo") is None


def test_adding_many_gives_the_same_log_as_adding_one_by_one() -> None:
    from registry import merkle
    from registry.checkpoints import checkpoint_latest
    from registry.services import exclusion_add_many

    exclusion_add(kind="repository", subject="github.com/a/b", cause="c")
    added = exclusion_add_many(
        subjects=[
            ("repository", "github.com/a/b"),  # already excluded: skipped
            ("namespace", "github.com/org"),
            ("repository", "github.com/x/y"),
            ("repository", "github.com/x/y"),  # repeated: once
        ],
        cause="import:1",
    )
    assert added == 2
    assert log_size() == 3
    leaves = list(LogEntry.objects.order_by("index").values_list("leaf", flat=True))
    assert [leaf.split("\t")[:5] for leaf in leaves[1:]] == [
        ["1", "add", "namespace", "github.com/org", "import:1"],
        ["2", "add", "repository", "github.com/x/y", "import:1"],
    ]
    checkpoint = checkpoint_latest()
    assert checkpoint.size == 3
    assert checkpoint.root_hash == merkle.merkle_root(
        [merkle.leaf_hash(t.encode()) for t in leaves]
    )
    assert exclusions_at(3).excludes("github.com/org/anything")
    assert exclusion_add_many(subjects=[("namespace", "github.com/org")], cause="c") == 0
