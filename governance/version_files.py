"""What a published version's page shows from its folder: files, changelog, download URLs."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, BinaryIO

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from governance.models import DatasetVersion
from governance.releases.changelog import CHANGELOG_HEAD_KEY, changelog_parquet
from governance.releases.layout import (
    CHANGELOG_JSON,
    CHANGELOG_PARQUET,
    MANIFEST_NAME,
    dataset_store,
    final_path,
)
from governance.releases.storage import Store

SIGNED_URL_SECONDS = 3600
CHANGELOG_PAGE = 100  # entries a page, on the version page and in the API


def version_files(version: DatasetVersion) -> list[dict[str, Any]]:
    """Every file of the version: data files, metadata files, then the manifest itself."""
    manifest = version.manifest or {}
    files = [{**entry, "kind": "data"} for entry in manifest.get("files", [])]
    files += [{**entry, "kind": "metadata"} for entry in manifest.get("metadata_files", [])]
    files.append(
        {
            "path": MANIFEST_NAME,
            "sha256": version.manifest_sha256,
            "kind": "manifest",
            "bytes": None,
        }
    )
    return files


@dataclass(frozen=True)
class ChangelogPage:
    """One page of a version's changelog: the head (dataset, previous version, checkpoint
    range, totals), how many entries match, and this page's entries, each with its
    ``change`` (removed or reincluded)."""

    head: dict[str, Any]
    count: int
    page: int
    pages: int
    entries: list[dict[str, Any]]


def changelog_page(
    version: DatasetVersion,
    *,
    search: str = "",
    change: str | None = None,
    page: int = 1,
    size: int = CHANGELOG_PAGE,
) -> ChangelogPage:
    """A page of the version's changelog (entries whose exclusion contains ``search``,
    case-insensitive, and of ``change`` when given); past the last page, the last page.

    Read from ``changelog.parquet`` a row group at a time, so memory stays one row group
    whatever the changelog's length. Raises FileNotFoundError when the file is gone."""
    store = dataset_store(version.dataset)
    folder = final_path(store, version.version)
    path = f"{folder}/{CHANGELOG_PARQUET}"
    if not store.exists(path):
        path = f"{folder}/{CHANGELOG_JSON}"
        if not store.exists(path):
            raise FileNotFoundError(path)
    with _changelog_file(store, path) as handle:
        parquet = pq.ParquetFile(handle)
        head = json.loads(parquet.schema_arrow.metadata[CHANGELOG_HEAD_KEY])
        if search or change:
            count, entries = _filtered(parquet, search, change, page, size)
        else:
            count, entries = _unfiltered(parquet, page, size)
    pages = max(1, -(-count // size))
    if page > pages:  # past the end: the last page, read once more
        return changelog_page(version, search=search, change=change, page=pages, size=size)
    return ChangelogPage(head, count, page, pages, entries)


def _changelog_file(store: Store, path: str) -> BinaryIO:
    """The open changelog.parquet, or, for a version published before that file was
    written, the same table made from its changelog.json (read whole: such versions
    predate the form that keeps memory flat, and published files are never rewritten)."""
    if path.endswith(CHANGELOG_PARQUET):
        return store.open_read(path)
    changelog = json.loads(store.read_bytes(path))
    for change in ("removed", "reincluded"):
        changelog[change] = pa.Table.from_pylist(changelog[change], schema=_ENTRY_SCHEMA)
    return pa.BufferReader(changelog_parquet(changelog))


_ENTRY_SCHEMA = pa.schema(
    [
        ("exclusion", pa.string()),
        ("kind", pa.string()),
        ("repositories", pa.int64()),
        ("rows", pa.int64()),
    ]
)


def _unfiltered(parquet: pq.ParquetFile, page: int, size: int) -> tuple[int, list[dict]]:
    """Only the row groups the page falls in are read."""
    start, stop = (page - 1) * size, page * size
    groups, first_row, offset = [], None, 0
    for group in range(parquet.num_row_groups):
        rows = parquet.metadata.row_group(group).num_rows
        if offset < stop and start < offset + rows:
            groups.append(group)
            first_row = offset if first_row is None else first_row
        offset += rows
    if not groups:
        return offset, []
    table = parquet.read_row_groups(groups)
    return offset, table.slice(start - first_row, size).to_pylist()


def _filtered(
    parquet: pq.ParquetFile, search: str, change: str | None, page: int, size: int
) -> tuple[int, list[dict]]:
    """One row group at a time: matches are counted, and the page's kept."""
    start, stop = (page - 1) * size, page * size
    count, entries = 0, []
    for group in range(parquet.num_row_groups):
        keys = parquet.read_row_group(group, columns=["change", "exclusion"])
        mask = pa.array([True] * keys.num_rows, pa.bool_())
        if search:
            mask = pc.match_substring(keys.column("exclusion"), search, ignore_case=True)
        if change:
            mask = pc.and_(mask, pc.equal(keys.column("change"), change))
        matches = pc.sum(mask).as_py() or 0
        if matches and count < stop and start < count + matches:
            found = parquet.read_row_group(group).filter(mask)
            low = max(start - count, 0)
            entries += found.slice(low, stop - count - low).to_pylist()
        count += matches
    return count, entries


def signed_url(store: Store, path: str) -> str:
    """A time-limited URL to ``path`` on an object store, or its plain URL when the store
    cannot sign (a public bucket)."""
    try:
        return store.fs.sign(path, expiration=SIGNED_URL_SECONDS)
    except NotImplementedError:
        return store.url(path)
