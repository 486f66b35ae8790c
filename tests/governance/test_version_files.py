"""A version on an object store: its files are downloaded through signed URLs, and the
lookup reads its repository list there too. A version's changelog is read a page at a time."""

from __future__ import annotations

import hashlib
import json
import os
import urllib.request

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from governance.lookup import repository_presence
from governance.models import DatasetVersion
from governance.releases import release_start, version_folder
from governance.releases.changelog import CHANGELOG_ROW_GROUP, changelog_parquet
from governance.releases.layout import CHANGELOG_JSON, CHANGELOG_PARQUET
from governance.version_files import changelog_page
from tests.factories import approve, make_dataset, make_request
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


# --- the changelog, a page at a time ----------------------------------------------------


def _published_with_changelog(tmp_path, removed: int, reincluded: int):
    """A published version whose changelog.parquet is replaced by one of the given length
    (names ``github.com/o{n:07d}/r``), written by the publish step's own writer."""

    dataset = make_dataset(tmp_path)
    release_start(dataset_id=dataset.id)
    version = DatasetVersion.objects.get(dataset=dataset)

    def section(start: int, count: int) -> pa.Table:
        numbers = pa.array(range(start, start + count), pa.int64())
        names = pc.binary_join_element_wise(
            "github.com/o", pc.utf8_lpad(numbers.cast(pa.string()), 7, "0"), "/r", ""
        )
        return pa.table(
            {
                "exclusion": names,
                "kind": pa.array(["repository"] * count, pa.string()),
                "repositories": pa.array([1] * count, pa.int64()),
                "rows": numbers,
            }
        )

    changelog = {
        "dataset": "demo",
        "version": version.version,
        "previous_version": "0.9.0",
        "checkpoint": {"from": 1, "to": 2},
        "removed": section(0, removed),
        "reincluded": section(removed, reincluded),
        "totals": {"removed": {"exclusions": removed}, "reincluded": {"exclusions": reincluded}},
    }
    path = version_folder(version) / CHANGELOG_PARQUET
    os.chmod(path, 0o644)
    path.write_bytes(changelog_parquet(changelog))
    return version


@pytest.fixture
def rows_read(monkeypatch) -> list[int]:
    """The rows each read of changelog.parquet brought into memory (the real reads run)."""
    counts: list[int] = []
    for name in ("read_row_group", "read_row_groups"):
        real = getattr(pq.ParquetFile, name)

        def spy(self, *args, _real=real, **kwargs):
            table = _real(self, *args, **kwargs)
            counts.append(table.num_rows)
            return table

        monkeypatch.setattr(pq.ParquetFile, name, spy)
    return counts


def test_a_page_of_a_million_entry_changelog_reads_only_the_row_groups_it_falls_in(
    tmp_path, rows_read
) -> None:

    version = _published_with_changelog(tmp_path, removed=900_000, reincluded=100_000)

    page = changelog_page(version, page=9_000, size=100)  # entries 899,900 to 899,999

    assert (page.count, page.pages, page.head["previous_version"]) == (1_000_000, 10_000, "0.9.0")
    assert [e["exclusion"] for e in page.entries] == [
        f"github.com/o{n:07d}/r" for n in range(899_900, 900_000)
    ]
    assert {e["change"] for e in page.entries} == {"removed"}
    assert sum(rows_read) <= CHANGELOG_ROW_GROUP  # one row group, not the million
    straddling = changelog_page(version, page=9_001, size=100)
    assert straddling.entries[0] == {
        "change": "reincluded",
        "exclusion": "github.com/o0900000/r",
        "kind": "repository",
        "repositories": 1,
        "rows": 900_000,
    }


def test_a_search_holds_one_row_group_at_a_time_and_counts_every_match(tmp_path, rows_read) -> None:

    version = _published_with_changelog(tmp_path, removed=900_000, reincluded=100_000)

    found = changelog_page(version, search="O012345", page=1, size=100)  # any case
    reincluded = changelog_page(version, search="o09", change="reincluded", page=2, size=100)

    assert found.count == 10  # o0123450 … o0123459
    assert [e["exclusion"] for e in found.entries] == [
        f"github.com/o{n:07d}/r" for n in range(123_450, 123_460)
    ]
    assert (reincluded.count, reincluded.pages) == (100_000, 1_000)
    assert reincluded.entries[0]["exclusion"] == "github.com/o0900100/r"
    assert max(rows_read) <= CHANGELOG_ROW_GROUP


def test_past_the_last_page_is_the_last_page(tmp_path) -> None:

    version = _published_with_changelog(tmp_path, removed=250, reincluded=0)
    last = changelog_page(version, page=99, size=100)
    assert (last.page, last.pages, len(last.entries)) == (3, 3, 50)
    assert changelog_page(version, search="nowhere").entries == []


def test_a_version_published_before_changelog_parquet_is_read_from_its_json(tmp_path) -> None:

    dataset = make_dataset(tmp_path)
    release_start(dataset_id=dataset.id)
    first = DatasetVersion.objects.get(dataset=dataset)
    owner = pq.read_table(version_folder(first) / "data", columns=["repo_name"])[0][0].as_py()
    approve(make_request([owner]))
    release_start(dataset_id=dataset.id)
    second = DatasetVersion.objects.exclude(id=first.id).get(dataset=dataset)
    folder = version_folder(second)
    (folder / CHANGELOG_PARQUET).unlink()
    written = json.loads((folder / CHANGELOG_JSON).read_text())

    page = changelog_page(second)

    assert page.head["totals"] == written["totals"]
    assert [e["exclusion"] for e in page.entries] == [
        e["exclusion"] for e in written["removed"] + written["reincluded"]
    ]
    assert page.entries[0]["rows"] > 0
