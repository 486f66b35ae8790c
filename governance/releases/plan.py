"""Start a release and plan it: which shards are rewritten and which are reused.

A shard is reused (its previous output linked, not rewritten) when its source file is
unchanged and its repository index holds no repository whose exclusion state changed
between the previous version's checkpoint and this one. Deciding that reads the small
per-shard indexes, not the shards, so an incremental release costs what changed.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from concurrent.futures import Future

import pyarrow.parquet as pq
from django.db import IntegrityError, transaction
from django.utils import timezone

from governance.enums import ReleaseStep, ShardAction, ShardStatus, VersionStatus
from governance.models import Dataset, DatasetVersion, ShardBuild
from governance.releases.crash import crash_point
from governance.releases.errors import ReleaseError, version_fail
from governance.releases.layout import dataset_store, final_path, index_path
from governance.releases.matching import (
    CompiledExclusions,
    excluded,
    exclusion_table_at,
    exclusion_table_derive,
    exclusions_added_removed_between,
    exclusions_union,
)
from governance.releases.storage import Store
from registry.checkpoints import checkpoint_latest
from registry.dispatch import queue
from registry.threads import side_threads

logger = logging.getLogger(__name__)


def source_listing(dataset: Dataset) -> tuple[Store, list[tuple[str, str, int]]]:
    """The source snapshot's shards as (path, fingerprint, bytes), sorted by name."""
    source = Store.at(dataset.source_uri)
    shards = []
    for path in source.list_parquet(source.root):
        fingerprint, size = source.fingerprint(path)
        shards.append((path, fingerprint, size))
    return source, shards


def snapshot_fingerprint(shards: list[tuple[str, str, int]]) -> str:
    digest = hashlib.sha256()
    for _path, fingerprint, _size in shards:
        digest.update(fingerprint.encode() + b"\n")
    return digest.hexdigest()


def latest_published(dataset: Dataset) -> DatasetVersion | None:
    return (
        DatasetVersion.objects.filter(dataset=dataset, status=VersionStatus.PUBLISHED)
        .order_by("-published_at", "-id")
        .first()
    )


def next_version_label(dataset: Dataset, previous: DatasetVersion | None, fingerprint: str) -> str:
    """Exclusion-only releases bump the patch number; a new source snapshot the minor."""
    labels = DatasetVersion.objects.filter(dataset=dataset).values_list("version", flat=True)
    taken = {tuple(int(part) for part in label.split(".")) for label in labels}
    if previous is None:
        candidate = (1, 0, 0)
    else:
        major, minor, patch = (int(part) for part in previous.version.split("."))
        if previous.source_fingerprint and previous.source_fingerprint != fingerprint:
            candidate = (major, minor + 1, 0)
        else:
            candidate = (major, minor, patch + 1)
    while candidate in taken:  # a failed attempt keeps its number; never reuse a label
        candidate = (candidate[0], candidate[1], candidate[2] + 1)
    return ".".join(str(part) for part in candidate)


def release_start(
    *, dataset_id: int, triggered_by: str = "", only_if_changed: bool = False
) -> DatasetVersion:
    """Create the next version at the current registry checkpoint and queue its build.

    ``only_if_changed`` (the schedule) refuses when the latest published version already
    applied this checkpoint to this snapshot. It is decided under the dataset's lock: the
    schedule's own look before it can be overtaken by a release that publishes meanwhile
    (two beats by mistake fire every tick twice)."""
    dataset = Dataset.objects.get(id=dataset_id)
    _source, shards = source_listing(dataset)
    fingerprint = snapshot_fingerprint(shards)
    checkpoint = checkpoint_latest()
    try:
        with transaction.atomic():
            dataset = Dataset.objects.select_for_update().get(id=dataset_id)
            if DatasetVersion.objects.filter(
                dataset=dataset, status=VersionStatus.BUILDING
            ).exists():
                raise ReleaseError(f"A release of {dataset.name} is already running.")
            previous = latest_published(dataset)
            if (
                only_if_changed
                and previous is not None
                and (previous.log_size, previous.source_fingerprint)
                == (checkpoint.size, fingerprint)
            ):
                raise ReleaseError(
                    f"{dataset.name} {previous.version} already applies registry log size "
                    f"{checkpoint.size} to this source snapshot: nothing to release."
                )
            version = DatasetVersion.objects.create(
                dataset=dataset,
                version=next_version_label(dataset, previous, fingerprint),
                previous=previous,
                log_size=checkpoint.size,
                root_hash=checkpoint.root_hash_b64,
                checkpoint_note=checkpoint.note,
                source_fingerprint=fingerprint,
                triggered_by=triggered_by[:100],
            )
            transaction.on_commit(lambda: _queue_build(version), robust=False)
    except IntegrityError as exc:  # another release started between our check and insert
        raise ReleaseError(f"A release of {dataset.name} is already running.") from exc
    return version


def _queue_build(version: DatasetVersion) -> None:
    """Hand the new version to the workers, or end it at once with the reason.

    Unlike other after-commit sends, this one reports failure: the maintainer pressed
    "Release now" to start something, and a version left building that no worker heard
    of would refuse every later release until the reconciler came by.
    """
    from governance.tasks import release_build_task  # tasks import this module

    if not queue(release_build_task, version_id=version.id):
        version_fail(
            version,
            "The task queue (Redis) was unreachable, so no worker started this release. "
            "Nothing was published; start the release again once the queue is back.",
        )
        raise ReleaseError(
            f"The task queue (Redis) is unreachable, so the release of {version.label} "
            "did not start and nothing changed. Start it again once the queue is back."
        )


def _delta(
    side: Callable[..., Future], previous: DatasetVersion | None, version: DatasetVersion
) -> CompiledExclusions | None:
    """Exclusions whose state changed since ``previous`` (None: no previous version); the
    checkpoint's exclusion table is stored meanwhile on ``side``.

    The table is stored once here, so the shard tasks read a file instead of each
    replaying the registry log at the same moment. Derived from the previous version's
    table, it is Arrow work without the database, so it runs while the planner matches
    the shard indexes against the delta.
    """
    if previous is None:
        exclusion_table_at(version.log_size, version.root_hash)
        return None
    # One read of the log's range serves both the stored table and the delta.
    changes = exclusions_added_removed_between(previous.log_size, version.log_size)
    side(
        exclusion_table_derive,
        size=version.log_size,
        root_hash=version.root_hash,
        base_size=previous.log_size,
        base_root_hash=previous.root_hash,
        changes=changes,
        base=exclusion_table_at(previous.log_size, previous.root_hash),
    )
    return exclusions_union(*changes)


def _touched(store: Store, fingerprint: str, delta: CompiledExclusions) -> bool | None:
    """Whether a shard holds a changed repository; None when its index is missing."""
    if delta.count == 0:
        return False
    path = index_path(store, fingerprint)
    if not store.exists(path):
        return None
    with store.open_read(path) as handle:
        repositories = pq.read_table(handle, columns=["repository"]).column("repository")
    return excluded(repositories.combine_chunks(), delta).true_count > 0


def _reusable(
    store: Store,
    previous: DatasetVersion | None,
    shards: list[tuple[str, str, int]],
    earlier: dict[str, ShardBuild],
    delta: CompiledExclusions | None,
) -> set[str]:
    """Names of the shards whose previous output can be linked: same source file, that
    output still there, and no repository of the shard's index whose state changed."""
    if previous is None or delta is None:
        return set()
    candidates = {}
    for path, fingerprint, _size in shards:
        name = path.rsplit("/", 1)[-1]
        build = earlier.get(name)
        if (
            build is not None
            and build.source_fingerprint == fingerprint
            and store.exists(f"{final_path(store, previous.version)}/data/{name}")
        ):
            candidates[name] = fingerprint
    # Reading and matching the indexes releases the GIL: a few threads share the cores.
    with side_threads("plan-index", workers=4) as side:
        touched = {
            name: side(_touched, store, print_, delta) for name, print_ in candidates.items()
        }
    return {name for name, hit in touched.items() if hit.result() is False}


def _earlier_builds(dataset: Dataset, previous: DatasetVersion | None) -> dict[str, ShardBuild]:
    """The previous version's built shards by name: those a shard may reuse."""
    if previous is None:
        return {}
    if (previous.manifest or {}).get("filter") != {
        "repository_column": dataset.repo_column,
        "implied_host": dataset.implied_host,
    }:
        return {}  # the filter itself changed: every shard must be decided again
    return {
        shard.name: shard
        for shard in ShardBuild.objects.filter(version=previous, status=ShardStatus.DONE)
    }


def release_plan(*, version_id: int) -> DatasetVersion | None:
    """Record one ShardBuild per source shard (once) and return the version to build."""
    version = DatasetVersion.objects.select_related("dataset", "previous").filter(id=version_id)
    version = version.first()
    if version is None or version.status != VersionStatus.BUILDING:
        return version
    if ShardBuild.objects.filter(version=version).exists():
        return version  # planned by an earlier run of this task
    dataset = version.dataset
    source, shards = source_listing(dataset)
    if not shards:
        return version_fail(
            version,
            f"The source snapshot {dataset.source_uri} holds no Parquet shards. "
            "Point the dataset's source at a folder of *.parquet files.",
        )
    if snapshot_fingerprint(shards) != version.source_fingerprint:
        return version_fail(
            version, "The source snapshot changed after the release started; start it again."
        )

    store = dataset_store(dataset)
    previous = version.previous
    earlier = _earlier_builds(dataset, previous)
    # The shard tasks read the stored table: leaving the block waits until it is stored.
    with side_threads("plan-table") as side:
        delta = _delta(side, previous, version)
        reuse = _reusable(store, previous, shards, earlier, delta)
    builds = []
    rows_total = 0
    for position, (path, fingerprint, size) in enumerate(shards):
        name = path.rsplit("/", 1)[-1]
        action, reuse_of = ShardAction.REWRITE, None
        if name in reuse:
            action, reuse_of = ShardAction.REUSE, earlier[name]
            rows_total += reuse_of.rows_in
        else:
            with source.open_read(path) as handle:
                rows_total += pq.ParquetFile(handle).metadata.num_rows
        builds.append(
            ShardBuild(
                version=version,
                position=position,
                name=name,
                source_fingerprint=fingerprint,
                source_bytes=size,
                action=action,
                reuse_of=reuse_of,
            )
        )
    with transaction.atomic():
        ShardBuild.objects.bulk_create(builds, ignore_conflicts=True)
        DatasetVersion.objects.filter(id=version.id, status=VersionStatus.BUILDING).update(
            step=ReleaseStep.SHARDS,
            updated_at=timezone.now(),
            shards_total=len(builds),
            rows_total=rows_total,
        )
    crash_point("planned")
    version.refresh_from_db()
    return version
