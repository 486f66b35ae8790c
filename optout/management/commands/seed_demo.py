"""Seed the embedded demo: a maintainer, the signing key, the demo dataset, requests.

Idempotent: each piece is created only when missing, so a second ``make run`` is fast
and keeps whatever was changed on the site since. It lives in optout, the top of the
dependency graph, because it drives all three apps (governance may not import optout).
"""

from __future__ import annotations

import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from governance.demo_data import generate_shards
from governance.enums import VersionStatus
from governance.models import Dataset, DatasetVersion
from governance.releases import release_start
from optout.enums import RequestStatus
from optout.models import RemovalRequest
from optout.services import request_submit, request_transition
from registry.signing import load_signing_key

DEMO_USERNAME = "maintainer"
DEMO_REQUESTS = [
    # (contact, subjects, path through the lifecycle)
    (
        "alice@example.org",
        ["owner-00000/repo-000004"],
        [RequestStatus.VERIFIED, RequestStatus.APPROVED],
    ),
    ("bob@example.org", ["github.com/owner-00007"], [RequestStatus.VERIFIED]),
    ("carol@example.org", ["owner-00015/repo-000010"], []),
    ("dave@example.org", ["owner-00055/repo-000020"], [RequestStatus.REJECTED]),
    ("erin@example.org", ["owner-00006/repo-000030"], [RequestStatus.WITHDRAWN]),
]


class Command(BaseCommand):
    help = "Create the demo maintainer, dataset and requests (idempotent)."

    def handle(self, *args, **options) -> None:
        if not settings.DEBUG:
            raise CommandError("seed_demo is for the embedded development site (DEBUG=true).")
        load_signing_key()  # generates var/log-signing.key on first run
        self._maintainer()
        dataset = self._dataset()
        self._requests()
        if not DatasetVersion.objects.filter(
            dataset=dataset, status=VersionStatus.PUBLISHED
        ).exists():
            version = release_start(dataset_id=dataset.id)
            version.refresh_from_db()
            self.stdout.write(f"Released {version.label}: {version.status}.")

    def _maintainer(self) -> None:
        credentials = Path(settings.VAR_DIR) / "demo-maintainer.txt"
        User = get_user_model()
        if not User.objects.filter(username=DEMO_USERNAME).exists():
            password = secrets.token_urlsafe(12)
            User.objects.create_superuser(DEMO_USERNAME, "maintainer@example.org", password)
            credentials.write_text(f"{DEMO_USERNAME}\n{password}\n")
            credentials.chmod(0o600)
        if credentials.exists():
            username, password = credentials.read_text().split()[:2]
            self.stdout.write(
                self.style.SUCCESS(f"Maintainer login for /admin/: {username} / {password}")
            )

    def _dataset(self) -> Dataset:
        source = Path(settings.VAR_DIR) / "demo-source"
        if not any(source.glob("*.parquet")):
            paths = generate_shards(source)
            self.stdout.write(f"Generated {len(paths)} demo shards in {source}.")
        dataset, _ = Dataset.objects.get_or_create(
            name="demo",
            defaults={
                "description": "A small generated dataset shaped like The Stack v2.",
                "source_uri": str(source),
                "license": "various permissive licenses (generated demo data)",
            },
        )
        return dataset

    def _requests(self) -> None:
        for contact, subjects, path in DEMO_REQUESTS:
            if RemovalRequest.objects.filter(contact_email=contact).exists():
                continue
            result = request_submit(lines=subjects, contact_email=contact, reason="demo request")
            for status in path:
                request_transition(
                    request_id=result.request.id,
                    to_status=status,
                    actor_label="demo seed",
                    reason="demo data",
                )
