"""Opt-out markers inside the dataset become requests, and then exclusions."""

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from django.test import override_settings

from governance.demo_data import ShardSpec
from governance.enums import VersionStatus
from governance.releases import release_start, version_folder
from governance.releases.marker_grammar import MARKER_FILES
from governance.releases.publish import version_announce
from optout.dataset_markers import marker_requests_open
from optout.enums import RequestStatus, VerificationMethod
from optout.models import MarkerRequest, RemovalRequest, VerificationAttempt
from optout.services import request_transition
from tests.factories import approve, make_dataset, make_request, open_status_page

pytestmark = pytest.mark.django_db(transaction=True)

SPEC = ShardSpec(shards=3, rows_per_shard=200, owners=20, markers_every=6)


def _marked_rows(dataset) -> dict[str, dict]:
    """Source rows holding a marker, by canonical repository (read apart from the scan)."""
    table = pq.read_table(dataset.source_uri)
    marked = table.filter(pc.is_in(table.column("path"), pc.cast(list(MARKER_FILES), "string")))
    rows = {}
    for row in marked.to_pylist():
        rows[f"github.com/{row['repo_name'].lower()}"] = row
    return rows


def _dataset(tmp_path):
    dataset = make_dataset(tmp_path, spec=SPEC)
    dataset.revision_column = "blob_id"  # the demo's rows carry no commit; cite the blob
    dataset.save()
    return dataset


def _marker_requests() -> dict[str, RemovalRequest]:
    return {m.repository: m.request for m in MarkerRequest.objects.select_related("request")}


def test_markers_in_the_shards_become_verified_requests_with_their_evidence(tmp_path) -> None:
    dataset = _dataset(tmp_path)
    expected = _marked_rows(dataset)
    assert len(expected) >= 4
    assert {row["path"] for row in expected.values()} == set(MARKER_FILES)

    version = release_start(dataset_id=dataset.id)
    version.refresh_from_db()

    assert version.status == VersionStatus.PUBLISHED
    requests = _marker_requests()
    assert set(requests) == set(expected)
    for repository, request in requests.items():
        row = expected[repository]
        assert request.status == RequestStatus.VERIFIED
        assert request.contact_email == ""
        assert list(request.subjects.values_list("subject", "verified_by")) == [
            (repository, VerificationMethod.DATASET_MARKER)
        ]
        attempt = VerificationAttempt.objects.get(run__request=request)
        shard = version.markers.get(repository=repository).shard
        assert attempt.message.startswith(
            f"Opt-out marker found in dataset version demo 1.0.0, shard {shard}, "
            f"path {row['path']}, revision blob_id {row['blob_id']}: "
        )
        assert attempt.evidence["path"] == row["path"]
        assert attempt.evidence["revision"] == row["blob_id"]
        assert attempt.succeeded


def test_a_second_announcement_and_later_releases_open_no_duplicates(tmp_path) -> None:
    dataset = _dataset(tmp_path)
    first = release_start(dataset_id=dataset.id)
    opened = set(_marker_requests().values())

    version_announce(first)
    assert marker_requests_open(dataset="demo", version=first.version) == 0
    # A new source snapshot rewrites every shard, so every marker is found again.
    for shard in (tmp_path / "source").iterdir():
        pq.write_table(pq.read_table(shard), shard)
    second = release_start(dataset_id=dataset.id)
    second.refresh_from_db()

    assert (second.version, second.shards_reused) == ("1.1.0", 0)
    assert second.markers.count() == first.markers.count() > 0
    assert set(_marker_requests().values()) == opened
    assert RemovalRequest.objects.count() == len(opened)


def test_an_approved_marker_request_leaves_the_next_version(tmp_path) -> None:
    dataset = _dataset(tmp_path)
    release_start(dataset_id=dataset.id)
    repository, request = sorted(_marker_requests().items())[0]
    request_transition(request_id=request.id, to_status=RequestStatus.APPROVED, actor_label="t")

    version = release_start(dataset_id=dataset.id)
    version.refresh_from_db()

    names = pq.read_table(version_folder(version) / "data", columns=["repo_name"]).column(0)
    assert f"github.com/{repository.split('/', 1)[1]}" not in {
        f"github.com/{n.lower()}" for n in names.to_pylist()
    }
    assert repository.split("/", 1)[1] not in {n.lower() for n in names.to_pylist()}
    assert version.rows_out < version.rows_in
    request.refresh_from_db()
    assert request.status == RequestStatus.APPLIED


def test_a_repository_already_excluded_or_requested_gets_no_marker_request(tmp_path) -> None:
    dataset = _dataset(tmp_path)
    marked = sorted(_marked_rows(dataset))
    excluded, namespace = marked[0], marked[-1].rsplit("/", 1)[0]
    approve(make_request([excluded]))
    open_request = make_request([namespace])  # an owner's request, still unproven
    others = {r for r in marked if r != excluded and not r.startswith(f"{namespace}/")}
    assert others and len(others) < len(marked) - 1

    release_start(dataset_id=dataset.id)

    assert set(_marker_requests()) == others
    assert RemovalRequest.objects.count() == 2 + len(others)
    open_request.refresh_from_db()
    assert open_request.status == RequestStatus.PENDING_VERIFICATION


def test_a_rejected_marker_request_is_not_opened_again(tmp_path) -> None:
    dataset = _dataset(tmp_path)
    release_start(dataset_id=dataset.id)
    repository, request = sorted(_marker_requests().items())[0]
    request_transition(
        request_id=request.id, to_status=RequestStatus.REJECTED, actor_label="t", reason="fork"
    )
    shard = sorted((tmp_path / "source").iterdir())[0]
    pq.write_table(pq.read_table(shard), shard)

    release_start(dataset_id=dataset.id)

    assert MarkerRequest.objects.filter(repository=repository).count() == 1
    assert not RemovalRequest.objects.filter(
        subjects__subject=repository, status=RequestStatus.VERIFIED
    ).exists()


@override_settings(OPTOUT_AUTO_APPROVE=True)
def test_marker_requests_are_approved_at_once_under_auto_approve(tmp_path) -> None:
    dataset = _dataset(tmp_path)
    release_start(dataset_id=dataset.id)
    statuses = {request.status for request in _marker_requests().values()}
    assert statuses == {RequestStatus.APPROVED}


def test_a_dataset_without_marker_columns_is_not_scanned(tmp_path) -> None:
    dataset = _dataset(tmp_path)
    dataset.path_column = ""
    dataset.save()
    version = release_start(dataset_id=dataset.id)
    version.refresh_from_db()
    assert version.status == VersionStatus.PUBLISHED
    assert not version.markers.exists()
    assert not MarkerRequest.objects.exists()


def test_the_owner_and_the_reviewers_read_the_marker_evidence(tmp_path, client, admin_client):
    dataset = _dataset(tmp_path)
    release_start(dataset_id=dataset.id)
    repository, request = sorted(_marker_requests().items())[0]
    row = _marked_rows(dataset)[repository]
    sentence = "Opt-out marker found in dataset version demo 1.0.0"

    status = client.get(open_status_page(client, request))
    admin = admin_client.get(f"/admin/optout/removalrequest/{request.id}/change/")

    for page in (status, admin):
        assert page.status_code == 200
        text = page.content.decode()
        assert sentence in text
        assert row["blob_id"] in text
        assert row["path"] in text
    assert "The portal opened this request itself" in status.content.decode()
    assert "Control is proven by the opt-out marker found in the dataset." in (
        status.content.decode()
    )
    assert list(request.events.values_list("actor_label", flat=True)) == ["system", "system"]
