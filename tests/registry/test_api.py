import base64
import csv
import datetime as dt
import gzip
import io
import json

import pyarrow.parquet as pq
import pytest
from django.http import HttpResponse
from django.test import RequestFactory
from hypothesis import HealthCheck, example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from registry import merkle, notes
from registry.api.common import json_response
from registry.checkpoints import checkpoint_latest, verifier_key
from registry.services import exclusion_add, exclusion_remove
from tests.registry.exporting import export_dir, export_path
from tests.registry.history import guards_off

pytestmark = pytest.mark.django_db


def _seed() -> None:
    exclusion_add(kind="repository", subject="github.com/a/b", cause="c:1")
    exclusion_add(kind="namespace", subject="github.com/org", cause="c:2")
    exclusion_add(kind="repository", subject="github.com/x/y", cause="c:3")
    exclusion_remove(kind="repository", subject="github.com/a/b", cause="c:1", reason="withdrawn")


def test_check_answers_with_the_matching_namespace_exclusion(client) -> None:
    exclusion_add(kind="namespace", subject="github.com/org", cause="c")
    body = client.get("/api/v1/check", {"repo": "https://github.com/Org/Repo"}).json()
    assert body["repo"] == "github.com/org/repo"
    assert body["excluded"] is True
    assert body["exclusion"]["subject"] == "github.com/org"


@pytest.mark.parametrize(
    "repo", ["github.com/org/repo", "https://github.com/Org/Repo.git", "x/y", "a/b"]
)
def test_check_answers_what_its_output_serializer_renders(client, repo) -> None:
    """The answer is built from the selector's row, not by running the serializer that
    documents it: both must give the same JSON, to the character of the date."""
    from registry.api.check import CheckView
    from registry.models import Exclusion
    from registry.selectors import exclusion_matching, log_size

    exclusion_add(kind="namespace", subject="github.com/org", cause="c:1")
    exclusion_add(kind="repository", subject="github.com/x/y", cause="c:2")
    Exclusion.objects.filter(subject="github.com/x/y").update(
        created_at=dt.datetime(2026, 3, 4, 5, 6, 7, 80, tzinfo=dt.UTC)
    )
    response = client.get("/api/v1/check", {"repo": repo})
    assert response.status_code == 200
    canonical = response.json()["repo"]
    match = exclusion_matching(canonical)
    rendered = CheckView.OutputSerializer(
        {
            "repo": canonical,
            "excluded": match is not None,
            "exclusion": match,
            "log_size": log_size(),
        }
    ).data
    assert response.content == JSONRenderer().render(rendered)


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


def test_check_errors_have_the_single_error_shape(client) -> None:
    response = client.get("/api/v1/check", {"repo": "notahost.example/a/b"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert "not a supported host" in error["fields"]["repo"][0]
    missing = client.get("/api/v1/check").json()["error"]
    assert missing["fields"]["repo"] == ["This field is required."]


def test_bulk_check_answers_text_lines_and_reports_bad_ones(client, auth) -> None:
    _seed()
    body = "github.com/org/one\nnotahost.example/a/b\ngithub.com/a/b\nx/y\ngithub.com/owner\n"
    response = client.post("/api/v1/check", body, content_type="text/plain", **auth)
    assert response.status_code == 200
    data = response.json()
    assert (data["checked"], data["excluded"], data["errors"]) == (3, 2, 2)
    results = data["results"]
    assert [r["excluded"] for r in results] == [True, None, False, True, None]
    assert results[0]["exclusion"]["subject"] == "github.com/org"
    assert "not a supported host" in results[1]["error"]
    assert results[4]["error"] == "This is a whole namespace; give owner/name."


def test_bulk_check_takes_json_and_caps_the_batch(client, auth) -> None:
    _seed()
    ok = client.post("/api/v1/check", {"repos": ["github.com/x/y"]}, "application/json", **auth)
    assert ok.json()["results"][0]["repo"] == "github.com/x/y"
    assert ok.json()["results"][0]["excluded"] is True
    too_many = {"repos": ["a/b"] * 10_001}
    response = client.post("/api/v1/check", too_many, "application/json", **auth)
    assert response.status_code == 400
    assert "10000" in response.json()["error"]["fields"]["repos"][0]


def test_bulk_check_of_10000_answers_every_line(client, auth) -> None:
    exclusion_add(kind="namespace", subject="github.com/o7", cause="c")
    repos = [f"o{i % 10}/r{i}" for i in range(10_000)]
    response = client.post("/api/v1/check", "\n".join(repos), "text/plain", **auth)
    data = response.json()
    assert (data["checked"], data["excluded"]) == (10_000, 1_000)


def test_bulk_check_writes_what_drfs_json_renderer_would(client, auth) -> None:
    """The answer is encoded directly, not through DRF's renderer: same bytes, same type."""
    from rest_framework.renderers import JSONRenderer

    exclusion_add(kind="namespace", subject="github.com/org", cause="c")
    lines = ["org/repo", "owner/ünïcode", "x/y\u2028", 'a/"quoted"', "gitlab.com/g", "a/b"]
    response = client.post("/api/v1/check", {"repos": lines}, "application/json", **auth)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    data = json.loads(response.content)
    assert [r["input"] for r in data["results"]] == lines
    assert response.content == JSONRenderer().render(data)
    assert b"\\u2028" in response.content and "\u2028".encode() not in response.content


@pytest.mark.parametrize("content_type", ["text/plain", ""])
def test_bulk_check_of_nothing_checks_nothing(client, auth, content_type) -> None:
    response = client.generic("POST", "/api/v1/check", b"", content_type, **auth)
    assert response.status_code == 200
    assert (response.json()["checked"], response.json()["results"]) == (0, [])


def test_bulk_check_needs_a_token(client) -> None:
    response = client.post("/api/v1/check", "a/b", content_type="text/plain")
    assert response.status_code == 401


@pytest.mark.parametrize("fmt", ["txt", "ndjson", "csv", "parquet"])
def test_export_gives_the_set_at_the_checkpoint_in_each_format(client, auth, fmt) -> None:
    _seed()
    response = client.get("/api/v1/exclusions/export", {"format": fmt}, **auth)
    assert response.status_code == 200
    assert response["X-Log-Size"] == "4"
    raw = b"".join(response.streaming_content)
    if fmt == "txt":
        assert raw.decode() == "github.com/org/*\ngithub.com/x/y\n"
    elif fmt == "ndjson":
        rows = [json.loads(line) for line in raw.decode().splitlines()]
        assert rows == [
            {"kind": "namespace", "subject": "github.com/org", "index": 1},
            {"kind": "repository", "subject": "github.com/x/y", "index": 2},
        ]
    elif fmt == "csv":
        assert list(csv.reader(io.StringIO(raw.decode()))) == [
            ["kind", "subject", "index"],
            ["namespace", "github.com/org", "1"],
            ["repository", "github.com/x/y", "2"],
        ]
    else:
        table = pq.read_table(io.BytesIO(raw))
        assert table.to_pylist() == [
            {"kind": "namespace", "subject": "github.com/org", "index": 1},
            {"kind": "repository", "subject": "github.com/x/y", "index": 2},
        ]


def test_export_answers_304_for_the_same_checkpoint_and_format_only(client, auth) -> None:
    _seed()
    first = client.get("/api/v1/exclusions/export", {"format": "txt"}, **auth)
    etag = first["ETag"]
    assert etag.startswith('"4-') and etag.endswith('-txt"')
    same = client.get(
        "/api/v1/exclusions/export", {"format": "txt"}, HTTP_IF_NONE_MATCH=etag, **auth
    )
    assert (same.status_code, same["ETag"], same.content) == (304, etag, b"")
    other = client.get(
        "/api/v1/exclusions/export", {"format": "csv"}, HTTP_IF_NONE_MATCH=etag, **auth
    )
    assert other.status_code == 200
    exclusion_add(kind="repository", subject="github.com/new/one", cause="c:9")
    changed = client.get(
        "/api/v1/exclusions/export", {"format": "txt"}, HTTP_IF_NONE_MATCH=etag, **auth
    )
    assert changed.status_code == 200
    assert changed["ETag"].startswith('"5-')


def test_a_304_names_the_checkpoint_like_the_full_answer(client, auth) -> None:
    _seed()
    full = client.get("/api/v1/exclusions/export", **auth)
    same = client.get("/api/v1/exclusions/export", HTTP_IF_NONE_MATCH=full["ETag"], **auth)
    assert same.status_code == 304
    for header in ("ETag", "X-Log-Size", "X-Checkpoint-Root", "Vary", "Cache-Control"):
        assert same[header] == full[header]
    assert same["X-Log-Size"] == "4"


def test_the_etag_follows_the_signed_checkpoint_not_the_log(client, auth, settings) -> None:
    from registry.checkpoints import checkpoint_publish
    from registry.selectors import log_size

    settings.LOG_CHECKPOINT_INTERVAL = 3600
    _seed()  # the log's first checkpoint is signed at once, later ones wait for the interval
    etag = client.get("/api/v1/exclusions/export", **auth)["ETag"]
    exclusion_add(kind="repository", subject="github.com/new/one", cause="c:9")
    unsigned = client.get("/api/v1/exclusions/export", HTTP_IF_NONE_MATCH=etag, **auth)
    assert (unsigned.status_code, unsigned["ETag"]) == (304, etag)
    checkpoint_publish(size=log_size(), force=True)
    signed = client.get("/api/v1/exclusions/export", HTTP_IF_NONE_MATCH=etag, **auth)
    assert signed.status_code == 200
    assert signed["ETag"] != etag and signed["ETag"].startswith('"5-')
    assert b"".join(signed.streaming_content).decode().splitlines() == [
        "github.com/org/*",
        "github.com/x/y",
        "github.com/new/one",
    ]


def test_check_words_bad_input_as_its_serializer_does(client) -> None:
    def problems(repo: str) -> list[str]:
        response = client.get("/api/v1/check", {"repo": repo})
        assert response.status_code == 400
        return response.json()["error"]["fields"]["repo"]

    assert problems("") == ["This field may not be blank."]
    assert problems("   ") == ["This field may not be blank."]
    assert problems("a/" + "b" * 599) == ["Ensure this field has no more than 600 characters."]
    assert problems("a/\x00b") == ["Null characters are not allowed."]
    assert problems("a/\tb")[0].startswith("The line contains a space or an invisible character")
    assert problems("github.com/org") == ["Give a repository (owner/name), not a whole namespace."]


def _drf_cycle_only():
    from registry.api.check import CheckView

    class CheckThroughDrf(CheckView):
        def dispatch(self, request, *args, **kwargs):
            return APIView.dispatch(self, request, *args, **kwargs)

    return CheckThroughDrf.as_view()


def _answer_of(view, query: dict[str, str], headers: dict[str, str]) -> tuple:
    response = view(RequestFactory().get("/api/v1/check", query, headers=headers))
    if hasattr(response, "render"):
        response.render()
    headers = dict(response.items())
    # The browsable API's page (DRF's cycle on both sides) carries a fresh CSRF token.
    html = headers["Content-Type"].startswith("text/html")
    return response.status_code, headers, None if html else response.content


_repos = st.sampled_from(
    ["a/b", "x/y", "github.com/org/repo", "https://github.com/Org/Repo.git", "github.com/x/y",
     "git@github.com:org/r.git", "gitlab.com/g/sub/p", "github.com/org", "github.com/org/*",
     " a/b", "a/b\n", "", "   ", "a/" + "b" * 599, "a/\x00b", "a/\tb", "ü/b", "a/b?c", "a//b",
     "notahost.example/a/b"]
) | st.text(max_size=40) | st.from_regex(r"[ -~]{1,30}/[ -~]{1,30}", fullmatch=True)  # fmt: skip


@hypothesis_settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    repo=_repos,
    accept=st.sampled_from(["", "*/*", "application/json", "text/html", "application/xml"]),
    token=st.sampled_from([None, "Api-Key nope.nope", "Bearer x"]),
    extra=st.sampled_from([{}, {"format": "json"}, {"other": "1"}]),
)
@example(repo="https://github.com/Org/Repo.git", accept="", token=None, extra={})
def test_the_anonymous_check_answers_as_drfs_cycle_would(
    settings, repo, accept, token, extra
) -> None:
    """The anonymous single check skips DRF's cycle (CheckView.dispatch): status, headers and
    bytes must be what the cycle gives, for any input, Accept, token or extra parameter."""
    from registry.api.check import CheckView
    from registry.models import Exclusion

    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon": "100000/minute", "registry_token": "100000/minute"},
    }
    if not Exclusion.objects.exists():  # once: hypothesis runs every example in one test
        exclusion_add(kind="namespace", subject="github.com/org", cause="c:1")
        exclusion_add(kind="repository", subject="github.com/x/y", cause="c:2")
    headers = {"Accept": accept} if accept else {}
    if token:
        headers["Authorization"] = token
    query = {"repo": repo, **extra}
    assert _answer_of(CheckView.as_view(), query, headers) == _answer_of(
        _drf_cycle_only(), query, headers
    )


def test_the_anonymous_check_of_a_repository_skips_drfs_cycle() -> None:
    """The equality above is not empty: a plain anonymous check is answered before DRF,
    and a token's call is not."""
    from registry.api.check import CheckView

    view = CheckView.as_view()
    for accept in ("", "*/*", "application/json"):
        plain = view(RequestFactory().get("/api/v1/check", {"repo": "a/b"}, HTTP_ACCEPT=accept))
        assert type(plain) is HttpResponse
    browser = view(RequestFactory().get("/api/v1/check", {"repo": "a/b"}, HTTP_ACCEPT="text/html"))
    assert isinstance(browser, Response)


def test_export_is_gzipped_when_asked(client, auth) -> None:
    _seed()
    response = client.get(
        "/api/v1/exclusions/export", {"format": "txt"}, HTTP_ACCEPT_ENCODING="br, gzip", **auth
    )
    assert response["Content-Encoding"] == "gzip"
    assert response["ETag"].endswith('-txt-gzip"')
    assert (
        gzip.decompress(b"".join(response.streaming_content))
        == b"github.com/org/*\ngithub.com/x/y\n"
    )
    refused = client.get(
        "/api/v1/exclusions/export", {"format": "txt"}, HTTP_ACCEPT_ENCODING="gzip;q=0", **auth
    )
    assert not refused.has_header("Content-Encoding")


def test_export_rejects_an_unknown_format(client, auth) -> None:
    response = client.get("/api/v1/exclusions/export", {"format": "xml"}, **auth)
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["format"] == ['"xml" is not a valid choice.']


def test_changes_are_paged_up_to_the_checkpoint(client, auth) -> None:
    _seed()
    page = client.get("/api/v1/exclusions/changes", {"since": 1, "limit": 2}, **auth).json()
    assert [(c["index"], c["action"], c["subject"]) for c in page["changes"]] == [
        (1, "add", "github.com/org"),
        (2, "add", "github.com/x/y"),
    ]
    assert (page["next"], page["complete"], page["checkpoint"]["size"]) == (3, False, 4)
    last = client.get("/api/v1/exclusions/changes", {"since": 3}, **auth).json()
    assert [(c["action"], c["subject"]) for c in last["changes"]] == [("remove", "github.com/a/b")]
    assert (last["next"], last["complete"]) == (4, True)
    beyond = client.get("/api/v1/exclusions/changes", {"since": 9}, **auth)
    assert (beyond.status_code, beyond.json()["error"]["code"]) == (404, "not_found")
    assert "since=9 is beyond" in beyond.json()["error"]["message"]


def test_the_checkpoint_and_key_verify_together(client) -> None:
    _seed()
    note = client.get("/api/v1/log/checkpoint")
    assert note["Content-Type"] == "text/plain; charset=utf-8"
    key_text = client.get("/api/v1/log/key").content.decode().strip()
    assert client.get("/.well-known/opt-out-log-key").content.decode().strip() == key_text
    assert key_text == verifier_key()
    parsed = notes.verify_checkpoint(note.content.decode(), notes.parse_verifier_key(key_text))
    assert (parsed.size, parsed.root_hash) == (4, checkpoint_latest().root_hash)


def test_entries_and_inclusion_proofs_verify_against_the_checkpoint(client) -> None:
    _seed()
    entries = client.get("/api/v1/log/entries", {"start": 0, "end": 100}).json()
    assert (entries["start"], entries["end"], entries["log_size"]) == (0, 4, 4)
    checkpoint = checkpoint_latest()
    for entry in entries["entries"]:
        leaf = entry["leaf"].encode()
        assert base64.b64decode(entry["leaf_hash"]) == merkle.leaf_hash(leaf)
        proof = client.get(
            "/api/v1/log/proof/inclusion", {"index": entry["index"], "size": 4}
        ).json()
        assert (proof["index"], proof["size"]) == (entry["index"], 4)
        merkle.verify_inclusion(
            index=entry["index"],
            size=4,
            leaf=merkle.leaf_hash(leaf),
            proof=[base64.b64decode(h) for h in proof["hashes"]],
            root=checkpoint.root_hash,
        )
    assert entries["entries"][3]["leaf"].startswith("3\tremove\trepository\tgithub.com/a/b\tc:1\t")


def test_consistency_proofs_verify_and_bad_sizes_are_refused(client) -> None:
    from registry.checkpoints import checkpoint_at

    _seed()
    proof = client.get("/api/v1/log/proof/consistency", {"first": 1, "second": 4}).json()
    assert (proof["first"], proof["second"]) == (1, 4)
    merkle.verify_consistency(
        first=1,
        second=4,
        first_root=checkpoint_at(1).root_hash,
        second_root=checkpoint_at(4).root_hash,
        proof=[base64.b64decode(h) for h in proof["hashes"]],
    )
    # A tree the log has not reached is not there (yet): 404. Sizes that can name no proof
    # are the caller's mistake: 400, on the parameter at fault.
    beyond = client.get("/api/v1/log/proof/consistency", {"first": 3, "second": 9})
    assert (beyond.status_code, beyond.json()["error"]["code"]) == (404, "not_found")
    assert "size 9 is beyond it" in beyond.json()["error"]["message"]
    beyond = client.get("/api/v1/log/proof/inclusion", {"index": 0, "size": 9})
    assert beyond.status_code == 404
    bad = client.get("/api/v1/log/proof/inclusion", {"index": 4, "size": 4})
    assert bad.status_code == 400
    assert "below size" in bad.json()["error"]["fields"]["index"][0]
    bad = client.get("/api/v1/log/proof/consistency", {"first": 3, "second": 2})
    assert bad.status_code == 400
    assert "must not exceed" in bad.json()["error"]["fields"]["first"][0]


def test_export_at_an_earlier_signed_checkpoint_gives_that_set(client, auth) -> None:
    _seed()
    response = client.get("/api/v1/exclusions/export", {"format": "txt", "size": 1}, **auth)
    assert b"".join(response.streaming_content) == b"github.com/a/b\n"
    assert response["X-Log-Size"] == "1"
    from registry.models import SignedCheckpoint

    with guards_off():
        SignedCheckpoint.objects.filter(size=2).delete()
    missing = client.get("/api/v1/exclusions/export", {"size": 2}, **auth)
    assert missing.status_code == 404
    assert "signed no checkpoint of size 2" in missing.json()["error"]["message"]


def test_an_export_is_written_once_per_checkpoint_and_then_served_from_file(
    client, auth, settings
) -> None:
    from django.http import FileResponse

    _seed()
    first = client.get("/api/v1/exclusions/export", {"format": "ndjson"}, **auth)
    first_body = b"".join(first.streaming_content)
    assert not isinstance(first, FileResponse)
    second = client.get("/api/v1/exclusions/export", {"format": "ndjson"}, **auth)
    assert isinstance(second, FileResponse)
    assert b"".join(second.streaming_content) == first_body
    assert second["ETag"] == first["ETag"]
    assert sorted(p.name.split(".", 1)[1] for p in export_dir().iterdir()) == ["ndjson"]


def test_an_abandoned_export_leaves_no_file(client, auth) -> None:
    _seed()
    response = client.get("/api/v1/exclusions/export", {"format": "csv"}, **auth)
    next(iter(response.streaming_content))
    response.close()  # the client went away after the first chunk
    assert [p.name for p in export_dir().iterdir()] == []


def test_only_the_newest_checkpoints_keep_export_files(client, auth) -> None:
    for i in range(5):
        exclusion_add(kind="repository", subject=f"github.com/a/r{i}", cause="c")
        b"".join(client.get("/api/v1/exclusions/export", **auth).streaming_content)
    assert sorted(int(p.name.split("-")[0]) for p in export_dir().iterdir()) == [3, 4, 5]


def test_positions_beyond_64_bits_are_refused_not_crashed_on(client) -> None:
    response = client.get("/api/v1/log/entries", {"start": 2**70, "end": 2**70})
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["start"] == [
        f"Ensure this value is less than or equal to {2**62}."
    ]


def test_a_request_during_a_build_gets_the_whole_list(client, auth) -> None:
    """While the precompute task is half-way through a file, a pipeline's request must not
    see the partial file: it gets the full list, and later requests the finished file."""
    from registry.export_entries import export_stream
    from registry.export_store import ExportStore

    _seed()
    checkpoint = checkpoint_latest()
    path = export_path(checkpoint.size, checkpoint.root_hash, "ndjson", gzip=False)
    expected = b"".join(export_stream(checkpoint.size, "ndjson"))
    building = ExportStore().writing(path.name, iter([expected[:10], expected[10:]]))
    next(building)  # the task has written the first chunk to its temporary file
    assert not path.exists()
    during = client.get("/api/v1/exclusions/export", {"format": "ndjson"}, **auth)
    assert b"".join(during.streaming_content) == expected
    for _ in building:
        pass
    after = client.get("/api/v1/exclusions/export", {"format": "ndjson"}, **auth)
    assert b"".join(after.streaming_content) == expected
    assert path.read_bytes() == expected


def test_a_revoked_token_is_refused_on_the_very_next_304(client, auth) -> None:
    from registry.models import PipelineToken

    exclusion_add(kind="repository", subject="github.com/a/b", cause="c:1")
    etag = client.get("/api/v1/exclusions/export", **auth)["ETag"]
    assert (
        client.get("/api/v1/exclusions/export", HTTP_IF_NONE_MATCH=etag, **auth).status_code == 304
    )
    PipelineToken.objects.update(revoked=True)
    refused = client.get("/api/v1/exclusions/export", HTTP_IF_NONE_MATCH=etag, **auth)
    assert refused.status_code == 401
    assert refused.json()["error"]["message"] == "The API token is unknown or revoked."


def test_a_304_is_one_indexed_query_after_the_token_s(
    client, auth, django_assert_num_queries
) -> None:
    exclusion_add(kind="repository", subject="github.com/a/b", cause="c:1")
    etag = client.get("/api/v1/exclusions/export", **auth)["ETag"]
    with django_assert_num_queries(2):  # the token, then the checkpoint head
        answer = client.get("/api/v1/exclusions/export", HTTP_IF_NONE_MATCH=etag, **auth)
    assert answer.status_code == 304
