"""Django-side steps of the reliability tests, run in processes of the stack under test.

``python -m tests.reliability.driver`` serves the stack (``... driver ACTION [JSON]`` runs
one step by hand): it sets Django up once, then
reads one JSON request a line (``{"action": ..., "args": {...}}``) and runs each in a
process forked for it, with connections of its own, as a fresh ``manage.py`` would be,
without paying Python's and Django's start-up on every step; it answers one JSON line.

The test process itself never touches the stack's database: everything it learns comes
from here or over HTTP, as it would for an operator.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from pathlib import Path
from typing import Any


def main(action: str, args: dict[str, Any]) -> Any:
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from governance.models import Dataset, DatasetVersion, ShardBuild
    from governance.releases import release_start
    from governance.releases.reconcile import releases_reconcile
    from optout.enums import RequestStatus
    from optout.models import RemovalRequest, RequestEvent
    from optout.services import request_submit, request_transition
    from optout.tasks import notify_sweep
    from registry.models import Exclusion
    from registry.selectors import log_size

    if action == "ping":  # loads everything above, so that every fork starts warm
        return "pong"
    if action == "setup":
        call_command("migrate", verbosity=0)
        get_user_model().objects.create_superuser("maint", "maint@example.org", "pw-maint-1")
        return "ok"
    if action == "seed_requests":
        ids = []
        for i in range(args["count"]):
            result = request_submit(
                lines=[f"github.com/{args.get('prefix', 'owner')}-{i:04d}/tool"],
                contact_email=f"owner{i}@example.org",
            )
            request_transition(
                request_id=result.request.id, to_status=RequestStatus.VERIFIED, actor_label="t"
            )
            ids.append(result.request.id)
        return ids
    if action == "dataset":
        from governance.demo_data import ShardSpec, generate_shards

        source = Path(args["folder"]) / "source"
        generate_shards(source, ShardSpec(**args.get("spec", {})))
        uri = str(source)
        if "upload_to" in args:  # the source on an object store, as every host reads it
            import fsspec

            fs, path = fsspec.core.url_to_fs(args["upload_to"])
            fs.put(f"{source}/", f"{path}/", recursive=True)
            uri = args["upload_to"]
        dataset = Dataset.objects.create(name="demo", source_uri=uri)
        if "cadence_seconds" in args:
            from datetime import timedelta

            dataset.release_cadence = timedelta(seconds=args["cadence_seconds"])
            dataset.save(update_fields=["release_cadence"])
        return dataset.id
    if action == "twin":  # a second dataset reading the same source shards
        source = Dataset.objects.get(name="demo").source_uri
        return Dataset.objects.create(name=args["name"], source_uri=source).id
    if action == "release":
        dataset = Dataset.objects.get(name=args.get("dataset", "demo"))
        return release_start(dataset_id=dataset.id).id
    if action == "release_twice":
        # The build task delivered twice at once, as after a lost acknowledgement: it
        # queues the shard chord, and so the publish step, twice too.
        from governance.tasks import release_build_task

        version = release_start(dataset_id=Dataset.objects.get(name="demo").id)
        release_build_task.apply_async(kwargs={"version_id": version.id})
        return version.id
    if action == "verify":
        from governance.releases.verify import version_verify

        version = DatasetVersion.objects.select_related("dataset").get(id=args["id"])
        report = version_verify(version=version)
        return {"ok": report.ok, "problems": report.as_dict().get("problems", [])}
    if action == "send":
        from celery import current_app

        for _ in range(args.get("times", 1)):
            current_app.send_task(args["task"], kwargs=args.get("kwargs", {}))
        return "sent"
    if action == "token":
        from registry.tokens import token_create

        return token_create(name=args.get("name", "mirror"), scopes=["registry:read"])[1]
    if action == "approve":
        for request_id in args["ids"]:
            request_transition(request_id=request_id, to_status=RequestStatus.APPROVED)
        return len(args["ids"])
    if action == "sweep":
        return notify_sweep(stale_seconds=args.get("stale_seconds", 120))
    if action == "reconcile":
        from datetime import timedelta

        report = releases_reconcile(stale_after=timedelta(seconds=args.get("stale", 0)))
        return {"resumed": report.resumed, "removed": report.removed}
    if action == "state":
        statuses: dict[str, int] = {}
        for status in RemovalRequest.objects.values_list("status", flat=True):
            statuses[status] = statuses.get(status, 0) + 1
        return {
            "requests": statuses,
            "exclusions_active": Exclusion.objects.filter(active=True).count(),
            "log_size": log_size(),
            "events_unnotified": RequestEvent.objects.filter(notified_at=None).count(),
            "events_total": RequestEvent.objects.count(),
            "versions": [
                {
                    "id": v.id,
                    "version": v.version,
                    "status": v.status,
                    "step": v.step,
                    "error": v.error,
                    "log_size": v.log_size,
                    "triggered_by": v.triggered_by,
                    "manifest_sha256": v.manifest_sha256,
                    "rows_done": sum(s.rows_done for s in ShardBuild.objects.filter(version=v)),
                    "rows_total": v.rows_total,
                }
                for v in DatasetVersion.objects.order_by("id")
            ],
        }
    raise SystemExit(f"unknown action {action!r}")


def serve() -> None:
    answers = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # whatever the steps print goes to the log, not into the answers
    main("ping", {})  # Django set up and the modules imported; no connection opened yet
    for line in sys.stdin:
        request = json.loads(line)
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read)
            try:
                answer = {"result": main(request["action"], request["args"])}
            except BaseException:
                answer = {"error": traceback.format_exc()}
            with os.fdopen(write, "w") as out:
                out.write(json.dumps(answer))
            sys.stderr.flush()
            os._exit(0)
        os.close(write)
        with os.fdopen(read) as reply:
            answer_line = reply.read()
        os.waitpid(pid, 0)
        answers.write((answer_line or json.dumps({"error": "the step's process died"})) + "\n")
        answers.flush()


if __name__ == "__main__":
    if len(sys.argv) > 1:  # one step, by hand: ``python -m tests.reliability.driver state``
        print(json.dumps(main(sys.argv[1], json.loads(sys.argv[2]) if len(sys.argv) > 2 else {})))
    else:
        serve()
