"""The fast path (registry/api/fast.py) answers exactly as DRF's full cycle does."""

import datetime as dt

import pytest
from django.utils import timezone
from hypothesis import example, given
from hypothesis import strategies as st
from rest_framework.renderers import JSONRenderer

from registry.api.fast import json_response
from registry.checkpoints import checkpoint_publish
from registry.models import PipelineToken
from registry.selectors import log_size
from registry.services import exclusion_add
from registry.tokens import TOKENS, token_create

pytestmark = pytest.mark.django_db
EXPORT = "/api/v1/exclusions/export"


def _both_ways(client, settings, *args, **kwargs) -> tuple:
    settings.REGISTRY_API_FAST_PATH = False
    full = client.get(*args, **kwargs)
    settings.REGISTRY_API_FAST_PATH = True
    fast = client.get(*args, **kwargs)
    return full, fast


def _same(full, fast) -> None:
    assert fast.status_code == full.status_code
    assert fast.content == full.content
    assert dict(fast.headers) == dict(full.headers)


@pytest.mark.parametrize(
    "repo", ["github.com/org/repo", "https://github.com/Org/Repo.git", "x/y", "a/b"]
)
def test_a_check_answers_the_same_bytes_and_headers_both_ways(client, settings, repo) -> None:
    exclusion_add(kind="namespace", subject="github.com/org", cause="c:1")
    exclusion_add(kind="repository", subject="github.com/x/y", cause="c:2")
    full, fast = _both_ways(client, settings, "/api/v1/check", {"repo": repo})
    assert full.status_code == 200
    _same(full, fast)


def test_a_check_takes_the_fast_path_only_when_it_can(client, settings, django_assert_num_queries):
    settings.REGISTRY_API_FAST_PATH = True
    settings.REGISTRY_RESIDENT_CHECK = False
    client.get("/api/v1/check", {"repo": "a/b"})  # on PostgreSQL, prepares the statement
    with django_assert_num_queries(1):  # the lookup; no token, session or user query
        assert client.get("/api/v1/check", {"repo": "a/b"}).status_code == 200
    settings.REGISTRY_RESIDENT_CHECK = True
    assert client.get("/api/v1/check", {"repo": "a/b"}).status_code == 200  # builds the copy
    with django_assert_num_queries(0):  # answered from this process's copy of the exclusions
        assert client.get("/api/v1/check", {"repo": "a/b"}).status_code == 200
    browser = client.get("/api/v1/check", {"repo": "a/b"}, HTTP_ACCEPT="text/html")
    assert browser["Content-Type"].startswith("text/html")  # DRF's browsable API, as before
    bad = client.get("/api/v1/check", {"repo": "notahost.example/a/b"})
    assert bad.status_code == 400 and "not a supported host" in bad.content.decode()


def test_a_304_is_the_same_both_ways_and_needs_no_query(
    client, settings, auth, django_assert_num_queries
) -> None:
    exclusion_add(kind="repository", subject="github.com/a/b", cause="c:1")
    etag = client.get(EXPORT, **auth)["ETag"]
    full, fast = _both_ways(client, settings, EXPORT, HTTP_IF_NONE_MATCH=etag, **auth)
    assert full.status_code == 304
    _same(full, fast)
    with django_assert_num_queries(0):  # token and checkpoint are cached for this epoch
        assert client.get(EXPORT, HTTP_IF_NONE_MATCH=etag, **auth).status_code == 304


def test_a_revoked_token_is_refused_on_the_very_next_304(client, auth, token) -> None:
    exclusion_add(kind="repository", subject="github.com/a/b", cause="c:1")
    etag = client.get(EXPORT, **auth)["ETag"]
    assert client.get(EXPORT, HTTP_IF_NONE_MATCH=etag, **auth).status_code == 304
    PipelineToken.objects.update(revoked=True)
    refused = client.get(EXPORT, HTTP_IF_NONE_MATCH=etag, **auth)
    assert refused.status_code == 401
    assert refused.json()["error"]["message"] == "The API token is unknown or revoked."


def test_a_token_revoked_in_the_admin_is_refused_on_the_next_304(
    client, admin_client, auth, token
) -> None:
    exclusion_add(kind="repository", subject="github.com/a/b", cause="c:1")
    etag = client.get(EXPORT, **auth)["ETag"]
    assert client.get(EXPORT, HTTP_IF_NONE_MATCH=etag, **auth).status_code == 304
    row = PipelineToken.objects.get()
    admin_client.post(
        f"/admin/registry/pipelinetoken/{row.pk}/change/",
        {"name": row.name, "scopes": row.scopes, "expiry_date_0": "", "expiry_date_1": "",
         "revoked": "on"},
    )  # fmt: skip
    assert PipelineToken.objects.get().revoked
    assert client.get(EXPORT, HTTP_IF_NONE_MATCH=etag, **auth).status_code == 401


def test_a_new_checkpoint_changes_the_etag_on_the_very_next_call(client, auth, settings) -> None:
    settings.LOG_CHECKPOINT_INTERVAL = 3600
    exclusion_add(kind="repository", subject="github.com/a/b", cause="c:1")
    etag = client.get(EXPORT, **auth)["ETag"]
    assert client.get(EXPORT, HTTP_IF_NONE_MATCH=etag, **auth).status_code == 304
    exclusion_add(kind="repository", subject="github.com/c/d", cause="c:2")  # not signed yet
    assert client.get(EXPORT, HTTP_IF_NONE_MATCH=etag, **auth).status_code == 304
    checkpoint_publish(size=log_size(), force=True)
    changed = client.get(EXPORT, HTTP_IF_NONE_MATCH=etag, **auth)
    assert changed.status_code == 200 and changed["ETag"].startswith('"2-')


def test_a_token_that_expires_while_cached_is_refused(client, monkeypatch) -> None:
    """Expiry is compared with the clock at each call: no write, no new epoch needed."""
    _, key = token_create(name="mirror", scopes=["registry:read"], expires_days=1)
    auth = {"HTTP_AUTHORIZATION": f"Api-Key {key}"}
    exclusion_add(kind="repository", subject="github.com/a/b", cause="c:1")
    etag = client.get(EXPORT, **auth)["ETag"]
    assert client.get(EXPORT, HTTP_IF_NONE_MATCH=etag, **auth).status_code == 304
    assert key in TOKENS._entries  # the fast path holds it now
    later = timezone.now() + dt.timedelta(days=2)
    monkeypatch.setattr(timezone, "now", lambda: later)
    expired = client.get(EXPORT, HTTP_IF_NONE_MATCH=etag, **auth)
    assert expired.status_code == 401
    assert "expired" in expired.json()["error"]["message"]


def test_another_process_s_new_checkpoint_reaches_304s_within_a_second(
    client, auth, settings, monkeypatch
) -> None:
    from registry import epoch as epoch_module

    settings.LOG_CHECKPOINT_INTERVAL = 3600
    exclusion_add(kind="repository", subject="github.com/a/b", cause="c:1")
    etag = client.get(EXPORT, **auth)["ETag"]
    assert client.get(EXPORT, HTTP_IF_NONE_MATCH=etag, **auth).status_code == 304
    seen = epoch_module.epoch_recent()  # the epoch that 304 was answered under
    exclusion_add(kind="repository", subject="github.com/c/d", cause="c:2")
    checkpoint_publish(size=log_size(), force=True)
    # As if another process had signed it: this process still holds its copy of the epoch.
    monkeypatch.setattr(epoch_module, "_recent", (epoch_module.time.monotonic(), seen))
    assert client.get(EXPORT, HTTP_IF_NONE_MATCH=etag, **auth).status_code == 304
    monkeypatch.setattr(epoch_module, "EPOCH_FRESH_FOR", 0.0)  # a second later
    changed = client.get(EXPORT, HTTP_IF_NONE_MATCH=etag, **auth)
    assert changed.status_code == 200 and changed["ETag"].startswith('"2-')


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


@given(body=st.dictionaries(st.text(max_size=8), _json_values, max_size=4))
@example(body={"in\u2028put": ["\u2029", '\x00\x1f\x7f"\\/é'], "n": 2**64 - 1})
def test_json_response_has_the_bytes_of_drfs_renderer(body) -> None:
    """Lines echoed back by the bulk check are any text a caller sent: escapes must agree."""
    assert json_response(body).content == JSONRenderer().render(body)
