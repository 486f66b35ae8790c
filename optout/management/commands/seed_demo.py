"""Seed the embedded demo: a maintainer, the signing key, the demo dataset, requests.

Idempotent: each piece is created only when missing, so a second ``make run`` is fast
and keeps whatever was changed on the site since. It lives in optout, the top of the
dependency graph, because it drives all three apps (governance may not import optout).
"""

from __future__ import annotations

import hashlib
import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.test import override_settings

from governance.demo_data import ShardSpec, generate_shards
from governance.enums import VersionStatus
from governance.models import Dataset, DatasetVersion
from governance.releases import release_start
from optout.enums import RequestStatus, VerificationMethod
from optout.models import RemovalRequest
from optout.proofs import Proof
from optout.services import request_submit, request_transition
from optout.verification import request_verify
from registry.enums import ExclusionKind
from registry.identifiers import Identifier
from registry.signing import load_signing_key

DEMO_USERNAME = "maintainer"
DEMO_MARKERS_EVERY = 50
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


class RecordedDemoProof:
    """Evidence for the demo's verified requests, as the file method or the namespace
    proof records it, without fetching from a forge (the demo has none to fetch from).

    It goes through the real verification service, so the run, the attempt, the subject's
    proof and the transition to verified are what a real check writes; the message and
    the evidence say it was recorded for the demo.
    """

    def __init__(self, kind: str) -> None:
        self.method = (
            VerificationMethod.NAMESPACE_REPOSITORY
            if kind == ExclusionKind.NAMESPACE
            else VerificationMethod.REPOSITORY_FILE
        )

    def applies_to(self, identifier: Identifier) -> bool:
        return True

    def check(self, *, identifier: Identifier, token: str, memo: dict) -> Proof:
        commit = hashlib.sha1(identifier.canonical.encode()).hexdigest()  # noqa: S324 - a label
        if self.method == VerificationMethod.NAMESPACE_REPOSITORY:
            message = (
                f"Found the repository dataset-optout-{token} under {identifier.canonical} "
                "(demo data: recorded, not fetched)."
            )
            evidence = {"repository": f"{identifier.canonical}/dataset-optout-{token}"}
        else:
            message = (
                f"Found .dataset-optout with the token on the default branch (main, commit "
                f"{commit[:10]}) of {identifier.canonical} (demo data: recorded, not fetched)."
            )
            evidence = {"branch": "main", "commit": commit}
        return Proof(True, message, {**evidence, "demo": True})


class Command(BaseCommand):
    help = "Create the demo maintainer, dataset and requests (idempotent)."

    def handle(self, *args, **options) -> None:
        if not settings.DEBUG:
            raise CommandError("seed_demo is for the embedded development site (DEBUG=true).")
        load_signing_key()  # generates var/log-signing.key on first run
        # The demo's own e-mails (one per transition, one per applied request) would bury
        # the maintainer's login under pages of console output: they are kept in memory.
        with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
            dataset = self._dataset()
            self._requests()
            if not DatasetVersion.objects.filter(
                dataset=dataset, status=VersionStatus.PUBLISHED
            ).exists():
                version = release_start(dataset_id=dataset.id)
                version.refresh_from_db()
                self.stdout.write(f"Released {version.label}: {version.status}.")
        self._maintainer()  # last, so the login is the last thing printed before serving

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
            # Some repositories carry an opt-out marker at their root: the first release
            # turns each into a verified request (optout/dataset_markers.py).
            paths = generate_shards(source, ShardSpec(markers_every=DEMO_MARKERS_EVERY))
            self.stdout.write(f"Generated {len(paths)} demo shards in {source}.")
        dataset, _ = Dataset.objects.get_or_create(
            name="demo",
            defaults={
                "description": "A small generated dataset shaped like The Stack v2.",
                "source_uri": str(source),
                "license": "various permissive licenses (generated demo data)",
                "revision_column": "blob_id",  # the demo's rows carry no commit id
            },
        )
        return dataset

    def _requests(self) -> None:
        for contact, subjects, path in DEMO_REQUESTS:
            if RemovalRequest.objects.filter(contact_email=contact).exists():
                continue
            result = request_submit(lines=subjects, contact_email=contact, reason="demo request")
            for status in path:
                if status == RequestStatus.VERIFIED:
                    kind = result.request.subjects.first().kind
                    request_verify(request_id=result.request.id, methods=(RecordedDemoProof(kind),))
                    continue
                request_transition(
                    request_id=result.request.id,
                    to_status=status,
                    actor_label="demo seed",
                    reason="demo data",
                )
