"""A version's repository list (written at publish) and the lookups that read it."""

from __future__ import annotations

import json
from collections import Counter

import pyarrow.parquet as pq
import pytest

from governance.enums import VersionStatus
from governance.lookup import IndexMissing, owner_repositories, repository_presence
from governance.models import ShardBuild
from governance.releases import release_start, version_folder
from governance.releases.layout import dataset_store, index_path
from governance.releases.repository_list import REPOSITORIES_NAME
from optout.enums import RequestStatus
from optout.services import request_transition
from tests.factories import approve, make_dataset, make_request

pytestmark = pytest.mark.django_db(transaction=True)


def _published_counts(version) -> Counter:
    """(repository, shard) -> rows, counted from the published data files themselves."""
    counts: Counter = Counter()
    for path in sorted((version_folder(version) / "data").iterdir()):
        for name in pq.read_table(path, columns=["repo_name"]).column(0).to_pylist():
            counts[(f"github.com/{name.lower()}", path.name)] += 1
    return counts


def _listed(version) -> Counter:
    table = pq.read_table(version_folder(version) / REPOSITORIES_NAME)
    return Counter(
        {
            (repository, shard): rows
            for repository, shard, rows in zip(
                *(table.column(c).to_pylist() for c in ("repository", "shard", "rows")),
                strict=True,
            )
        }
    )


def test_the_repository_list_matches_the_published_rows_after_an_exclusion(tmp_path) -> None:
    dataset = make_dataset(tmp_path)
    first = release_start(dataset_id=dataset.id)
    repositories = sorted({r for r, _ in _published_counts(first)})
    owner = repositories[0].split("/")[1]
    approve(make_request([f"github.com/{owner}", repositories[-1]]))

    second = release_start(dataset_id=dataset.id)
    second.refresh_from_db()

    assert second.status == VersionStatus.PUBLISHED, second.error
    assert _listed(first) == _published_counts(first)
    assert _listed(second) == _published_counts(second)
    assert not any(r.startswith(f"github.com/{owner}/") for r, _ in _listed(second))
    table = pq.read_table(version_folder(second) / REPOSITORIES_NAME)
    names = table.column("repository").to_pylist()
    assert names == sorted(names)
    manifest = json.loads((version_folder(second) / "manifest.json").read_text())
    listed = {f["path"]: f for f in manifest["metadata_files"]}
    assert listed[REPOSITORIES_NAME]["bytes"] == (
        (version_folder(second) / REPOSITORIES_NAME).stat().st_size
    )


def test_a_shard_without_its_index_is_listed_from_its_data_file(tmp_path) -> None:
    dataset = make_dataset(tmp_path)
    first = release_start(dataset_id=dataset.id)
    store = dataset_store(dataset)
    for shard in ShardBuild.objects.filter(version=first):
        store.remove(index_path(store, shard.source_fingerprint))
    (version_folder(first) / REPOSITORIES_NAME).unlink()  # nothing to derive from either
    approve(make_request([sorted(_published_counts(first))[0][0]]))

    second = release_start(dataset_id=dataset.id)
    second.refresh_from_db()

    assert second.status == VersionStatus.PUBLISHED, second.error
    assert _listed(second) == _published_counts(second)


def test_a_withdrawn_exclusion_brings_its_repositories_back_into_the_list(tmp_path) -> None:
    dataset = make_dataset(tmp_path)
    source = sorted(_published_counts(release_start(dataset_id=dataset.id)))
    owner = source[0][0].rsplit("/", 1)[0]
    request = approve(make_request([owner]))
    excluding = release_start(dataset_id=dataset.id)
    request_transition(
        request_id=request.id, to_status=RequestStatus.WITHDRAWN, actor_label="owner"
    )

    back = release_start(dataset_id=dataset.id)

    assert not any(r.startswith(f"{owner}/") for r, _ in _listed(excluding))
    assert _listed(back) == _published_counts(back)
    assert any(r.startswith(f"{owner}/") for r, _ in _listed(back))


def test_it_finds_a_repository_and_an_owner_in_a_version(tmp_path) -> None:
    dataset = make_dataset(tmp_path)
    version = release_start(dataset_id=dataset.id)
    counts = _published_counts(version)
    repository, shard = sorted(counts)[0]
    owner = repository.rsplit("/", 1)[0]

    presence = repository_presence(version, repository)
    page = owner_repositories(version, owner, offset=1, limit=2)

    assert presence is not None
    assert presence.rows == sum(n for (r, _), n in counts.items() if r == repository)
    assert shard in presence.shards
    assert repository_presence(version, f"{owner}/no-such-repository") is None
    mine = sorted({r for r, _ in counts if r.startswith(f"{owner}/")})
    assert page.repositories == len(mine)
    assert page.rows == sum(n for (r, _), n in counts.items() if r.startswith(f"{owner}/"))
    assert [item.repository for item in page.items] == mine[1:3]
    # A namespace matches whole owners only: "octo" does not list "octocat"'s repositories.
    shorter = owner[:-1]
    assert owner_repositories(version, shorter).repositories == len(
        {r for r, _ in counts if r.startswith(f"{shorter}/")}
    )


def test_a_version_published_before_repository_lists_says_so(tmp_path) -> None:
    dataset = make_dataset(tmp_path)
    version = release_start(dataset_id=dataset.id)
    path = version_folder(version) / REPOSITORIES_NAME
    path.chmod(0o644)
    path.unlink()

    with pytest.raises(IndexMissing):
        repository_presence(version, "github.com/a/b")
