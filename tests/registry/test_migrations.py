"""The Merkle-tree migration gives a log written before it the same tree as a new one."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from registry import merkle

pytestmark = pytest.mark.django_db(transaction=True)


def _migrate(target: list[tuple[str, str]]):
    executor = MigrationExecutor(connection)
    executor.migrate(target)
    executor.loader.build_graph()
    return executor.loader.project_state(target).apps


def test_the_backfill_builds_leaves_nodes_and_log_indexes() -> None:
    old = _migrate([("registry", "0001_initial")])
    LogEntry, Exclusion, LogHead = (
        old.get_model("registry", name) for name in ("LogEntry", "Exclusion", "LogHead")
    )
    rows = [
        ("add", "repository", "github.com/a/b"),
        ("add", "namespace", "github.com/org"),
        ("remove", "repository", "github.com/a/b"),
        ("add", "repository", "github.com/a/b"),
    ]
    for index, (action, kind, subject) in enumerate(rows):
        LogEntry.objects.create(index=index, action=action, kind=kind, subject=subject, cause="c")
    Exclusion.objects.create(kind="repository", subject="github.com/a/b", cause="c", active=False)
    Exclusion.objects.create(kind="namespace", subject="github.com/org", cause="c")
    Exclusion.objects.create(kind="repository", subject="github.com/a/b", cause="c")
    LogHead.objects.create(id=1, size=4)

    new = _migrate([("registry", "0003_active_subject_covering_index")])
    entries = new.get_model("registry", "LogEntry").objects.order_by("index")
    leaves = [e.leaf for e in entries]
    assert leaves[2].split("\t")[:5] == ["2", "remove", "repository", "github.com/a/b", "c"]
    head = new.get_model("registry", "LogHead").objects.get(id=1)
    nodes = dict(new.get_model("registry", "MerkleNode").objects.values_list("position", "hash"))
    expected = merkle.merkle_root([merkle.leaf_hash(text.encode()) for text in leaves])
    assert merkle.frontier_root(merkle.unpack_hashes(bytes(head.frontier))) == expected
    assert merkle.range_hash(0, 4, lambda p: bytes(nodes[p])) == expected
    indexes = list(
        new.get_model("registry", "Exclusion")
        .objects.order_by("id")
        .values_list("added_at_index", "removed_at_index")
    )
    assert indexes == [(0, 2), (1, None), (3, None)]
    _migrate(executor_leaf_nodes())


def executor_leaf_nodes() -> list[tuple[str, str]]:
    """Back to the latest migrations, so later tests see the full schema."""
    executor = MigrationExecutor(connection)
    return executor.loader.graph.leaf_nodes()
