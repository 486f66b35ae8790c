"""Release tasks: thin wrappers that take ids and call the release services.

A release is ``release_build_task`` (plan) → a chord of one ``release_shard_task`` per
rewritten shard and one ``release_reuse_task`` linking all the reused ones →
``release_publish_task``. Every task is idempotent: a duplicate delivery, or a
re-run by the reconciler after a crash, finds the work done and returns.
"""

from __future__ import annotations

from datetime import timedelta

from celery import chord, shared_task
from django.conf import settings

from governance.enums import ShardAction, ShardStatus, VersionStatus
from governance.models import ShardBuild
from governance.releases.errors import version_fail_killed
from governance.releases.plan import release_plan
from governance.releases.publish import release_publish
from governance.releases.reconcile import releases_reconcile
from governance.releases.schedule import releases_schedule
from governance.releases.shards import shard_build, shards_reuse
from governance.releases.verify import verification_run


def _planning_killed(*, version_id: int, deaths: int) -> None:
    version_fail_killed(version_id=version_id, step="Planning the release", deaths=deaths)


def _shard_killed(*, shard_id: int, deaths: int) -> None:
    shard = ShardBuild.objects.filter(id=shard_id).first()
    if shard is not None:
        step = f"Building shard {shard.name}"
        version_fail_killed(version_id=shard.version_id, step=step, deaths=deaths)


def _reuse_killed(*, version_id: int, deaths: int) -> None:
    step = "Linking the reused shards"
    version_fail_killed(version_id=version_id, step=step, deaths=deaths)


def _publish_killed(*, version_id: int, deaths: int) -> None:
    version_fail_killed(version_id=version_id, step="Publishing", deaths=deaths)


# ``poisoned``: what to record when a step kept killing its worker (governance.deliveries).
@shared_task(poisoned=staticmethod(_planning_killed))
def release_build_task(*, version_id: int) -> str | None:
    version = release_plan(version_id=version_id)
    if version is None or version.status != VersionStatus.BUILDING:
        return version.status if version else None
    pending = ShardBuild.objects.filter(version=version, status=ShardStatus.PENDING)
    rewrite = pending.filter(action=ShardAction.REWRITE).order_by("position")
    header = [release_shard_task.si(shard_id=i) for i in rewrite.values_list("id", flat=True)]
    if pending.filter(action=ShardAction.REUSE).exists():
        # One task links every reused shard, beside the rewrites rather than before them.
        header.append(release_reuse_task.si(version_id=version.id))
    publish = release_publish_task.si(version_id=version.id)
    if header:
        chord(header)(publish)
    else:
        publish.delay()
    return "queued"


@shared_task(poisoned=staticmethod(_shard_killed))
def release_shard_task(*, shard_id: int) -> str | None:
    shard = shard_build(shard_id=shard_id)
    return shard.status if shard else None


@shared_task(poisoned=staticmethod(_reuse_killed))
def release_reuse_task(*, version_id: int) -> int:
    return shards_reuse(version_id=version_id)


@shared_task(poisoned=staticmethod(_publish_killed))
def release_publish_task(*, version_id: int) -> str | None:
    version = release_publish(version_id=version_id)
    return version.status if version else None


@shared_task
def release_scheduled_task() -> list[str]:
    return [version.label for version in releases_schedule()]


@shared_task
def release_reconcile_task(*, stale_seconds: int | None = None) -> dict[str, list[str]]:
    stale = settings.RELEASE_STALE_SECONDS if stale_seconds is None else stale_seconds
    report = releases_reconcile(stale_after=timedelta(seconds=stale))
    return {"resumed": report.resumed, "announced": report.announced, "removed": report.removed}


@shared_task
def version_verify_task(*, verification_id: int) -> str | None:
    run = verification_run(verification_id=verification_id)
    return run.status if run else None
