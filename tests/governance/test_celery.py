"""The Celery app is wired for reliability."""

from django.conf import settings

from governance.celery import app


def test_tasks_are_acknowledged_late_and_requeued_when_a_worker_dies() -> None:
    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True


def test_each_worker_process_reserves_one_task_at_a_time() -> None:
    assert app.conf.worker_prefetch_multiplier == 1


def test_redis_visibility_timeout_is_above_the_hard_time_limit_everywhere() -> None:
    hard = app.conf.task_time_limit
    assert hard == settings.CELERY_TASK_TIME_LIMIT
    assert app.conf.task_soft_time_limit < hard
    assert app.conf.broker_transport_options["visibility_timeout"] > hard
    assert (
        app.conf.result_backend_transport_options["visibility_timeout"]
        == app.conf.broker_transport_options["visibility_timeout"]
    )


def test_tasks_of_every_app_are_registered() -> None:
    app.loader.import_default_modules()
    assert {"governance.tasks.release_build_task", "optout.tasks.notify_event"} <= set(app.tasks)


def test_every_periodic_job_names_a_registered_task() -> None:
    app.loader.import_default_modules()
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert scheduled == {
        "optout.tasks.notify_sweep",
        "optout.tasks.expire_unverified",
        "optout.tasks.verification_sweep",
        "registry.tasks.checkpoint_publish",
        "registry.mirror_tasks.mirror_catch_up",
        "governance.tasks.release_scheduled_task",
        "governance.tasks.release_reconcile_task",
    }
    assert scheduled <= set(app.tasks)
