"""Releases on the embedded default (tasks in-process)."""

import json
import os

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from governance.enums import ShardAction, VersionStatus
from governance.models import ShardBuild
from governance.releases import release_start, version_folder
from governance.releases.layout import dataset_store, index_path
from optout.enums import RequestStatus
from registry.services import exclusion_remove
from tests.factories import approve, make_dataset, make_request

pytestmark = pytest.mark.django_db(transaction=True)


def _shard_of_repo(source_folder, repo: str) -> str:
    for path in sorted(os.listdir(source_folder)):
        names = pq.read_table(f"{source_folder}/{path}", columns=["repo_name"]).column(0)
        if repo in set(names.to_pylist()):
            return path
    raise AssertionError(repo)


def test_a_release_drops_an_excluded_namespace_and_keeps_everything_else(tmp_path) -> None:
    dataset = make_dataset(tmp_path)
    source = pq.read_table(dataset.source_uri)
    owner = source.column("repo_name")[0].as_py().split("/")[0]
    request = approve(make_request([f"github.com/{owner}"]))

    version = release_start(dataset_id=dataset.id)
    version.refresh_from_db()

    assert version.status == VersionStatus.PUBLISHED
    written = pq.read_table(version_folder(version) / "data")
    owners = pc.list_element(pc.split_pattern(written.column("repo_name"), "/"), 0)
    assert owner not in set(owners.to_pylist())
    source_owners = pc.list_element(pc.split_pattern(source.column("repo_name"), "/"), 0)
    kept = source.filter(pc.not_equal(source_owners, owner))
    assert written.num_rows == kept.num_rows > 0
    manifest = json.loads((version_folder(version) / "manifest.json").read_text())
    assert manifest["checkpoint"]["size"] == version.log_size == 1
    assert sum(f["rows"] for f in manifest["files"]) == kept.num_rows
    request.refresh_from_db()
    assert request.status == RequestStatus.APPLIED


def test_versions_count_up_by_patch_number(tmp_path) -> None:
    dataset = make_dataset(tmp_path)
    first = release_start(dataset_id=dataset.id)
    second = release_start(dataset_id=dataset.id)
    assert (first.version, second.version) == ("1.0.0", "1.0.1")


def test_a_new_source_snapshot_bumps_the_minor_number(tmp_path) -> None:
    dataset = make_dataset(tmp_path)
    release_start(dataset_id=dataset.id)
    shard = sorted(os.listdir(dataset.source_uri))[0]
    table = pq.read_table(f"{dataset.source_uri}/{shard}")
    pq.write_table(table.slice(1), f"{dataset.source_uri}/{shard}")
    second = release_start(dataset_id=dataset.id)
    second.refresh_from_db()
    assert (second.version, second.status) == ("1.1.0", VersionStatus.PUBLISHED)
    assert second.rows_in == 3 * 200 - 1


def test_a_dataset_without_shards_fails_with_a_clear_error(tmp_path) -> None:
    dataset = make_dataset(tmp_path)
    dataset.source_uri = str(tmp_path / "empty")
    dataset.save()
    version = release_start(dataset_id=dataset.id)
    version.refresh_from_db()
    assert version.status == VersionStatus.FAILED
    assert "holds no Parquet shards" in version.error


def test_a_shard_without_the_repository_column_fails_naming_the_column(tmp_path) -> None:
    dataset = make_dataset(tmp_path)
    dataset.repo_column = "repository"
    dataset.save()
    version = release_start(dataset_id=dataset.id)
    version.refresh_from_db()
    assert version.status == VersionStatus.FAILED
    assert "has no column 'repository'" in version.error
    assert not (version_folder(version)).exists()


def test_only_the_shard_holding_a_new_exclusion_is_rewritten(tmp_path) -> None:
    dataset = make_dataset(tmp_path)
    first = release_start(dataset_id=dataset.id)
    repo = pq.read_table(dataset.source_uri).column("repo_name")[300].as_py()
    touched = _shard_of_repo(dataset.source_uri, repo)
    approve(make_request([repo]))

    second = release_start(dataset_id=dataset.id)
    second.refresh_from_db()

    actions = dict(ShardBuild.objects.filter(version=second).values_list("name", "action"))
    assert actions == {
        name: ShardAction.REWRITE if name == touched else ShardAction.REUSE
        for name in sorted(os.listdir(dataset.source_uri))
    }
    assert (second.shards_total, second.shards_done, second.shards_reused) == (3, 3, 2)
    for name, action in actions.items():
        old = (version_folder(first) / "data" / name).stat()
        new = (version_folder(second) / "data" / name).stat()
        assert (old.st_ino == new.st_ino) == (action == ShardAction.REUSE)  # hard link


def test_a_rewritten_shard_keeps_the_repository_index_of_its_source(tmp_path) -> None:
    dataset = make_dataset(tmp_path)
    release_start(dataset_id=dataset.id)
    repo = pq.read_table(dataset.source_uri).column("repo_name")[300].as_py()
    touched = _shard_of_repo(dataset.source_uri, repo)
    build = ShardBuild.objects.get(name=touched)
    index = index_path(dataset_store(dataset), build.source_fingerprint)
    before = os.stat(index)
    approve(make_request([repo]))

    second = release_start(dataset_id=dataset.id)

    rewritten = ShardBuild.objects.get(version=second, name=touched)
    assert rewritten.action == ShardAction.REWRITE
    assert rewritten.source_fingerprint == build.source_fingerprint
    assert (os.stat(index).st_ino, os.stat(index).st_mtime_ns) == (
        before.st_ino,
        before.st_mtime_ns,
    )
    names = pq.read_table(f"{dataset.source_uri}/{touched}").column("repo_name").to_pylist()
    indexed = pq.read_table(index).column("repository").to_pylist()
    assert set(indexed) == {f"github.com/{name.lower()}" for name in names}


def test_same_source_and_checkpoint_give_byte_identical_files(tmp_path) -> None:
    first_dataset = make_dataset(tmp_path / "a", name="first")
    second_dataset = make_dataset(tmp_path / "b", name="second")
    second_dataset.source_uri = first_dataset.source_uri
    second_dataset.save()
    owner = pq.read_table(first_dataset.source_uri).column("repo_name")[5].as_py().split("/")[0]
    approve(make_request([f"github.com/{owner}"]))

    one = release_start(dataset_id=first_dataset.id)
    two = release_start(dataset_id=second_dataset.id)
    one_manifest = json.loads((version_folder(one) / "manifest.json").read_text())
    two_manifest = json.loads((version_folder(two) / "manifest.json").read_text())
    assert one_manifest["files"] == two_manifest["files"]
    for entry in one_manifest["files"]:
        assert (version_folder(one) / entry["path"]).read_bytes() == (
            version_folder(two) / entry["path"]
        ).read_bytes()


def test_the_changelog_counts_removed_and_reincluded_rows_by_exclusion(tmp_path) -> None:
    dataset = make_dataset(tmp_path)
    source = pq.read_table(dataset.source_uri)
    repo = source.column("repo_name")[0].as_py()
    rows = pc.sum(pc.equal(source.column("repo_name"), repo)).as_py()
    approve(make_request([repo]))
    first = release_start(dataset_id=dataset.id)
    exclusion_remove(kind="repository", subject=f"github.com/{repo}", cause="test", reason="t")
    second = release_start(dataset_id=dataset.id)

    first_log = json.loads((version_folder(first) / "changelog.json").read_text())
    second_log = json.loads((version_folder(second) / "changelog.json").read_text())
    entry = {"exclusion": f"github.com/{repo}", "kind": "repository", "repositories": 1}
    assert first_log["removed"] == [{**entry, "rows": rows}]
    assert first_log["reincluded"] == []
    assert second_log["removed"] == []
    assert second_log["reincluded"] == [{**entry, "rows": rows}]
    markdown = (version_folder(second) / "CHANGELOG.md").read_text()
    assert f"| `github.com/{repo}` | repository | 1 | {rows} |" in markdown
    second_rows = pq.read_table(version_folder(second) / "data").num_rows
    assert second_rows == source.num_rows


def test_the_manifest_lists_every_file_with_its_hash_and_the_signed_checkpoint(tmp_path) -> None:
    import hashlib

    from registry.checkpoints import checkpoint_at

    dataset = make_dataset(tmp_path)
    approve(make_request(["github.com/owner-00001"]))
    version = release_start(dataset_id=dataset.id)
    version.refresh_from_db()
    folder = version_folder(version)
    raw = (folder / "manifest.json").read_bytes()
    manifest = json.loads(raw)
    assert hashlib.sha256(raw).hexdigest() == version.manifest_sha256
    assert (folder / "_COMMITTED").read_text() == version.manifest_sha256
    checkpoint = checkpoint_at(1)
    assert manifest["checkpoint"] == {
        "size": 1,
        "root_hash": checkpoint.root_hash_b64,
        "note": checkpoint.note,
    }
    listed = [f["path"] for f in manifest["files"]] + [
        f["path"] for f in manifest["metadata_files"]
    ]
    on_disk = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    assert sorted([*listed, "manifest.json", "_COMMITTED"]) == on_disk
    for entry in manifest["files"]:
        data = (folder / entry["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"]
        assert len(data) == entry["bytes"]
        assert pq.ParquetFile(folder / entry["path"]).metadata.num_rows == entry["rows"]
        assert (folder / entry["path"]).stat().st_mode & 0o777 == 0o444  # never modified
    assert [f["name"] for f in manifest["schema"]["fields"]][:2] == ["blob_id", "repo_name"]


def test_the_dataset_card_declares_the_parquet_files_for_loaders(tmp_path) -> None:
    dataset = make_dataset(tmp_path)
    version = release_start(dataset_id=dataset.id)
    import glob

    import yaml

    folder = version_folder(version)
    card = (folder / "README.md").read_text()
    header = yaml.safe_load(card.split("---\n")[1])
    assert header["configs"] == [
        {"config_name": "default", "data_files": [{"split": "train", "path": "data/*.parquet"}]}
    ]
    assert header["license"] == "other"
    # The pattern a loader expands finds exactly the data files of the manifest.
    manifest = json.loads((folder / "manifest.json").read_text())
    found = sorted(
        os.path.relpath(p, folder)
        for p in glob.glob(str(folder / header["configs"][0]["data_files"][0]["path"]))
    )
    assert found == [f["path"] for f in manifest["files"]]


def test_changing_the_implied_host_rewrites_every_shard(tmp_path) -> None:
    dataset = make_dataset(tmp_path)
    owner = pq.read_table(dataset.source_uri).column("repo_name")[0].as_py().split("/")[0]
    approve(make_request([f"gitlab.com/{owner}"]))
    first = release_start(dataset_id=dataset.id)
    dataset.implied_host = "gitlab.com"
    dataset.save()
    second = release_start(dataset_id=dataset.id)
    second.refresh_from_db()
    actions = set(ShardBuild.objects.filter(version=second).values_list("action", flat=True))
    assert actions == {ShardAction.REWRITE}
    first.refresh_from_db()
    source_rows = pq.read_table(dataset.source_uri).column("repo_name").to_pylist()
    owned = sum(1 for name in source_rows if name.split("/")[0] == owner)
    assert (first.rows_out, second.rows_out) == (600, 600 - owned)
