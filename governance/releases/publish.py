"""Publish a version whose shards are all built: atomically, once, and safely after a crash.

One run at a time: the publish step holds the version's advisory lock (``locks.py``) for
as long as it works, and records the publication in the same transaction. A duplicate
delivery of the task finds the lock taken and returns; if the holder dies, the lock goes
with it and the redelivered task takes over.

Steps (each a named crash point, see ``crash.py``):

1. ``metadata_written``: changelog.json (and changelog.parquet, the same entries in row
   groups, which the version's page reads a page of), CHANGELOG.md, README.md and
   repositories.parquet (``repository_list.py``: which repositories the version holds, for
   lookups) in a private assembly folder (``.work/<version>/assembly``) beside hard links
   (server-side copies on an object store) of exactly the shard files the database recorded;
2. ``manifest_written``: manifest.json, listing every file with its hash;
3. ``folder_moved``: the assembly folder renamed to ``<root>/<dataset>/<version>/``;
4. ``marker_created``: ``_COMMITTED`` created exclusively, holding the manifest's hash;
5. ``db_committed``: the version row set to ``published`` by a conditional UPDATE.

The database is the truth: a version is visible only after step 5. The staging folder,
where shard tasks write, never becomes the version: a duplicate shard task still writing
there cannot add a file to a published folder or take one away. Every step is idempotent
and checks what is already done, so running this again (a redelivery, the reconciler)
after a crash at any point finishes the same version, with the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import logging

import pyarrow.parquet as pq
from django.utils import timezone

from governance.enums import ReleaseStep, ShardStatus, VersionStatus
from governance.models import DatasetVersion, ShardBuild
from governance.releases.card import build_card
from governance.releases.changelog import (
    build_changelog,
    changelog_json,
    changelog_markdown,
    changelog_parquet,
)
from governance.releases.crash import crash_point
from governance.releases.errors import version_fail
from governance.releases.layout import (
    CARD_NAME,
    CHANGELOG_JSON,
    CHANGELOG_MD,
    CHANGELOG_PARQUET,
    DATA_DIR,
    MANIFEST_NAME,
    MARKER_NAME,
    dataset_store,
    final_path,
    staging_path,
    work_path,
)
from governance.releases.locks import PUBLISH, step_lock
from governance.releases.manifest import build_manifest, manifest_bytes
from governance.releases.repository_list import (
    REPOSITORIES_NAME,
    repository_list,
    write_repository_list,
)
from governance.releases.storage import Store
from governance.signals import version_published

logger = logging.getLogger(__name__)


def release_publish(*, version_id: int) -> DatasetVersion | None:
    version = DatasetVersion.objects.filter(id=version_id).first()
    if version is None:
        return None
    if version.status == VersionStatus.BUILDING:
        shards = list(ShardBuild.objects.filter(version=version).order_by("position"))
        if not shards or any(shard.status != ShardStatus.DONE for shard in shards):
            return version  # not all built yet (a duplicate chord callback); the last one calls
        DatasetVersion.objects.filter(id=version.id, status=VersionStatus.BUILDING).update(
            step=ReleaseStep.PUBLISHING, updated_at=timezone.now()
        )
        with step_lock(PUBLISH, version.id) as granted:
            if not granted:
                return version  # another run publishes; if it dies, the lock goes with it
            version = DatasetVersion.objects.select_related("dataset", "previous").get(
                id=version.id
            )
            if version.status == VersionStatus.BUILDING:
                version = _publish_locked(version, shards)
        crash_point("db_committed")
        version.refresh_from_db()
    if version.status == VersionStatus.PUBLISHED:
        # Also on a redelivery after publication: the run it replaces may have died
        # before removing them (the reconciler would, later).
        store = dataset_store(version.dataset)
        store.remove_tree(staging_path(store, version.version))
        store.remove_tree(work_path(store, version.version))
    if version.status == VersionStatus.PUBLISHED and version.announced_at is None:
        version_announce(version)
    return version


def _publish_locked(version: DatasetVersion, shards: list[ShardBuild]) -> DatasetVersion:
    """Assemble, move, mark and record ``version``; the caller holds its lock."""
    store = dataset_store(version.dataset)
    final = final_path(store, version.version)
    try:
        if not store.exists(f"{final}/{MARKER_NAME}"):
            _assemble_and_move(store, version, shards, final)
            manifest = store.read_bytes(f"{final}/{MANIFEST_NAME}")
            store.create_exclusive(
                f"{final}/{MARKER_NAME}", hashlib.sha256(manifest).hexdigest().encode()
            )
            crash_point("marker_created")
        manifest = store.read_bytes(f"{final}/{MANIFEST_NAME}")
        digest = hashlib.sha256(manifest).hexdigest()
        marker = store.read_bytes(f"{final}/{MARKER_NAME}").decode().strip()
        if marker != digest:
            return version_fail(
                version,
                f"The commit marker of {final} names manifest {marker}, but the manifest "
                f"there hashes to {digest}. Inspect the folder; nothing was published.",
            )
    except Exception as exc:
        logger.exception("Publishing %s failed", version.label)
        return version_fail(version, f"Publishing failed: {type(exc).__name__}: {exc}")

    document = json.loads(manifest)
    DatasetVersion.objects.filter(id=version.id, status=VersionStatus.BUILDING).update(
        status=VersionStatus.PUBLISHED,
        step=ReleaseStep.DONE,
        rows_in=document["rows"]["in"],
        rows_out=document["rows"]["out"],
        rows_done=document["rows"]["in"],
        manifest_sha256=digest,
        manifest=document,
        published_at=timezone.now(),
    )
    return version


def _assemble_and_move(
    store: Store, version: DatasetVersion, shards: list[ShardBuild], final: str
) -> None:
    if _complete(store, final):
        return  # a crash came after the move, before the marker
    # An unmarked, incomplete folder is what a copy-style move (object stores) left when
    # it was cut short; nobody else writes here while we hold the lock.
    store.remove_tree(final)
    assembly = f"{work_path(store, version.version)}/assembly"
    store.remove_tree(assembly)  # a crashed run's, perhaps half made: start again
    built = f"{staging_path(store, version.version)}/{DATA_DIR}"
    store.link(
        [(f"{built}/{shard.name}", f"{assembly}/{DATA_DIR}/{shard.name}") for shard in shards]
    )
    for shard in shards:
        size = int(store.info(f"{assembly}/{DATA_DIR}/{shard.name}")["size"])
        if size != shard.bytes:
            raise ValueError(
                f"shard {shard.name} holds {size} bytes on storage, but its build recorded "
                f"{shard.bytes}"
            )
    changelog = build_changelog(store, version, [s.name for s in shards])
    rows_out = sum(shard.rows_out for shard in shards)
    metadata = {
        CHANGELOG_JSON: changelog_json(changelog),
        CHANGELOG_PARQUET: changelog_parquet(changelog),
        CHANGELOG_MD: changelog_markdown(changelog),
        CARD_NAME: build_card(version, changelog, rows_out),
    }
    described = []
    for name, content in metadata.items():
        written = store.write_bytes(f"{assembly}/{name}", content)
        described.append({"path": name, "sha256": written.sha256, "bytes": written.bytes})
    written = write_repository_list(
        store, f"{assembly}/{REPOSITORIES_NAME}", repository_list(store, version, shards, built)
    )
    described.append({"path": REPOSITORIES_NAME, "sha256": written.sha256, "bytes": written.bytes})
    crash_point("metadata_written")
    with store.open_read(f"{assembly}/{DATA_DIR}/{shards[0].name}") as handle:
        schema = pq.ParquetFile(handle).schema_arrow
    manifest = build_manifest(version, shards, schema, described)
    store.write_bytes(f"{assembly}/{MANIFEST_NAME}", manifest_bytes(manifest))
    crash_point("manifest_written")
    store.make_read_only(assembly)
    store.move_tree(assembly, final)
    crash_point("folder_moved")


def _complete(store: Store, folder: str) -> bool:
    """Whether ``folder`` holds a manifest and every file it lists, at the listed size."""
    path = f"{folder}/{MANIFEST_NAME}"
    if not store.exists(path):
        return False
    manifest = json.loads(store.read_bytes(path))
    for entry in manifest["files"] + manifest["metadata_files"]:
        target = f"{folder}/{entry['path']}"
        if not store.exists(target) or int(store.info(target)["size"]) != entry["bytes"]:
            return False
    return True


def version_announce(version: DatasetVersion) -> None:
    """Tell the layers above that a version shipped; recorded so a crash can re-send it.

    Receivers (optout marks requests applied and e-mails owners) must be idempotent:
    after a crash between publication and this record, the reconciler sends it again.
    """
    try:
        version_published.send(
            sender=DatasetVersion,
            log_size=version.log_size,
            version_label=version.label,
            dataset=version.dataset.name,
            version=version.version,
            manifest_sha256=version.manifest_sha256,
        )
    except Exception:
        logger.exception("A version_published receiver failed for %s", version.label)
        return
    DatasetVersion.objects.filter(id=version.id, announced_at__isnull=True).update(
        announced_at=timezone.now()
    )
