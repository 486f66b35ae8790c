"""A version on an object store: its files are downloaded through signed URLs, and the
lookup reads its repository list there too."""

from __future__ import annotations

import hashlib
import urllib.request

import pyarrow.parquet as pq
import pytest

from governance.lookup import repository_presence
from governance.releases import release_start
from tests.governance.test_object_store import _dataset_on_s3, s3  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_file_on_an_object_store_is_a_redirect_to_a_signed_url(client, s3, tmp_path) -> None:  # noqa: F811
    dataset, local = _dataset_on_s3(s3, tmp_path, "demo", shards=2)
    version = release_start(dataset_id=dataset.id)
    version.refresh_from_db()
    name = pq.read_table(local, columns=["repo_name"]).column(0)[0].as_py()

    response = client.get("/datasets/demo/1.0.0/files/manifest.json")

    assert response.status_code == 302
    assert "Signature=" in response["Location"]
    with urllib.request.urlopen(response["Location"]) as fetched:
        assert hashlib.sha256(fetched.read()).hexdigest() == version.manifest_sha256
    presence = repository_presence(version, f"github.com/{name.lower()}")
    assert presence is not None and presence.rows > 0
