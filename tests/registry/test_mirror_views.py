"""``/mirror/``: the public files, streamed with the caching each kind allows."""

from __future__ import annotations

import pytest

from registry.checkpoints import checkpoint_signed
from registry.services import exclusion_add
from registry.tiles import tiles_publish

pytestmark = pytest.mark.django_db


@pytest.fixture
def published() -> int:
    for i in range(3):
        exclusion_add(kind="repository", subject=f"github.com/a/{i}", cause=f"c:{i}")
    return tiles_publish(3)


def test_the_checkpoint_is_served_briefly_cached_with_an_etag(client, published) -> None:
    response = client.get("/mirror/log/checkpoint")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response["Cache-Control"] == "public, max-age=5"
    assert response.content.decode() == checkpoint_signed(3).note
    again = client.get("/mirror/log/checkpoint", HTTP_IF_NONE_MATCH=response["ETag"])
    assert (again.status_code, again["ETag"]) == (304, response["ETag"])


def test_a_tile_is_streamed_and_cached_forever(client, published) -> None:
    response = client.get("/mirror/log/tile/0/000.p/3")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response["Access-Control-Allow-Origin"] == "*"
    assert len(b"".join(response.streaming_content)) == 3 * 32
    assert client.get("/mirror/log/tile/entries/000.p/3").status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "log/tile/0/000.p/4",  # a width never published
        "log/tile/0/0000",  # not a 3-digit group
        "log/tile/64/000",  # no such level
        "log/tile/0/000.p/256",  # a full tile is never a partial
        "log/../../../etc/passwd",
        "log/tile/0/..%2f..%2fkey",
        "log-signing.key",
    ],
)
def test_anything_but_a_published_name_is_not_found(client, published, path) -> None:
    assert client.get(f"/mirror/{path}").status_code == 404


def test_before_any_publication_the_checkpoint_is_not_found(client) -> None:
    assert client.get("/mirror/log/checkpoint").status_code == 404


def test_it_refuses_writes(client, published) -> None:
    assert client.post("/mirror/log/checkpoint").status_code == 405


def test_the_latest_ranges_pointer_moves_with_an_etag(client, published) -> None:
    from registry.ranges import ranges_publish

    ranges_publish(3)
    response = client.get("/mirror/ranges/latest")
    assert (response.status_code, response.content) == (200, b"3\n")
    assert response["Cache-Control"] == "public, max-age=5"
    assert (
        client.get("/mirror/ranges/latest", HTTP_IF_NONE_MATCH=response["ETag"]).status_code == 304
    )
    exclusion_add(kind="repository", subject="github.com/a/9", cause="c:9")
    ranges_publish(4)
    moved = client.get("/mirror/ranges/latest", HTTP_IF_NONE_MATCH=response["ETag"])
    assert (moved.status_code, moved.content) == (200, b"4\n")
    manifest = client.get("/mirror/ranges/4/manifest")
    assert manifest["Cache-Control"] == "public, max-age=31536000, immutable"
    assert client.get("/mirror/ranges/empty").status_code == 200
