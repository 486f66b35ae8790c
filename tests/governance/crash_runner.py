"""A release in its own process, for the crash tests: ``python -m tests.governance.crash_runner
<workdir> <action>``. The process uses a SQLite file and storage under ``workdir``, and
runs tasks in-process, so ``RELEASE_CRASH_AT`` can kill it at a named step.

Actions: ``prepare`` (database, dataset, version 1.0.0, then a new exclusion),
``release`` (start the next release), ``recover`` (run the reconciler as after a restart,
then print a JSON report of the database and storage).
"""

from __future__ import annotations

import json
import os
import sys
from datetime import timedelta
from pathlib import Path


def main(workdir: Path, action: str) -> None:
    import django

    django.setup()
    from django.core.management import call_command

    from governance.models import Dataset, DatasetVersion
    from governance.releases import release_start
    from governance.releases.reconcile import releases_reconcile
    from governance.releases.verify import version_verify
    from optout.models import RemovalRequest
    from tests.factories import approve, make_dataset, make_request

    if action == "prepare":
        call_command("migrate", verbosity=0)
        dataset = make_dataset(workdir)
        Dataset.objects.filter(id=dataset.id).update(output_uri="")
        approve(make_request(["github.com/owner-00002"], email="first@example.org"))
        release_start(dataset_id=dataset.id)
        approve(make_request(["github.com/owner-00000"], email="second@example.org"))
    elif action == "release":
        release_start(dataset_id=Dataset.objects.get().id)
    elif action == "recover":
        releases_reconcile(stale_after=timedelta(0))
        versions = {}
        for version in DatasetVersion.objects.order_by("version"):
            versions[version.version] = {
                "status": version.status,
                "manifest_sha256": version.manifest_sha256,
                "announced": version.announced_at is not None,
                "verified": version_verify(version=version).ok
                if version.status == "published"
                else None,
            }
        root = Path(os.environ["DATASET_STORAGE_ROOT"]) / "demo"
        print(
            json.dumps(
                {
                    "versions": versions,
                    "folders": sorted(
                        str(p.relative_to(root)) for p in root.rglob("*") if p.is_dir()
                    ),
                    "files": sorted(
                        str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()
                    ),
                    "requests": sorted(RemovalRequest.objects.values_list("status", flat=True)),
                }
            )
        )


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2])
