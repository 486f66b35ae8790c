"""The public pages: the home page and its lookup, datasets and versions, transparency."""

import hashlib
import json
from datetime import timedelta
from urllib.parse import quote

import pyarrow.parquet as pq
import pytest

from governance.releases import release_start, version_folder
from tests.factories import approve, make_dataset, make_request

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_home_page_lists_each_dataset_with_its_latest_version_and_next_release(
    client, tmp_path
) -> None:
    dataset = make_dataset(tmp_path)
    dataset.release_cadence = timedelta(days=7)
    dataset.save()
    version = release_start(dataset_id=dataset.id)
    version.refresh_from_db()

    body = client.get("/").content.decode()

    assert f">{version.version}</a>" in body
    expected = (version.created_at + timedelta(days=7)).strftime("%Y-%m-%d %H:%M")
    assert f"{expected} UTC, if the registry changed" in body


def test_a_dataset_without_cadence_says_releases_are_manual(client, tmp_path) -> None:
    dataset = make_dataset(tmp_path)
    dataset.release_cadence = None
    dataset.save()
    body = client.get("/").content.decode()
    assert "none yet" in body
    assert "when maintainers run one" in body


def _released(tmp_path):
    dataset = make_dataset(tmp_path)
    version = release_start(dataset_id=dataset.id)
    version.refresh_from_db()
    names = pq.read_table(version_folder(version) / "data", columns=["repo_name"]).column(0)
    return dataset, version, sorted(set(names.to_pylist()))


def test_the_lookup_shows_the_versions_holding_a_pasted_repository_url(client, tmp_path) -> None:
    _dataset, version, names = _released(tmp_path)
    owner, name = names[0].split("/")

    response = client.get("/", {"q": f"https://github.com/{owner}/{name}.git"})

    body = response.content.decode()
    canonical = f"github.com/{owner.lower()}/{name.lower()}"
    assert response.status_code == 200
    assert f"<code>{canonical}</code>" in body
    assert f"In the latest version, {version.version}:" in body
    assert f"/requests/new/?subjects={quote(canonical)}" in body


def test_the_lookup_lists_an_owners_repositories(client, tmp_path) -> None:
    _dataset, _version, names = _released(tmp_path)
    owner = names[0].split("/")[0]
    mine = [n for n in names if n.split("/")[0] == owner]

    body = client.get("/", {"q": f"github.com/{owner}"}).content.decode()

    assert f"holds {len(mine)} of its repositories" in body
    for repository in mine[:50]:
        assert f">github.com/{repository.lower()}</a>" in body


def test_the_lookup_says_excluded_and_since_which_version(client, tmp_path) -> None:
    dataset, _first, names = _released(tmp_path)
    repository = f"github.com/{names[0].lower()}"
    approve(make_request([repository]))
    second = release_start(dataset_id=dataset.id)

    body = client.get("/", {"q": repository}).content.decode()

    assert "Excluded since" in body
    assert f'Removed since version <a href="/datasets/demo/{second.version}/">' in body
    assert "Request removal of" not in body
    assert "Not in the latest version; in earlier ones." in body


def test_the_lookup_says_pending_while_a_request_awaits_proof(client, tmp_path) -> None:
    _dataset, _version, names = _released(tmp_path)
    make_request([names[0]])

    body = client.get("/", {"q": names[0]}).content.decode()

    assert "A removal request naming it is waiting for proof of control" in body


def test_the_lookup_explains_what_is_wrong_with_the_input(client) -> None:
    response = client.get("/", {"q": "https://example.invalid/a/b"})

    assert response.status_code == 400
    assert 'role="alert"' in response.content.decode()


@pytest.fixture
def anon_rate(settings):
    def set_rate(rate: str) -> None:
        settings.REST_FRAMEWORK = {
            **settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": {
                **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
                "anon": rate,
            },
        }

    return set_rate


def test_the_lookup_is_throttled_per_address_with_a_clear_answer(client, anon_rate) -> None:
    anon_rate("2/minute")
    codes = [client.get("/", {"q": "octo/hello"}).status_code for _ in range(2)]
    refused = client.get("/", {"q": "octo/hello"})
    other_address = client.get("/", {"q": "octo/hello"}, REMOTE_ADDR="192.0.2.9")

    assert codes == [200, 200]
    assert refused.status_code == 429
    wait = int(refused["Retry-After"])
    assert 0 < wait <= 60
    body = refused.content.decode()
    assert f"Too many lookups from your network in the last minute. Try again in {wait} " in body
    assert 'value="octo/hello"' in body  # what was typed stays in the box
    assert other_address.status_code == 200
    assert client.get("/").status_code == 200  # the page itself, without a lookup, answers


def test_page_and_api_lookups_share_one_allowance(client, anon_rate, tmp_path) -> None:
    make_dataset(tmp_path)
    anon_rate("2/minute")
    assert client.get("/", {"q": "octo/hello"}).status_code == 200
    assert client.get("/api/v1/datasets/demo/lookup", {"repo": "octo/hello"}).status_code == 200
    assert client.get("/", {"q": "octo/hello"}).status_code == 429


def test_the_lookup_answers_uncounted_when_the_cache_is_down(
    client, anon_rate, cache_down, caplog
) -> None:
    anon_rate("1/minute")
    codes = [client.get("/", {"q": "octo/hello"}).status_code for _ in range(3)]
    assert codes == [200, 200, 200]
    assert "the cache is unreachable" in caplog.text


def test_the_lookup_api_answers_for_a_repository_and_an_owner(client, tmp_path) -> None:
    _dataset, version, names = _released(tmp_path)
    owner = names[0].split("/")[0]

    one = client.get("/api/v1/datasets/demo/lookup", {"repo": names[0]}).json()
    many = client.get("/api/v1/datasets/demo/lookup", {"owner": f"github.com/{owner}"}).json()

    assert one["canonical"] == f"github.com/{names[0].lower()}"
    assert one["versions"][0]["version"] == version.version
    assert one["versions"][0]["present"] is True
    assert one["excluded"] is False
    assert many["repositories"]["count"] == len([n for n in names if n.startswith(f"{owner}/")])


def test_the_lookup_api_names_the_bad_parameter_in_the_error_shape(client, tmp_path) -> None:
    make_dataset(tmp_path)

    neither = client.get("/api/v1/datasets/demo/lookup")
    owner_as_repo = client.get("/api/v1/datasets/demo/lookup", {"repo": "github.com/octo"})

    assert neither.status_code == 400
    assert "repo" in neither.json()["error"]["fields"]
    assert owner_as_repo.status_code == 400
    assert owner_as_repo.json()["error"]["fields"]["repo"] == ["That is an owner: ask with owner=."]


def test_the_version_page_shows_changelog_checksums_and_downloads(client, tmp_path) -> None:
    dataset, _first, names = _released(tmp_path)
    approve(make_request([names[0]]))
    second = release_start(dataset_id=dataset.id)
    second.refresh_from_db()

    body = client.get(f"/datasets/demo/{second.version}/").content.decode()
    searched = client.get(f"/datasets/demo/{second.version}/", {"q": "no-such"}).content.decode()
    manifest = json.loads((version_folder(second) / "manifest.json").read_text())
    first_file = manifest["files"][0]
    download = client.get(f"/datasets/demo/{second.version}/files/{first_file['path']}")

    assert f"github.com/{names[0].lower()}" in body
    assert first_file["sha256"] in body
    assert "No entry mentions" in searched
    assert hashlib.sha256(b"".join(download.streaming_content)).hexdigest() == first_file["sha256"]
    assert client.get(f"/datasets/demo/{second.version}/files/../secret").status_code == 404
    changelog = client.get(f"/api/v1/datasets/demo/versions/{second.version}/changelog/").json()
    assert changelog["entries"][0]["exclusion"] == f"github.com/{names[0].lower()}"


def test_the_transparency_page_counts_requests_and_draws_svg(client, tmp_path) -> None:
    make_request(["github.com/octo/one"])
    approve(make_request(["github.com/octo/two"], email="other@example.org"))

    body = client.get("/transparency/").content.decode()
    figures = client.get("/api/v1/transparency").json()

    assert "<svg" in body
    assert figures["requests_by_state"]["pending_verification"] == 1
    assert figures["requests_by_state"]["approved"] == 1
    assert figures["verified_to_approved"]["count"] == 1
    assert figures["exclusions_per_week"][-1]["active"] == 1


@pytest.mark.parametrize("url", ["/datasets/", "/datasets/demo/", "/policy/", "/transparency/"])
def test_the_public_pages_load(client, tmp_path, url: str) -> None:
    make_dataset(tmp_path)
    assert client.get(url).status_code == 200
