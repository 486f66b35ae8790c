"""The release, verify_version and reconcile_releases commands."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.core.management import CommandError, call_command

from governance.enums import VersionStatus
from governance.models import DatasetVersion
from governance.releases import release_start, version_folder
from tests.factories import approve, make_dataset, make_request

pytestmark = pytest.mark.django_db(transaction=True)


def test_release_publishes_and_reports_progress(tmp_path, capsys) -> None:
    make_dataset(tmp_path)
    call_command("release", "demo", "--interval", "0.05")
    out = capsys.readouterr().out
    version = DatasetVersion.objects.get()
    assert version.status == VersionStatus.PUBLISHED
    assert "demo 1.0.0 [" + "#" * 30 + "] shards 3/3 (0 reused), rows 600/600, done" in out
    assert f"manifest sha256 {version.manifest_sha256}" in out


def test_release_of_an_unknown_dataset_names_the_known_ones(tmp_path) -> None:
    make_dataset(tmp_path)
    with pytest.raises(CommandError, match=r"No dataset named 'nope'\. Datasets: demo\."):
        call_command("release", "nope")


def test_verify_version_passes_on_a_published_version(tmp_path, capsys) -> None:
    dataset = make_dataset(tmp_path)
    approve(make_request(["github.com/owner-00001"]))
    release_start(dataset_id=dataset.id)
    call_command("verify_version", "demo", "1.0.0")
    names = pq.read_table(dataset.source_uri).column("repo_name").to_pylist()
    kept = sum(1 for name in names if not name.startswith("owner-00001/"))
    manifest = DatasetVersion.objects.get(dataset=dataset).manifest
    files = len(manifest["files"]) + len(manifest["metadata_files"])  # every file it lists
    assert kept < 600
    assert files > 3
    assert capsys.readouterr().out == (
        f"demo 1.0.0 verified: {files} files re-hashed, {kept} rows checked, "
        "no excluded repository.\n"
    )


def test_verify_version_fails_listing_an_excluded_row_that_remains(tmp_path, capsys) -> None:
    dataset = make_dataset(tmp_path)
    version = release_start(dataset_id=dataset.id)
    first_repo = pq.read_table(dataset.source_uri).column("repo_name")[0].as_py()
    # Exclude a repository after the fact: still in 1.0.0, but not excluded at its
    # checkpoint, so it must pass; then tamper with a file, which must fail.
    approve(make_request([first_repo]))
    call_command("verify_version", "demo", "1.0.0")
    shard = sorted((version_folder(version) / "data").iterdir())[0]
    table = pq.read_table(shard)
    pq.write_table(table.slice(1), shard)
    with pytest.raises(CommandError, match=r"failed verification: 2 problems, 0 excluded rows"):
        call_command("verify_version", "demo", "1.0.0")
    assert f"problem: data/{shard.name} has" in capsys.readouterr().err


def test_verify_version_lists_offending_rows(tmp_path, capsys) -> None:
    dataset = make_dataset(tmp_path)
    repo = pq.read_table(dataset.source_uri).column("repo_name")[0].as_py()
    approve(make_request([repo]))
    version = release_start(dataset_id=dataset.id)
    version.refresh_from_db()
    # Forge a version whose data still holds the excluded repository; its hashes are
    # made to match so that only the exclusion check can catch it.
    import hashlib
    import json

    folder = version_folder(version)
    shard = sorted((folder / "data").iterdir())[0]
    table = pq.read_table(shard)
    row = table.slice(0, 1).to_pylist()[0] | {"repo_name": repo}
    pq.write_table(pa.concat_tables([pa.Table.from_pylist([row], table.schema), table]), shard)
    manifest = json.loads((folder / "manifest.json").read_text())
    for entry in manifest["files"]:
        if entry["path"] == f"data/{shard.name}":
            data = shard.read_bytes()
            entry.update(sha256=hashlib.sha256(data).hexdigest(), bytes=len(data))
            entry["rows"] += 1
    raw = json.dumps(manifest, indent=2, sort_keys=True).encode() + b"\n"
    (folder / "manifest.json").write_bytes(raw)
    (folder / "_COMMITTED").write_text(hashlib.sha256(raw).hexdigest())
    DatasetVersion.objects.filter(id=version.id).update(
        manifest_sha256=hashlib.sha256(raw).hexdigest()
    )
    with pytest.raises(CommandError, match="0 problems, 1 excluded rows"):
        call_command("verify_version", "demo", "1.0.0")
    err = capsys.readouterr().err
    assert (
        f"excluded row: data/{shard.name} row 0 repository github.com/{repo} "
        f"(excluded by github.com/{repo})"
    ) in err


def test_verify_version_of_an_unknown_version_says_how_to_list_them(tmp_path) -> None:
    make_dataset(tmp_path)
    with pytest.raises(CommandError, match="/api/v1/datasets/demo/versions/"):
        call_command("verify_version", "demo", "9.9.9")


def test_reconcile_removes_a_failed_versions_leftovers(tmp_path, capsys) -> None:
    dataset = make_dataset(tmp_path)
    dataset.repo_column = "missing"
    dataset.save()
    release_start(dataset_id=dataset.id)
    staging = tmp_path / "out" / "demo" / ".staging" / "1.0.0"
    staging.mkdir(parents=True, exist_ok=True)
    call_command("reconcile_releases", "--stale-minutes", "0")
    assert not staging.exists()
    assert "0 resumed, 0 announced, 1 leftovers removed." in capsys.readouterr().out
