"""A release on an S3-compatible object store: moto's server on loopback, through s3fs.

No client is patched: s3fs talks HTTP to a real S3 implementation listening on
127.0.0.1, exactly as workers on several machines would share a bucket.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import requests
import s3fs
from moto.server import ThreadedMotoServer

from governance.demo_data import ShardSpec, generate_shards
from governance.enums import ShardAction, VersionStatus
from governance.models import Dataset, ShardBuild
from governance.releases import release_start
from governance.releases.verify import version_verify
from tests.factories import approve, make_request

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def s3(monkeypatch) -> Iterator[s3fs.S3FileSystem]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    # moto's backends live as long as the process: start from an empty store.
    requests.post(f"http://{host}:{port}/moto-api/reset", timeout=30).raise_for_status()
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://{host}:{port}")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    s3fs.S3FileSystem.clear_instance_cache()
    fs = s3fs.S3FileSystem()
    fs.makedirs("datasets", exist_ok=True)
    try:
        yield fs
    finally:
        s3fs.S3FileSystem.clear_instance_cache()
        server.stop()


def _dataset_on_s3(s3, tmp_path, name: str, shards: int) -> tuple[Dataset, Path]:
    """A dataset whose source shards were uploaded to ``s3://datasets/<name>-source``."""
    local = tmp_path / "source"
    generate_shards(local, ShardSpec(shards=shards, rows_per_shard=200, owners=20))
    s3.put(str(local) + "/", f"datasets/{name}-source/", recursive=True)
    dataset = Dataset.objects.create(
        name=name, source_uri=f"s3://datasets/{name}-source", output_uri="s3://datasets/out"
    )
    return dataset, local


def test_a_release_reads_and_publishes_on_an_object_store(s3, tmp_path) -> None:
    dataset, local = _dataset_on_s3(s3, tmp_path, "demo", shards=3)
    first = release_start(dataset_id=dataset.id)
    first.refresh_from_db()
    assert first.status == VersionStatus.PUBLISHED, first.error

    repo = pq.read_table(local).column("repo_name")[0].as_py()
    approve(make_request([repo]))
    second = release_start(dataset_id=dataset.id)
    second.refresh_from_db()
    assert second.status == VersionStatus.PUBLISHED, second.error

    s3.invalidate_cache()
    folder = "datasets/out/demo/1.0.1"
    assert sorted(p.rsplit("/", 1)[-1] for p in s3.ls(folder)) == [
        "CHANGELOG.md",
        "README.md",
        "_COMMITTED",
        "changelog.json",
        "changelog.parquet",
        "data",
        "manifest.json",
        "repositories.parquet",
    ]
    manifest = json.loads(s3.cat(f"{folder}/manifest.json"))
    assert s3.cat(f"{folder}/_COMMITTED").decode() == second.manifest_sha256
    assert (
        sum(f["rows"] for f in manifest["files"])
        == second.rows_out
        == 600 - pq.read_table(local).column("repo_name").to_pylist().count(repo)
    )
    actions = list(ShardBuild.objects.filter(version=second).values_list("action", flat=True))
    assert sorted(actions) == [ShardAction.REUSE, ShardAction.REUSE, ShardAction.REWRITE]
    assert not s3.exists("datasets/out/demo/.staging/1.0.1")
    assert version_verify(version=second).ok
