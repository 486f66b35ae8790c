"""Release errors, and marking a version failed."""

from __future__ import annotations

from governance.enums import VersionStatus
from governance.models import DatasetVersion


class ReleaseError(Exception):
    """A release that cannot start or finish, with a message for people."""


def version_fail(version: DatasetVersion, message: str) -> DatasetVersion:
    """Mark a building version failed; a published one is never touched."""
    DatasetVersion.objects.filter(id=version.id, status=VersionStatus.BUILDING).update(
        status=VersionStatus.FAILED, error=message[:10_000]
    )
    version.refresh_from_db()
    return version


def version_fail_killed(*, version_id: int, step: str, deaths: int) -> None:
    """Mark a version failed because one of its steps kept killing the worker running it
    (``governance.deliveries``): the reason, and what to do, for the maintainers."""
    version = DatasetVersion.objects.filter(id=version_id).first()
    if version is None:
        return
    version_fail(
        version,
        f"{step} stopped the worker process running it {deaths} times in a row (out of "
        "memory, a crash in native code, or the hard time limit CELERY_TASK_TIME_LIMIT), "
        "so it was not tried again and nothing was published. Look at the worker host's "
        "log and memory, fix the cause, then retry the release.",
    )
