"""Which published versions hold a repository, or an owner's repositories: read from each
version's ``repositories.parquet`` (``releases/repository_list.py``).

A lookup opens the file's footer, keeps the row groups whose repository range (min/max
statistics) can hold the key, and decodes only those: one group for a repository, one or
a few for an owner. Nothing is kept between calls, so a web process's memory does not
grow with the dataset (bench/lookup.py: 10,000,000 repositories).
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from governance.models import DatasetVersion
from governance.releases.layout import dataset_store, final_path
from governance.releases.repository_list import REPOSITORIES_NAME
from governance.releases.storage import Store


@dataclass(frozen=True)
class Presence:
    """A repository in one version: its rows there and the data files holding them."""

    rows: int
    shards: tuple[str, ...]


@dataclass(frozen=True)
class OwnerRepository:
    repository: str
    rows: int


@dataclass(frozen=True)
class OwnerPage:
    repositories: int  # all of the owner's repositories in the version
    rows: int  # all their rows
    items: list[OwnerRepository]  # the page asked for, by name


class IndexMissing(Exception):
    """The version has no repository list (published before lookups existed)."""


def _located(version: DatasetVersion) -> tuple[Store, str]:
    store = dataset_store(version.dataset)
    return store, f"{final_path(store, version.version)}/{REPOSITORIES_NAME}"


def _open(store: Store, path: str) -> pq.ParquetFile:
    if not store.exists(path):
        raise IndexMissing(f"{path} is missing")
    return pq.ParquetFile(store.open_read(path))


def _groups(reader: pq.ParquetFile, low: str, high: str) -> list[int]:
    """Row groups whose repository range meets ``[low, high]``."""
    metadata = reader.metadata
    if not metadata.num_row_groups:
        return []
    # Found from a row group, not ``metadata.schema``: in pyarrow 26 each read of that
    # property keeps ~1 MB of a large footer alive for good (a web process would grow).
    first = metadata.row_group(0)
    column = next(
        i for i in range(first.num_columns) if first.column(i).path_in_schema == "repository"
    )
    chosen = []
    for index in range(metadata.num_row_groups):
        stats = metadata.row_group(index).column(column).statistics
        if stats is None or not stats.has_min_max or (stats.min <= high and stats.max >= low):
            chosen.append(index)
    return chosen


def _rows_between(reader: pq.ParquetFile, low: str, high: str) -> pa.Table:
    groups = _groups(reader, low, high)
    if not groups:
        return pa.table({"repository": [], "shard": [], "rows": []})
    return reader.read_row_groups(groups, columns=["repository", "shard", "rows"])


def repository_presence(version: DatasetVersion, repository: str) -> Presence | None:
    """``repository`` (canonical) in ``version``, or None when the version lacks it.

    Raises ``IndexMissing`` for a version without a repository list."""
    return presence_in_file(*_located(version), repository)


def presence_in_file(store: Store, path: str, repository: str) -> Presence | None:
    reader = _open(store, path)
    try:
        table = _rows_between(reader, repository, repository)
    finally:
        reader.close()
    table = table.filter(pc.equal(table.column("repository"), repository))
    if not table.num_rows:
        return None
    return Presence(
        rows=int(pc.sum(table.column("rows")).as_py()),
        shards=tuple(sorted(table.column("shard").to_pylist())),
    )


def owner_repositories(
    version: DatasetVersion, namespace: str, *, offset: int = 0, limit: int = 50
) -> OwnerPage:
    """The repositories under ``namespace`` (canonical ``host/owner``, or a GitLab group
    with its subgroups) in ``version``, with totals and one page sorted by name.

    Raises ``IndexMissing`` for a version without a repository list."""
    return owner_page_in_file(*_located(version), namespace, offset=offset, limit=limit)


def owner_page_in_file(
    store: Store, path: str, namespace: str, *, offset: int = 0, limit: int = 50
) -> OwnerPage:
    prefix = f"{namespace}/"
    # Every name starting with "owner/" sorts below "owner0" ("0" follows "/").
    high = f"{namespace}0"
    reader = _open(store, path)
    try:
        table = _rows_between(reader, prefix, high)
    finally:
        reader.close()
    if table.num_rows:
        table = table.filter(pc.starts_with(table.column("repository"), prefix))
    if not table.num_rows:
        return OwnerPage(repositories=0, rows=0, items=[])
    # Sorted by repository already; a repository in several shards is summed.
    grouped = table.group_by("repository", use_threads=False).aggregate([("rows", "sum")])
    names = grouped.column("repository")
    rows = grouped.column("rows_sum")
    page = slice(offset, offset + limit)
    return OwnerPage(
        repositories=grouped.num_rows,
        rows=int(pc.sum(rows).as_py()),
        items=[
            OwnerRepository(repository=name, rows=count)
            for name, count in zip(names[page].to_pylist(), rows[page].to_pylist(), strict=True)
        ],
    )
