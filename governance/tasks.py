"""Release tasks: thin wrappers that take ids and call the release services."""

from __future__ import annotations

from celery import shared_task

from governance.releases import release_build


@shared_task
def release_build_task(*, version_id: int) -> str | None:
    version = release_build(version_id=version_id)
    return version.status if version else None
