"""Release tasks: thin wrappers that take ids and call the release services.

A release is ``release_build_task`` (plan) → a chord of one ``release_shard_task`` per
shard → ``release_publish_task``. Every task is idempotent: a duplicate delivery, or a
re-run by the reconciler after a crash, finds the work done and returns.
"""

from __future__ import annotations

from datetime import timedelta

from celery import chord, shared_task

from governance.enums import ShardAction, ShardStatus, VersionStatus
from governance.models import ShardBuild
from governance.releases.plan import release_plan
from governance.releases.publish import release_publish
from governance.releases.reconcile import releases_reconcile
from governance.releases.schedule import releases_schedule
from governance.releases.shards import shard_build
from governance.releases.verify import verification_run


@shared_task
def release_build_task(*, version_id: int) -> str | None:
    version = release_plan(version_id=version_id)
    if version is None or version.status != VersionStatus.BUILDING:
        return version.status if version else None
    pending = ShardBuild.objects.filter(version=version, status=ShardStatus.PENDING)
    # A reused shard is one link (or server-side copy): done here rather than paying a
    # task round trip each, so a release of 100 shards with 1 touched runs 1 shard task.
    for shard_id in pending.filter(action=ShardAction.REUSE).values_list("id", flat=True):
        shard_build(shard_id=shard_id)
    pending = list(pending.order_by("position").values_list("id", flat=True))
    publish = release_publish_task.si(version_id=version.id)
    if pending:
        chord([release_shard_task.si(shard_id=shard_id) for shard_id in pending])(publish)
    else:
        publish.delay()
    return "queued"


@shared_task
def release_shard_task(*, shard_id: int) -> str | None:
    shard = shard_build(shard_id=shard_id)
    return shard.status if shard else None


@shared_task
def release_publish_task(*, version_id: int) -> str | None:
    version = release_publish(version_id=version_id)
    return version.status if version else None


@shared_task
def release_scheduled_task() -> list[str]:
    return [version.label for version in releases_schedule()]


@shared_task
def release_reconcile_task(*, stale_minutes: int = 30) -> dict[str, list[str]]:
    report = releases_reconcile(stale_after=timedelta(minutes=stale_minutes))
    return {"resumed": report.resumed, "announced": report.announced, "removed": report.removed}


@shared_task
def version_verify_task(*, verification_id: int) -> str | None:
    run = verification_run(verification_id=verification_id)
    return run.status if run else None
