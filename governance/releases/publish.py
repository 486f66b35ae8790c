"""Publish a version whose shards are all built: atomically, and safely after a crash.

Steps (each a named crash point, see ``crash.py``):

1. ``metadata_written``: changelog.json, CHANGELOG.md and README.md in the staging folder;
2. ``manifest_written``: manifest.json, listing every file with its hash;
3. ``folder_moved``: the staging folder renamed to ``<root>/<dataset>/<version>/``;
4. ``marker_created``: ``_COMMITTED`` created exclusively, holding the manifest's hash;
5. ``db_committed``: the version row set to ``published`` by a conditional UPDATE.

The database is the truth: a version is visible only after step 5. Every step is
idempotent and checks what is already done, so running this again (the reconciler does)
after a crash at any point finishes the same version, with the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import logging

import pyarrow.parquet as pq
from django.db import transaction
from django.utils import timezone

from governance.enums import ReleaseStep, ShardStatus, VersionStatus
from governance.models import DatasetVersion, ShardBuild
from governance.releases.card import build_card
from governance.releases.changelog import build_changelog, changelog_json, changelog_markdown
from governance.releases.crash import crash_point
from governance.releases.errors import version_fail
from governance.releases.layout import (
    CARD_NAME,
    CHANGELOG_JSON,
    CHANGELOG_MD,
    DATA_DIR,
    MANIFEST_NAME,
    MARKER_NAME,
    dataset_store,
    final_path,
    staging_path,
    work_path,
)
from governance.releases.manifest import build_manifest, manifest_bytes
from governance.releases.storage import Store
from governance.signals import version_published

logger = logging.getLogger(__name__)


def release_publish(*, version_id: int) -> DatasetVersion | None:
    version = DatasetVersion.objects.select_related("dataset", "previous").filter(id=version_id)
    version = version.first()
    if version is None:
        return None
    if version.status == VersionStatus.PUBLISHED:
        if version.announced_at is None:
            version_announce(version)
        return version
    if version.status != VersionStatus.BUILDING:
        return version
    shards = list(ShardBuild.objects.filter(version=version).order_by("position"))
    if not shards or any(shard.status != ShardStatus.DONE for shard in shards):
        return version  # not all built yet (a duplicate chord callback); the last one calls
    DatasetVersion.objects.filter(id=version.id).update(
        step=ReleaseStep.PUBLISHING, updated_at=timezone.now()
    )

    store = dataset_store(version.dataset)
    final = final_path(store, version.version)
    staging = staging_path(store, version.version)
    try:
        if not store.exists(f"{final}/{MARKER_NAME}"):
            _assemble_and_move(store, version, shards, staging, final)
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
    with transaction.atomic():
        updated = DatasetVersion.objects.filter(
            id=version.id, status=VersionStatus.BUILDING
        ).update(
            status=VersionStatus.PUBLISHED,
            step=ReleaseStep.DONE,
            rows_in=document["rows"]["in"],
            rows_out=document["rows"]["out"],
            rows_done=document["rows"]["in"],
            manifest_sha256=digest,
            manifest=document,
            published_at=timezone.now(),
        )
    crash_point("db_committed")
    version.refresh_from_db()
    if updated == 1:
        store.remove_tree(work_path(store, version.version))
        version_announce(version)
    return version


def _assemble_and_move(
    store: Store, version: DatasetVersion, shards: list[ShardBuild], staging: str, final: str
) -> None:
    manifest_path = f"{staging}/{MANIFEST_NAME}"
    if store.exists(staging):
        if _complete(store, final):
            store.remove_tree(staging)  # a crash came after a copy-style move had finished
            return
        _remove_strays(store, f"{staging}/{DATA_DIR}", {s.name for s in shards})
        changelog = build_changelog(store, version, [s.name for s in shards])
        rows_out = sum(shard.rows_out for shard in shards)
        metadata = {
            CHANGELOG_JSON: changelog_json(changelog),
            CHANGELOG_MD: changelog_markdown(changelog),
            CARD_NAME: build_card(version, changelog, rows_out),
        }
        described = []
        for name, content in metadata.items():
            written = store.write_bytes(f"{staging}/{name}", content)
            described.append({"path": name, "sha256": written.sha256, "bytes": written.bytes})
        crash_point("metadata_written")
        with store.open_read(f"{staging}/{DATA_DIR}/{shards[0].name}") as handle:
            schema = pq.ParquetFile(handle).schema_arrow
        manifest = build_manifest(version, shards, schema, described)
        store.write_bytes(manifest_path, manifest_bytes(manifest))
        crash_point("manifest_written")
        store.make_read_only(staging)
        store.remove_tree(final)  # only ever an unmarked leftover of an interrupted move
        store.move_tree(staging, final)
        crash_point("folder_moved")
    elif not _complete(store, final):
        raise FileNotFoundError(
            f"Neither the staging folder {staging} nor a complete {final} exists."
        )


def _remove_strays(store: Store, folder: str, expected: set[str]) -> None:
    """Temporary files a crashed writer left (os._exit skips its clean-up) must not ship."""
    for path in store.fs.ls(folder, detail=False):
        if path.rsplit("/", 1)[-1] not in expected:
            store.remove(path)


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
