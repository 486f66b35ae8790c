"""A version's repository list: which repositories its data files hold, and how many rows.

Written by the publish step as ``repositories.parquet`` in the version folder and listed
in the manifest's ``metadata_files``. Columns:

- ``repository``: canonical ``host/owner/name`` (as ``registry.identifiers`` writes it)
- ``shard``: the data file's name (under ``data/``)
- ``rows``: rows of that repository in that data file (always > 0)

Sorted by repository, then shard, in small row groups whose repository column carries
min/max statistics: a reader (``governance.lookup``) opens the footer, picks the row
group(s) whose range can hold a repository or an owner's prefix, and reads only those.

Merged from one part per shard, each sorted by repository. A rewritten shard's task left
its part (``shard_index.kept_repositories``) in the version's work folder, so the publish
step, which runs alone after the shards, reads and merges small sorted files. A reused
shard has none: its part is its source shard's index (``.index/<fingerprint>``, kept by
the shard tasks) minus what the version's checkpoint excludes, or, if that index is gone
(deleted by hand), its published data file read again: slower, same answer.

An exclusion-only release that only adds exclusions (same source snapshot and filter as
the previous version) derives its list from the previous version's: those rows minus
what the new exclusions cover. It keeps the order, so nothing is sorted again: the cost
is one read of the previous list, not a part for every shard plus a merge.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from governance.enums import VersionStatus
from governance.models import DatasetVersion, ShardBuild
from governance.releases.layout import (
    REPOSITORIES_PART,
    final_path,
    index_path,
    shard_part_path,
)
from governance.releases.matching import (
    canonical_repositories,
    compiled_exclusions_at,
    excluded,
    exclusions_added_removed_between,
)
from governance.releases.shard_index import rows_by_repository
from governance.releases.storage import Store, WriteResult

REPOSITORIES_NAME = "repositories.parquet"

SCHEMA = pa.schema([("repository", pa.string()), ("shard", pa.string()), ("rows", pa.int64())])

# Rows per row group. A lookup decodes one group (~0.3 MB of names at this size) after
# parsing the footer, whose size grows with the number of groups: 16,384 keeps both small
# at 10,000,000 repositories (610 groups; bench/lookup.py).
ROW_GROUP_ROWS = 16_384


def repository_list(
    store: Store, version: DatasetVersion, shards: list[ShardBuild], built: str
) -> pa.Table:
    """The table for ``version``; ``built`` is the folder holding its data files."""
    derived = _derived(store, version, shards)
    if derived is not None:
        return derived
    ordered = sorted(shards, key=lambda s: s.name)
    names = pa.array([shard.name for shard in ordered], pa.string())
    parts = []
    for position, shard in enumerate(ordered):
        part = _shard_part(store, version, shard, built)
        # The shard as a dictionary index while sorting: a take moves 4 bytes a row, not a name.
        indices = pa.repeat(pa.scalar(position, pa.int32()), part.num_rows)
        in_shard = pa.DictionaryArray.from_arrays(indices, names)
        columns = [part.column("repository"), in_shard, part.column("rows")]
        parts.append(pa.table(columns, names=SCHEMA.names))
    if not parts:
        return SCHEMA.empty_table()
    # Arrow's sort is stable and the parts come in shard order, so this sorts by repository,
    # then shard. Each part is sorted already, which makes it a merge of sorted runs.
    return pa.concat_tables(parts).sort_by("repository").cast(SCHEMA)


def _shard_part(store: Store, version: DatasetVersion, shard: ShardBuild, built: str) -> pa.Table:
    """The repositories ``version`` keeps from ``shard`` with their rows, sorted."""
    path = shard_part_path(store, version.version, REPOSITORIES_PART, shard.name)
    if store.exists(path):
        with store.open_read(path) as handle:
            return pq.read_table(handle, columns=["repository", "rows"])
    path = index_path(store, shard.source_fingerprint)
    if store.exists(path):
        with store.open_read(path) as handle:
            runs = pq.read_table(handle, columns=["repository", "rows"])
        exclusions = compiled_exclusions_at(version.log_size, version.root_hash)
        runs = runs.filter(pc.invert(excluded(runs.column("repository"), exclusions)))
    else:
        runs = _runs_from_data(store, version, f"{built}/{shard.name}")
    return rows_by_repository(runs)


def _derived(store: Store, version: DatasetVersion, shards: list[ShardBuild]) -> pa.Table | None:
    """The previous version's list minus the newly added exclusions, when that is exact."""
    previous = version.previous
    if previous is None or previous.status != VersionStatus.PUBLISHED or not previous.manifest:
        return None
    path = f"{final_path(store, previous.version)}/{REPOSITORIES_NAME}"
    source = previous.manifest.get("source", {}).get("shards", [])
    dataset = version.dataset
    same_source = {s["name"]: s["fingerprint"] for s in source} == {
        s.name: s.source_fingerprint for s in shards
    }
    same_filter = previous.manifest.get("filter") == {
        "repository_column": dataset.repo_column,
        "implied_host": dataset.implied_host,
    }
    if not (same_source and same_filter and store.exists(path)):
        return None
    added, removed = exclusions_added_removed_between(previous.log_size, version.log_size)
    if removed.count:
        return None  # a re-included repository comes back: built from the indexes
    with store.open_read(path) as handle:
        table = pq.read_table(handle, schema=SCHEMA)
    if added.count:
        table = table.filter(pc.invert(excluded(table.column("repository"), added)))
    return table


def _runs_from_data(store: Store, version: DatasetVersion, path: str) -> pa.Table:
    dataset = version.dataset
    with store.open_read(path) as handle:
        names = pq.read_table(handle, columns=[dataset.repo_column]).column(0)
    repositories = canonical_repositories(names.combine_chunks(), dataset.implied_host)
    runs = pa.table({"repository": repositories, "rows": pa.array([1] * len(names), pa.int64())})
    return runs.filter(pc.is_valid(runs.column("repository")))


def write_repository_list(store: Store, path: str, table: pa.Table) -> WriteResult:
    with store.atomic_writer(path) as (hashing, written):
        write_table(table, hashing)
    return written


def write_table(table: pa.Table, sink: object) -> None:
    """The file layout readers rely on (also used by the benchmark to make a large one)."""
    pq.write_table(
        table,
        sink,
        row_group_size=ROW_GROUP_ROWS,
        compression="zstd",
        use_dictionary=["shard"],
        write_statistics=["repository"],
    )
