"""Verify a published version: re-hash every file and prove no excluded repository remains.

``version_verify`` does it and returns a report (``manage.py verify_version`` prints it).
Over the API it runs as a task: ``verification_request`` queues one run per version at a
time, ``verification_run`` (the task's body) records its report.

Checks, each reported with what is wrong:
- the manifest's SHA-256 equals the one recorded in the database and in the marker;
- every file the manifest lists has the listed size and SHA-256 (and data files the
  listed row count);
- the checkpoint in the manifest is the registry's: same root hash at that size;
- no row of any data file belongs to a repository excluded at that checkpoint.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from dataclasses import dataclass, field
from datetime import timedelta

import pyarrow.compute as pc
import pyarrow.parquet as pq
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from governance.enums import OPEN_VERIFICATIONS, VerificationStatus, VersionStatus
from governance.models import DatasetVersion, VersionVerification
from governance.releases.layout import MANIFEST_NAME, MARKER_NAME, dataset_store, final_path
from governance.releases.matching import (
    canonical_repositories,
    compile_exclusions,
    matching_subjects,
)
from registry.checkpoints import checkpoint_at
from registry.dispatch import queue_after_commit
from registry.selectors import exclusions_at

logger = logging.getLogger(__name__)

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

    def as_dict(self) -> dict:
        """The report as the API shows it and a verification stores it."""
        return {**dataclasses.asdict(self), "ok": self.ok}


def verification_request(*, version: DatasetVersion) -> tuple[VersionVerification, bool]:
    """The open verification of ``version``, or a new one queued after commit (``True``).

    A run open for longer than a task may live was lost (its worker and the broker's copy
    both gone): it is closed as failed, and a new one starts.
    """
    from governance.tasks import version_verify_task  # tasks import this module

    abandoned_before = timezone.now() - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT * 2)
    lost = VerifyReport(dataset=version.dataset.name, version=version.version)
    lost.problems.append("The run was lost before it finished; ask for a new one.")
    with transaction.atomic():
        version.verifications.filter(
            status__in=OPEN_VERIFICATIONS, requested_at__lt=abandoned_before
        ).update(
            status=VerificationStatus.FAILED, finished_at=timezone.now(), report=lost.as_dict()
        )
        current = version.verifications.filter(status__in=OPEN_VERIFICATIONS).first()
        if current is not None:
            return current, False
        try:
            with transaction.atomic():  # a savepoint: a concurrent request may win the race
                run = VersionVerification.objects.create(version=version)
        except IntegrityError:
            return version.verifications.get(status__in=OPEN_VERIFICATIONS), False
        queue_after_commit(version_verify_task, verification_id=run.id)
    return run, True


def verification_run(*, verification_id: int) -> VersionVerification | None:
    """Run a queued verification and record its report; a finished one is left as it is.

    A run found ``running`` is run again: its worker died, and verifying only reads.
    """
    claimed = VersionVerification.objects.filter(
        id=verification_id, status__in=OPEN_VERIFICATIONS
    ).update(status=VerificationStatus.RUNNING, started_at=timezone.now())
    if claimed != 1:
        return VersionVerification.objects.filter(id=verification_id).first()
    run = VersionVerification.objects.select_related("version__dataset").get(id=verification_id)
    try:
        report = version_verify(version=run.version)
    except Exception as exc:  # storage unreachable, unreadable file: the report says so
        logger.exception("Verification %s of %s could not finish", run.id, run.version)
        report = VerifyReport(dataset=run.version.dataset.name, version=run.version.version)
        report.problems.append(f"The verification could not finish: {exc}")
    run.status = VerificationStatus.PASSED if report.ok else VerificationStatus.FAILED
    run.report = report.as_dict()
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "report", "finished_at"])
    return run


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
