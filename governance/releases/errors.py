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
