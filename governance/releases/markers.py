"""Find the opt-out markers at repositories' roots in one shard (``marker_grammar``).

Runs inside a shard's rewrite, on the path column read with the repository column in the
first pass: one vectorised test picks the rows whose path is a marker file at a root,
among the rows the release keeps (an excluded repository needs no request). Only those
rows' contents are read, one source row group at a time, so a shard without markers
costs one small column more than before.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from governance.releases.marker_grammar import MARKER_FILES, read_marker
from governance.releases.matching import canonical_repositories

# Dataset paths may be written with or without a leading slash (``/robots.txt``).
_ROOT_PATHS = {**MARKER_FILES, **{f"/{name}": kind for name, kind in MARKER_FILES.items()}}
_ROOT_PATH_SET = pa.array(sorted(_ROOT_PATHS), pa.string())


@dataclass(frozen=True)
class FoundMarker:
    repository: str  # canonical host/owner/name
    path: str
    kind: str
    directive: str  # the line that opts out
    revision: str  # the row's revision column, or ""


def shard_markers(
    reader: pq.ParquetFile,
    names: pa.Array,
    paths: pa.Array,
    keep: pa.BooleanArray,
    *,
    host: str,
    content_column: str,
    revision_column: str,
) -> list[FoundMarker]:
    """Markers in the kept rows of the shard ``reader`` opens; ``names`` and ``paths`` are
    its repository and path columns, ``keep`` the rows the release keeps."""
    at_root = pc.fill_null(pc.is_in(paths, value_set=_ROOT_PATH_SET), False)
    rows = pc.indices_nonzero(pc.and_(at_root, keep)).to_pylist()
    if not rows:
        return []
    columns = [content_column]
    if revision_column and revision_column in reader.schema_arrow.names:
        columns.append(revision_column)
    repositories = canonical_repositories(pc.take(names, pa.array(rows, pa.int64())), host)
    repository_of = dict(zip(rows, repositories.to_pylist(), strict=True))
    found: list[FoundMarker] = []
    for group, group_rows in _by_row_group(reader.metadata, rows):
        table = reader.read_row_group(group, columns=columns)
        for row, offset in group_rows:
            repository = repository_of[row]
            path = paths[row].as_py()
            kind = _ROOT_PATHS[path]
            directive = read_marker(kind, table.column(0)[offset].as_py())
            if repository is None or directive is None:
                continue
            revision = table.column(1)[offset].as_py() if len(columns) > 1 else None
            found.append(FoundMarker(repository, path, kind, directive, str(revision or "")))
    return found


def _by_row_group(
    metadata: pq.FileMetaData, rows: list[int]
) -> list[tuple[int, list[tuple[int, int]]]]:
    """``rows`` (ascending shard row numbers) grouped by source row group, each with its
    offset inside the group."""
    grouped: list[tuple[int, list[tuple[int, int]]]] = []
    start, group, pending = 0, 0, list(rows)
    while pending and group < metadata.num_row_groups:
        end = start + metadata.row_group(group).num_rows
        inside = [(row, row - start) for row in pending if row < end]
        if inside:
            grouped.append((group, inside))
            pending = pending[len(inside) :]
        start, group = end, group + 1
    return grouped
