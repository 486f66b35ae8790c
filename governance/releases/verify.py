"""Verify a published version: re-hash every file and prove no excluded repository remains.

Checks, each reported with what is wrong:
- the manifest's SHA-256 equals the one recorded in the database and in the marker;
- every file the manifest lists has the listed size and SHA-256 (and data files the
  listed row count);
- the checkpoint in the manifest is the registry's: same root hash at that size;
- no row of any data file belongs to a repository excluded at that checkpoint.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

import pyarrow.compute as pc
import pyarrow.parquet as pq

from governance.enums import VersionStatus
from governance.models import DatasetVersion
from governance.releases.layout import MANIFEST_NAME, MARKER_NAME, dataset_store, final_path
from governance.releases.matching import (
    canonical_repositories,
    compile_exclusions,
    matching_subjects,
)
from registry.checkpoints import checkpoint_at
from registry.selectors import exclusions_at

OFFENDING_LIMIT = 100  # rows listed in a report; the count is always exact


@dataclass
class OffendingRow:
    path: str
    row: int
    repository: str
    exclusion: str


@dataclass
class VerifyReport:
    dataset: str
    version: str
    files_checked: int = 0
    rows_checked: int = 0
    problems: list[str] = field(default_factory=list)
    offending_count: int = 0
    offending: list[OffendingRow] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and not self.offending_count


def version_verify(*, version: DatasetVersion) -> VerifyReport:
    report = VerifyReport(dataset=version.dataset.name, version=version.version)
    if version.status != VersionStatus.PUBLISHED:
        report.problems.append(f"{version.label} is {version.status}, not published.")
        return report
    store = dataset_store(version.dataset)
    folder = final_path(store, version.version)
    try:
        manifest_raw = store.read_bytes(f"{folder}/{MANIFEST_NAME}")
    except FileNotFoundError:
        report.problems.append(f"{folder}/{MANIFEST_NAME} is missing.")
        return report
    digest = hashlib.sha256(manifest_raw).hexdigest()
    if digest != version.manifest_sha256:
        report.problems.append(
            f"manifest.json hashes to {digest}, the database recorded {version.manifest_sha256}."
        )
    marker_path = f"{folder}/{MARKER_NAME}"
    marker = store.read_bytes(marker_path).decode().strip() if store.exists(marker_path) else ""
    if marker != digest:
        report.problems.append(f"The commit marker names {marker or 'nothing'}, not {digest}.")
    manifest = json.loads(manifest_raw)

    checkpoint = manifest["checkpoint"]
    registry_root = checkpoint_at(int(checkpoint["size"])).root_hash_b64
    if registry_root != checkpoint["root_hash"]:
        report.problems.append(
            f"The registry's root at size {checkpoint['size']} is {registry_root}, the manifest "
            f"says {checkpoint['root_hash']}."
        )
    exclusions = compile_exclusions(exclusions_at(int(checkpoint["size"])))
    column = manifest["filter"]["repository_column"]
    host = manifest["filter"]["implied_host"]

    for entry in manifest["metadata_files"]:
        _check_bytes(store, folder, entry, report)
    for entry in manifest["files"]:
        if not _check_bytes(store, folder, entry, report):
            continue
        with store.open_read(f"{folder}/{entry['path']}") as handle:
            reader = pq.ParquetFile(handle)
            rows = 0
            for batch in reader.iter_batches(batch_size=65_536, columns=[column]):
                repositories = canonical_repositories(batch.column(0), host)
                subjects, _kinds = matching_subjects(repositories, exclusions)
                hits = pc.indices_nonzero(pc.is_valid(subjects)).to_pylist()
                report.offending_count += len(hits)
                for index in hits[: max(0, OFFENDING_LIMIT - len(report.offending))]:
                    report.offending.append(
                        OffendingRow(
                            path=entry["path"],
                            row=rows + index,
                            repository=repositories[index].as_py(),
                            exclusion=subjects[index].as_py(),
                        )
                    )
                rows += batch.num_rows
        report.rows_checked += rows
        if rows != entry["rows"]:
            report.problems.append(
                f"{entry['path']} has {rows} rows, the manifest says {entry['rows']}."
            )
    return report


def _check_bytes(store, folder: str, entry: dict, report: VerifyReport) -> bool:
    path = f"{folder}/{entry['path']}"
    if not store.exists(path):
        report.problems.append(f"{entry['path']} is missing.")
        return False
    digest = hashlib.sha256()
    size = 0
    with store.open_read(path) as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
            size += len(block)
    report.files_checked += 1
    ok = True
    if size != entry["bytes"]:
        report.problems.append(
            f"{entry['path']} has {size} bytes, the manifest says {entry['bytes']}."
        )
        ok = False
    if digest.hexdigest() != entry["sha256"]:
        report.problems.append(
            f"{entry['path']} hashes to {digest.hexdigest()}, the manifest says {entry['sha256']}."
        )
        ok = False
    return ok
