"""The home page tells everyone what the latest version is and when the next one comes."""

from datetime import timedelta

import pytest

from governance.releases import release_start
from tests.factories import make_dataset

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

    assert f"<code>{version.version}</code>" in body
    expected = (version.created_at + timedelta(days=7)).strftime("%Y-%m-%d %H:%M")
    assert f"{expected} UTC, if the registry changed" in body


def test_a_dataset_without_cadence_says_releases_are_manual(client, tmp_path) -> None:
    dataset = make_dataset(tmp_path)
    dataset.release_cadence = None
    dataset.save()
    body = client.get("/").content.decode()
    assert "none yet" in body
    assert "when maintainers run one" in body
