import pytest
from django.db import transaction
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from registry import resident
from registry.epoch import epoch_bump
from registry.models import Exclusion
from registry.resident import ResidentExclusions
from registry.selectors import repository_check
from registry.services import exclusion_add, exclusion_remove

pytestmark = pytest.mark.django_db

# A small world, so that operations collide: nested groups, and one subject that is both
# a repository and a namespace (gitlab.com/g/s).
REPOSITORIES = [
    "github.com/o1/r1",
    "github.com/o1/r2",
    "github.com/o2/r1",
    "gitlab.com/g/s",
    "gitlab.com/g/s/r1",
    "gitlab.com/g/t/r2",
]
NAMESPACES = ["github.com/o1", "github.com/o2", "gitlab.com/g", "gitlab.com/g/s", "gitlab.com/g/t"]
OPERATIONS = st.tuples(
    st.sampled_from(["add", "remove"]),
    st.one_of(
        st.tuples(st.just("repository"), st.sampled_from(REPOSITORIES)),
        st.tuples(st.just("namespace"), st.sampled_from(NAMESPACES)),
    ),
)


def _apply(operation: str, kind: str, subject: str) -> None:
    if operation == "add":
        exclusion_add(kind=kind, subject=subject, cause="c")
    elif Exclusion.objects.filter(kind=kind, subject=subject, active=True).exists():
        exclusion_remove(kind=kind, subject=subject, cause="c", reason="r")


def _assert_same_as_the_database(copy: ResidentExclusions) -> None:
    for repository in REPOSITORIES:
        assert copy.check(repository) == repository_check(repository), repository


@hypothesis_settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rounds=st.lists(st.lists(OPERATIONS, max_size=6), min_size=1, max_size=5))
def test_the_copy_answers_as_the_database_as_the_log_moves(rounds, monkeypatch) -> None:
    """Built once, then caught up round after round (and rebuilt when its overlay is
    full): every answer, match and log size, is the database's."""
    monkeypatch.setattr(resident, "OVERLAY_MAX", 4)
    with transaction.atomic():  # each example starts from the same, empty registry
        copy = ResidentExclusions()
        for operations in rounds:
            for operation, (kind, subject) in operations:
                _apply(operation, kind, subject)
            _assert_same_as_the_database(copy)
        transaction.set_rollback(True)


def test_a_copy_read_before_a_change_catches_up_with_it() -> None:
    exclusion_add(kind="namespace", subject="github.com/o1", cause="c")
    copy = ResidentExclusions()
    match, size = copy.check("github.com/o1/r1")
    assert match["subject"] == "github.com/o1" and size == 1
    exclusion_add(kind="repository", subject="github.com/o1/r1", cause="c")
    match, size = copy.check("github.com/o1/r1")
    assert (match["kind"], match["subject"], size) == ("repository", "github.com/o1/r1", 2)
    exclusion_remove(kind="namespace", subject="github.com/o1", cause="c", reason="r")
    assert copy.check("github.com/o1/r2") == (None, 3)


def test_a_log_shorter_than_the_copy_rebuilds_it() -> None:
    """Never in production (the log is append-only); tests roll back."""
    exclusion_add(kind="repository", subject="github.com/o1/r1", cause="c")
    copy = ResidentExclusions()
    with transaction.atomic():
        exclusion_add(kind="repository", subject="github.com/o1/r2", cause="c")
        assert copy.check("github.com/o1/r2")[1] == 2
        transaction.set_rollback(True)
    epoch_bump()
    assert copy.check("github.com/o1/r2") == (None, 1)
    assert copy.check("github.com/o1/r1") == repository_check("github.com/o1/r1")


def test_the_database_answers_when_the_copy_is_off_or_too_large(settings) -> None:
    exclusion_add(kind="repository", subject="github.com/o1/r1", cause="c")
    exclusion_add(kind="repository", subject="github.com/o1/r2", cause="c")
    settings.REGISTRY_RESIDENT_CHECK = False
    assert ResidentExclusions().check("github.com/o1/r1") is None
    settings.REGISTRY_RESIDENT_CHECK = True
    settings.REGISTRY_RESIDENT_MAX = 1
    assert ResidentExclusions().check("github.com/o1/r1") is None
    settings.REGISTRY_RESIDENT_MAX = 2
    assert ResidentExclusions().check("github.com/o1/r1")[0]["subject"] == "github.com/o1/r1"


def test_since_keeps_microseconds_as_the_database_renders_them() -> None:
    exclusion = exclusion_add(kind="repository", subject="github.com/o1/r1", cause="c")
    for microseconds in (0, 5, 123456):
        created = exclusion.created_at.replace(microsecond=microseconds)
        Exclusion.objects.filter(id=exclusion.id).update(created_at=created)
        epoch_bump()
        fresh = ResidentExclusions()  # the copy reads created_at when it is built
        assert fresh.check("github.com/o1/r1") == repository_check("github.com/o1/r1")
