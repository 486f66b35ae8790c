"""Small builders shared by tests: real objects made through the real services."""

from __future__ import annotations

import random
import time
from pathlib import Path

from governance.demo_data import ShardSpec, generate_shards
from governance.enums import VersionStatus
from governance.models import Dataset, DatasetVersion
from optout.enums import RequestStatus
from optout.models import RemovalRequest
from optout.services import request_submit, request_transition
from registry.services import exclusion_add, exclusion_remove


def make_dataset(folder: Path, *, name: str = "demo", spec: ShardSpec | None = None) -> Dataset:
    source = folder / "source"
    generate_shards(source, spec or ShardSpec(shards=3, rows_per_shard=200, owners=20))
    return Dataset.objects.create(name=name, source_uri=str(source), output_uri=str(folder / "out"))


def make_request(lines: list[str], *, email: str = "owner@example.org") -> RemovalRequest:
    result = request_submit(lines=lines, contact_email=email, reason="test")
    assert result.request is not None, result.errors
    return result.request


def approve(request: RemovalRequest) -> RemovalRequest:
    request_transition(request_id=request.id, to_status=RequestStatus.VERIFIED, actor_label="test")
    return request_transition(
        request_id=request.id, to_status=RequestStatus.APPROVED, actor_label="test"
    )


def wait_for_version(version: DatasetVersion, timeout: float = 60) -> DatasetVersion:
    """Wait for a worker to finish building ``version`` (a bound, not a timing assertion)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        version.refresh_from_db()
        if version.status != VersionStatus.BUILDING:
            return version
        time.sleep(0.2)
    raise AssertionError(f"{version.label} still building after {timeout}s")


def toggle_exclusion(
    rng: random.Random, subjects: list[tuple[str, str]], active: set[tuple[str, str]]
) -> None:
    """Add one of ``subjects`` (kind, subject) at random, or remove it if ``active`` has it."""
    kind, subject = rng.choice(subjects)
    if (kind, subject) in active:
        exclusion_remove(kind=kind, subject=subject, cause="test", reason="back")
        active.discard((kind, subject))
    else:
        exclusion_add(kind=kind, subject=subject, cause="test")
        active.add((kind, subject))


def open_status_page(client, request: RemovalRequest) -> str:
    """Open ``request`` in ``client`` as the owner's browser does with the private link (the
    token from the fragment posted once, for the cookie); the page's bare address."""
    from optout.links import status_page_path, status_token_for

    path = status_page_path(request.public_id)
    response = client.post(path, {"token": status_token_for(request.public_id)})
    assert (response.status_code, response["Location"]) == (303, path)
    return path
