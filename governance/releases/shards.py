"""Build one shard of a version: filter its source shard, or link the previous output.

Rewriting reads the repository column once to decide every row (pass 1), then streams
the kept rows into the shard's file (pass 2, ``shard_write``), hashing it as it is
written. Memory is bounded by a row group, whatever the shard's size, and the bytes
depend only on the source and the checkpoint, never on worker count or task order.

Safe to run twice: the output is written under a temporary name and renamed, with the
same bytes each time, and the shard is marked done by a conditional UPDATE.
"""

from __future__ import annotations

import logging
import time

import pyarrow as pa
import pyarrow.parquet as pq
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from governance.enums import ShardAction, ShardStatus, VersionStatus
from governance.models import Dataset, DatasetMarker, DatasetVersion, ShardBuild
from governance.releases.crash import crash_point
from governance.releases.errors import version_fail
from governance.releases.layout import (
    CHANGES_PART,
    DATA_DIR,
    REPOSITORIES_PART,
    dataset_store,
    final_path,
    index_path,
    shard_part_path,
    staging_path,
)
from governance.releases.markers import FoundMarker, shard_markers
from governance.releases.matching import (
    NO_EXCLUSIONS,
    CompiledExclusions,
    compiled_exclusions_at,
    exclusions_changed_between,
)
from governance.releases.shard_index import (
    ShardRepositories,
    kept_repositories,
    repository_index,
    shard_changes,
    shard_repositories,
)
from governance.releases.shard_write import write_shard
from governance.releases.storage import Store
from registry.threads import side_threads

logger = logging.getLogger(__name__)


def shard_build(*, shard_id: int) -> ShardBuild | None:
    """Build one shard; returns quietly if it or its version is gone or already done."""
    shard = (
        ShardBuild.objects.select_related("version__dataset", "version__previous")
        .filter(id=shard_id)
        .first()
    )
    if shard is None or shard.status == ShardStatus.DONE:
        return shard
    version = shard.version
    if version.status != VersionStatus.BUILDING:
        return shard
    if shard.action == ShardAction.REUSE:
        shards_reuse(version_id=version.id)  # linked with the version's other reused shards
        shard.refresh_from_db()
        return shard
    try:
        stats, markers = _rewrite(shard)
    except Exception as exc:
        shard.refresh_from_db()
        if shard.status == ShardStatus.DONE:
            # A duplicate delivery lost the race: the recorded build stands, and publishing
            # may have taken this run's temporary files away.
            logger.warning(
                "A second build of shard %s of %s stopped: %s", shard.name, version.label, exc
            )
            return shard
        logger.exception("Shard %s of %s failed", shard.name, version.label)
        version_fail(version, f"Shard {shard.name} failed: {type(exc).__name__}: {exc}")
        return shard
    crash_point("shard_written")
    with transaction.atomic():
        if _recorded(shard, stats):
            DatasetVersion.objects.filter(id=version.id).update(
                shards_done=F("shards_done") + 1, updated_at=timezone.now()
            )
            _record_markers(shard, markers)
    crash_point("shard_recorded")
    shard.refresh_from_db()
    return shard


def shards_reuse(*, version_id: int) -> int:
    """Link the previous output of every reused shard of a version still pending, and
    record them: the same bytes, so the same hash, rows and size as the earlier build.

    All at once: each link is cheap, but a folder sync and a transaction per shard add up
    when most of a release is reused. Returns how many this call recorded.
    """
    shards = list(
        ShardBuild.objects.select_related("version__dataset", "version__previous", "reuse_of")
        .filter(
            version_id=version_id,
            version__status=VersionStatus.BUILDING,
            action=ShardAction.REUSE,
            status=ShardStatus.PENDING,
        )
        .order_by("position")
    )
    if not shards:
        return 0
    version = shards[0].version
    store = dataset_store(version.dataset)
    previous = f"{final_path(store, version.previous.version)}/{DATA_DIR}"
    staging = f"{staging_path(store, version.version)}/{DATA_DIR}"
    try:
        store.link([(f"{previous}/{s.name}", f"{staging}/{s.name}") for s in shards])
    except Exception as exc:
        logger.exception("Linking the reused shards of %s failed", version.label)
        version_fail(version, f"Linking the reused shards failed: {type(exc).__name__}: {exc}")
        return 0
    crash_point("shard_written")
    with transaction.atomic():
        recorded = [s for s in shards if _recorded(s, _earlier_stats(s.reuse_of))]
        if recorded:
            DatasetVersion.objects.filter(id=version.id).update(
                shards_done=F("shards_done") + len(recorded),
                shards_reused=F("shards_reused") + len(recorded),
                updated_at=timezone.now(),
            )
    crash_point("shard_recorded")
    return len(recorded)


def _recorded(shard: ShardBuild, stats: dict[str, int | str]) -> bool:
    """Mark the shard done with its figures, unless a duplicate run already has."""
    pending = ShardBuild.objects.filter(id=shard.id, status=ShardStatus.PENDING)
    return pending.update(status=ShardStatus.DONE, rows_done=stats["rows_in"], **stats) == 1


def _record_markers(shard: ShardBuild, markers: list[FoundMarker]) -> None:
    """The shard's markers, with the shard that records them (a repository split over
    two shards is recorded once)."""
    DatasetMarker.objects.bulk_create(
        [
            DatasetMarker(
                version_id=shard.version_id,
                shard=shard.name,
                repository=marker.repository,
                path=marker.path,
                kind=marker.kind,
                directive=marker.directive,
                revision=marker.revision[:200],
                revision_column=shard.version.dataset.revision_column if marker.revision else "",
            )
            for marker in markers
        ],
        ignore_conflicts=True,
    )


def _earlier_stats(earlier: ShardBuild) -> dict[str, int | str]:
    return {
        "rows_in": earlier.rows_in,
        "rows_out": earlier.rows_out,
        "bytes": earlier.bytes,
        "sha256": earlier.sha256,
    }


def _rewrite(shard: ShardBuild) -> tuple[dict[str, int | str], list[FoundMarker]]:
    started = time.perf_counter()
    version = shard.version
    dataset = version.dataset
    store = dataset_store(dataset)
    source = Store.at(dataset.source_uri)
    source_path = source.path(shard.name)
    exclusions = compiled_exclusions_at(version.log_size, version.root_hash)
    target = f"{staging_path(store, version.version)}/{DATA_DIR}/{shard.name}"
    with source.open_read(source_path) as handle:
        reader = pq.ParquetFile(handle)
        _check_schema(reader.schema_arrow, dataset.repo_column)
        scan = _scans_markers(reader.schema_arrow, dataset)
        # Pass 1 reads only the repository column (a few bytes a row), and the path
        # column when the shard can hold markers, and decides every row at once,
        # matching each run of one repository once.
        columns = [dataset.repo_column, dataset.path_column] if scan else [dataset.repo_column]
        first = reader.read(columns=columns)
        names = first.column(0).combine_chunks()
        repositories = shard_repositories(names, dataset.implied_host, exclusions)
        keep = repositories.keep
        markers = []
        if scan:
            markers = shard_markers(
                reader,
                names,
                first.column(1).combine_chunks(),
                keep,
                host=dataset.implied_host,
                content_column=dataset.content_column,
                revision_column=dataset.revision_column,
            )
        del names, first
        previous = version.previous
        before, changed = NO_EXCLUSIONS, NO_EXCLUSIONS
        if previous:
            before = compiled_exclusions_at(previous.log_size, previous.root_hash)
            # The same delta the planner decided reuse with: read from the log's range.
            changed = exclusions_changed_between(previous.log_size, version.log_size)
        # The index depends only on the source shard: an earlier release's is kept as it is.
        index_file = index_path(store, shard.source_fingerprint)
        with_index = not store.exists(index_file)
        parts = {
            part: shard_part_path(store, version.version, part, shard.name)
            for part in (CHANGES_PART, REPOSITORIES_PART)
        }
        decided = time.perf_counter()
        # The index and the parts are small Arrow work: a side thread writes them while
        # this one writes the rows.
        with side_threads("shard-index") as side:
            side(_summarise, store, repositories, before, changed, index_file, with_index,
                 parts)  # fmt: skip
            with store.atomic_writer(target) as (sink, written):
                write_shard(reader, keep, sink, on_rows=_Progress(shard))
                crash_point("shard_partial")  # a temporary file, not yet renamed
                encoded = time.perf_counter()
    logger.info(
        "Shard %s of %s: %d of %d rows kept; rows decided in %.2f s, written in %.2f s, "
        "stored in %.2f s",
        shard.name,
        version.label,
        keep.true_count,
        len(keep),
        decided - started,
        encoded - decided,
        time.perf_counter() - encoded,
    )
    stats: dict[str, int | str] = {
        "rows_in": len(keep),
        "rows_out": keep.true_count,
        "bytes": written.bytes,
        "sha256": written.sha256,
    }
    return stats, markers


def _scans_markers(schema: pa.Schema, dataset: Dataset) -> bool:
    """Whether the shard has the text columns a marker is read from (string paths)."""
    path, content = dataset.path_column, dataset.content_column
    if not path or not content or path not in schema.names or content not in schema.names:
        return False
    kind = schema.field(path).type
    return pa.types.is_string(kind) or pa.types.is_large_string(kind)


def _check_schema(schema: pa.Schema, repo_column: str) -> None:
    """Refuse, naming the fix, a shard the release cannot filter."""
    if repo_column not in schema.names:
        raise ValueError(
            f"the shard has no column {repo_column!r} (columns: {', '.join(schema.names)}): "
            "change the dataset's repository column."
        )
    kind = schema.field(repo_column).type
    if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        raise ValueError(
            f"the repository column {repo_column!r} holds {kind}, not strings of "
            "owner/name: change the dataset's repository column to such a column."
        )


def _summarise(
    store: Store,
    repositories: ShardRepositories,
    before: CompiledExclusions,
    changed: CompiledExclusions,
    index_file: str,
    with_index: bool,
    parts: dict[str, str],
) -> None:
    """Write the shard's repository index (if asked), its changes between checkpoints and
    the repositories it keeps (``parts``: where each goes).

    Each file is whole or absent, and right whatever happens to the shard's own file (the
    index depends only on the source; a retry writes the parts again).
    """
    runs = repositories.runs
    if with_index:
        _write_table(store, index_file, repository_index(runs))
    changes = shard_changes(runs, before=before, changed=changed)
    _write_table(store, parts[CHANGES_PART], changes)
    _write_table(store, parts[REPOSITORIES_PART], kept_repositories(runs))


class _Progress:
    """Counts the rows this attempt wrote into the shard's own row: a redelivered or
    duplicate attempt starts again from zero instead of adding to a total, so the
    version's progress (the sum over its shards) never passes 100 %."""

    def __init__(self, shard: ShardBuild) -> None:
        self.shard = shard
        self.rows = 0

    def __call__(self, rows: int) -> None:
        if not rows:
            return
        self.rows += rows
        now = timezone.now()
        pending = ShardBuild.objects.filter(id=self.shard.id, status=ShardStatus.PENDING)
        if pending.update(rows_done=self.rows):
            DatasetVersion.objects.filter(id=self.shard.version_id).update(updated_at=now)


def _write_table(store: Store, path: str, table: pa.Table) -> None:
    """A shard's index or parts: tables of mostly unique names that the planner and the
    publish step read whole. lz4 without dictionary or statistics: a dictionary tried on
    unique names never pays, and speed of writing and reading counts more than size."""
    with store.atomic_writer(path) as (hashing, _written):
        pq.write_table(
            table, hashing, compression="lz4", use_dictionary=False, write_statistics=False
        )
