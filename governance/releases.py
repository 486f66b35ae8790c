"""Build and publish dataset versions: apply the registry at one checkpoint to a snapshot.

MINIMAL (Foundation): one task builds every shard in turn on the local filesystem,
hashes each output after writing it, and publishes by renaming a staging folder. The
releases issue replaces this with one task per shard, shard reuse by content hash,
fsspec storage, changelogs, dataset cards and a reconciler.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from governance.enums import VersionStatus
from governance.models import Dataset, DatasetVersion
from governance.signals import version_published
from registry.selectors import ExclusionSet, exclusions_at, log_size

MANIFEST_NAME = "manifest.json"


class ReleaseError(Exception):
    """A release that cannot start or finish, with a message for people."""


def dataset_output_root(dataset: Dataset) -> Path:
    return Path(dataset.output_uri or settings.DATASET_STORAGE_ROOT) / dataset.name


def version_folder(version: DatasetVersion) -> Path:
    return dataset_output_root(version.dataset) / version.version


def _next_version_label(dataset: Dataset) -> str:
    labels = DatasetVersion.objects.filter(dataset=dataset).values_list("version", flat=True)
    numbers = [tuple(int(part) for part in label.split(".")) for label in labels]
    if not numbers:
        return "1.0.0"
    major, minor, patch = max(numbers)
    return f"{major}.{minor}.{patch + 1}"  # exclusion-only releases bump the patch number


def release_start(*, dataset_id: int) -> DatasetVersion:
    """Create the next version at the current registry checkpoint and queue its build."""
    from governance.tasks import release_build_task  # tasks import this module

    with transaction.atomic():
        dataset = Dataset.objects.select_for_update().get(id=dataset_id)
        if DatasetVersion.objects.filter(dataset=dataset, status=VersionStatus.BUILDING).exists():
            raise ReleaseError(f"A release of {dataset.name} is already running.")
        version = DatasetVersion.objects.create(
            dataset=dataset, version=_next_version_label(dataset), log_size=log_size()
        )
        transaction.on_commit(lambda: release_build_task.delay(version_id=version.id))
    return version


def _keep_mask(batch: pa.RecordBatch, column: str, host: str, exclusions: ExclusionSet) -> pa.Array:
    names = pc.utf8_lower(batch.column(column))  # the implied forges fold case
    repositories = pc.binary_join_element_wise(host, names, "/")
    owners = pc.binary_join_element_wise(
        host, pc.list_element(pc.split_pattern(names, "/", max_splits=1), 0), "/"
    )
    excluded = pc.or_(
        pc.is_in(repositories, value_set=pa.array(sorted(exclusions.repositories), pa.string())),
        pc.is_in(owners, value_set=pa.array(sorted(exclusions.namespaces), pa.string())),
    )
    return pc.invert(pc.fill_null(excluded, False))


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _filter_shard(
    source: Path, target: Path, dataset: Dataset, exclusions: ExclusionSet
) -> tuple[int, int]:
    reader = pq.ParquetFile(source)
    rows_in = rows_out = 0
    with pq.ParquetWriter(
        target, reader.schema_arrow, compression="zstd", compression_level=3
    ) as writer:
        for batch in reader.iter_batches(batch_size=8192):
            kept = batch.filter(
                _keep_mask(batch, dataset.repo_column, dataset.implied_host, exclusions)
            )
            rows_in += batch.num_rows
            rows_out += kept.num_rows
            writer.write_batch(kept)
    return rows_in, rows_out


def release_build(*, version_id: int) -> DatasetVersion | None:
    """Build and publish a version. Safe to run twice: a published version is left alone."""
    version = DatasetVersion.objects.select_related("dataset").filter(id=version_id).first()
    if version is None or version.status != VersionStatus.BUILDING:
        return version
    dataset = version.dataset
    source = Path(dataset.source_uri)
    shards = sorted(source.glob("*.parquet"))
    if not shards:
        return _fail(version, f"The source snapshot {source} holds no Parquet shards.")

    exclusions = exclusions_at(version.log_size)
    final = version_folder(version)
    staging = final.parent / f".staging-{version.version}"
    shutil.rmtree(staging, ignore_errors=True)  # what an earlier crashed attempt left
    staging.mkdir(parents=True)

    files = []
    rows_in_total = rows_out_total = 0
    for shard in shards:
        target = staging / "data" / shard.name
        target.parent.mkdir(exist_ok=True)
        rows_in, rows_out = _filter_shard(shard, target, dataset, exclusions)
        rows_in_total += rows_in
        rows_out_total += rows_out
        files.append(
            {
                "path": f"data/{shard.name}",
                "sha256": _sha256_of(target),
                "bytes": target.stat().st_size,
                "rows": rows_out,
            }
        )
    manifest = {
        "manifest_version": 1,
        "dataset": dataset.name,
        "version": version.version,
        "source": {"uri": str(source), "shards": [s.name for s in shards]},
        "checkpoint": {"size": version.log_size},
        "rows": {"in": rows_in_total, "out": rows_out_total},
        "schema": pq.read_schema(shards[0]).to_string(show_schema_metadata=False),
        "files": files,
    }
    manifest_bytes = json.dumps(manifest, indent=2, sort_keys=True).encode() + b"\n"
    (staging / MANIFEST_NAME).write_bytes(manifest_bytes)

    if final.exists():
        shutil.rmtree(final)  # an unpublished leftover: the database says it is not visible
    staging.rename(final)

    with transaction.atomic():
        updated = DatasetVersion.objects.filter(
            id=version.id, status=VersionStatus.BUILDING
        ).update(
            status=VersionStatus.PUBLISHED,
            rows_in=rows_in_total,
            rows_out=rows_out_total,
            manifest_sha256=hashlib.sha256(manifest_bytes).hexdigest(),
            published_at=timezone.now(),
        )
        if updated == 1:
            label, size = version.label, version.log_size
            transaction.on_commit(
                lambda: version_published.send(
                    sender=DatasetVersion, log_size=size, version_label=label
                )
            )
    version.refresh_from_db()
    return version


def _fail(version: DatasetVersion, message: str) -> DatasetVersion:
    DatasetVersion.objects.filter(id=version.id, status=VersionStatus.BUILDING).update(
        status=VersionStatus.FAILED, error=message
    )
    version.refresh_from_db()
    return version
