"""Downstream receipts: what is accepted, what is refused, the receipts log's proofs, the
API, the public page, the admin, and the client's ``ack`` end to end."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from django.contrib.auth import get_user_model

from registry import merkle, notes
from registry import receipts_format as fmt
from registry.checkpoints import checkpoint_signed, verifier_key
from registry.models import DownstreamKey, PipelineToken, Receipt
from registry.receipts import (
    ReceiptRefused,
    downstream_key_add,
    downstream_key_revoke,
    downstream_status,
    downstream_user_register,
    receipt_consistency_proof,
    receipt_inclusion_proof,
    receipt_submit,
    receipts_checkpoint,
    receipts_root,
)
from registry.services import exclusion_add
from registry.tokens import token_create
from tests.registry.test_client import run

PIPELINE_KEY = Ed25519PrivateKey.generate()


def _note(
    *, user="acme", size=2, root=None, key=PIPELINE_KEY, name="acme-2026", dataset="acme-code"
) -> str:
    body = fmt.ReceiptBody(
        origin=settings.LOG_NAME,
        user=user,
        dataset=dataset,
        size=size,
        root=root if root is not None else checkpoint_signed(size).root_hash,
        manifest_sha256=hashlib.sha256(b"manifest").hexdigest(),
        applied_at=dt.datetime(2026, 12, 3, 20, 0, tzinfo=dt.UTC),
    )
    return notes.sign_note(fmt.receipt_text(body), name, key)


@pytest.fixture
def acme(db):
    exclusion_add(kind="repository", subject="github.com/a/b", cause="c:1")
    exclusion_add(kind="repository", subject="github.com/a/c", cause="c:2")
    token, key = token_create(name="acme", scopes=["registry:read"])
    user = downstream_user_register(name="acme", token=token, description="Acme's model")
    downstream_key_add(
        user=user, verifier_key=str(notes.verifier_key_for("acme-2026", PIPELINE_KEY))
    )
    return user, token, key


def test_a_receipt_is_logged_and_proved_in_the_receipts_log(acme) -> None:
    user, token, _ = acme
    first = receipt_submit(note=_note(size=1), token=token)
    second = receipt_submit(note=_note(size=2), token=token)
    assert (first.index, second.index, second.dataset, second.checkpoint_size) == (
        0,
        1,
        "acme-code",
        2,
    )
    leaves = [merkle.leaf_hash(r.leaf.encode()) for r in Receipt.objects.order_by("index")]
    assert receipts_root(2) == merkle.merkle_root(leaves)
    merkle.verify_inclusion(
        index=0, size=2, leaf=leaves[0], proof=receipt_inclusion_proof(0, 2), root=receipts_root(2)
    )
    merkle.verify_consistency(
        first=1,
        second=2,
        first_root=receipts_root(1),
        second_root=receipts_root(2),
        proof=receipt_consistency_proof(1, 2),
    )
    text = notes.verify_note(receipts_checkpoint(), notes.parse_verifier_key(verifier_key()))
    parsed = notes.parse_checkpoint(text, origin=f"{settings.LOG_NAME}/receipts")
    assert (parsed.size, parsed.root_hash) == (2, receipts_root(2))
    exclusion_add(kind="repository", subject="github.com/a/d", cause="c:3")
    (row,) = downstream_status()
    assert (row.user, row.newest, row.entries_behind) == (user, second, 1)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"size": 2, "root": b"\x01" * 32}, "never signed a checkpoint of size 2"),
        ({"size": 7, "root": b"\x01" * 32}, "never signed a checkpoint of size 7"),
        ({"key": Ed25519PrivateKey.generate()}, "The receipt does not verify"),
        ({"name": "stranger"}, "'stranger', which is not a registered live key"),
        ({"user": "someone-else"}, "names 'someone-else', but its key belongs to 'acme'"),
    ],
)
def test_it_refuses_a_receipt_that_does_not_hold(acme, change, message) -> None:
    _, token, _ = acme
    with pytest.raises(ReceiptRefused, match=message):
        receipt_submit(note=_note(**change), token=token)
    assert not Receipt.objects.exists()


def test_it_refuses_a_revoked_key_and_another_pipelines_token(acme) -> None:
    _, token, _ = acme
    other, _ = token_create(name="other", scopes=["registry:read"])
    with pytest.raises(ReceiptRefused, match="with its own pipeline token"):
        receipt_submit(note=_note(), token=other)
    downstream_key_revoke(key_id=DownstreamKey.objects.get().id)
    with pytest.raises(ReceiptRefused, match="not a registered live key"):
        receipt_submit(note=_note(), token=token)


def test_the_api_takes_a_receipt_and_reports_each_user(acme, client) -> None:
    _, _, key = acme
    auth = {"HTTP_AUTHORIZATION": f"Api-Key {key}"}
    posted = client.post("/api/v1/receipts/", _note(), content_type="text/plain", **auth)
    assert posted.status_code == 201
    assert posted.json() == {
        "index": 0,
        "user": "acme",
        "dataset": "acme-code",
        "checkpoint_size": 2,
    }
    refused = client.post(
        "/api/v1/receipts/", _note(size=1, root=b"\x02" * 32), content_type="text/plain", **auth
    )
    assert refused.status_code == 400
    assert "never signed" in refused.json()["error"]["message"]
    assert client.post("/api/v1/receipts/", _note(), content_type="text/plain").status_code == 401
    listed = client.get("/api/v1/receipts/").json()["downstream"]
    assert [(r["name"], r["applied_size"], r["entries_behind"]) for r in listed] == [("acme", 2, 0)]
    page = client.get("/downstream/").content.decode()
    assert "acme" in page and "acme-code" in page and "up to date" in page
    proof = client.get("/api/v1/receipts/proof/inclusion?index=0&size=1").json()
    assert proof == {"index": 0, "size": 1, "hashes": []}
    consistency = client.get("/api/v1/receipts/proof/consistency?first=1&second=1").json()
    assert consistency == {"first": 1, "second": 1, "hashes": []}


@pytest.mark.parametrize(
    ("query", "status", "code", "fields"),
    [
        ("inclusion?index=0&size=9", 404, "not_found", {}),
        ("consistency?first=0&second=5", 404, "not_found", {}),
        (
            "inclusion?index=3&size=1",
            400,
            "invalid",
            {"index": ["index (3) must be below size (1)."]},
        ),
        (
            "consistency?first=1&second=0",
            400,
            "invalid",
            {"first": ["first (1) must not exceed second (0)."]},
        ),
    ],
)
def test_a_receipts_proof_that_cannot_be_given_is_refused_in_the_error_shape(
    acme, client, query, status, code, fields
) -> None:
    _, _, key = acme
    auth = {"HTTP_AUTHORIZATION": f"Api-Key {key}"}
    client.post("/api/v1/receipts/", _note(), content_type="text/plain", **auth)
    response = client.get(f"/api/v1/receipts/proof/{query}")
    assert response.status_code == status
    error = response.json()["error"]
    assert (error["code"], error["fields"]) == (code, fields)
    assert "ErrorDetail" not in error["message"]  # a sentence, not a Python repr


def test_maintainers_register_users_and_keys_in_the_admin_and_cannot_edit_them(acme, client):
    maintainer = get_user_model().objects.create_superuser("maint", "m@example.org", "pw-42-long")
    client.force_login(maintainer)
    token = PipelineToken.objects.get(name="acme")
    added = client.post(
        "/admin/registry/downstreamuser/add/",
        {"name": "beta", "description": "", "token": token.pk},
    )
    assert added.status_code == 302
    bad = client.post(
        "/admin/registry/downstreamuser/add/", {"name": "Bad_Name", "token": token.pk}
    )
    assert "lowercase letters" in bad.content.decode()
    key = str(notes.verifier_key_for("beta-1", Ed25519PrivateKey.generate()))
    user_id = client.get("/admin/registry/downstreamuser/").context["cl"].result_list[0].pk
    assert (
        client.post(
            "/admin/registry/downstreamkey/add/", {"user": user_id, "verifier_key": key}
        ).status_code
        == 302
    )
    assert (
        client.post(
            "/admin/registry/downstreamkey/add/", {"user": user_id, "verifier_key": "x+y"}
        ).status_code
        == 200
    )
    for page in ("downstreamuser", "downstreamkey", "receipt"):
        assert client.get(f"/admin/registry/{page}/").status_code == 200
    acme_key = DownstreamKey.objects.get(key_name="acme-2026")
    assert client.get(f"/admin/registry/downstreamkey/{acme_key.pk}/delete/").status_code == 403


@pytest.mark.django_db(transaction=True)
def test_the_client_acks_a_synced_checkpoint_and_it_shows_on_the_page(live_server, tmp_path):
    exclusion_add(kind="repository", subject="github.com/a/b", cause="c:1")
    token, key = token_create(name="acme", scopes=["registry:read"])
    user = downstream_user_register(name="acme", token=token)
    keyfile = tmp_path / "acme.key"
    made = run("keygen", "--name", "acme-2026", "--out", str(keyfile))
    assert made.returncode == 0, made.stderr
    downstream_key_add(user=user, verifier_key=made.stdout.strip())
    state = tmp_path / "state"
    base = ["--url", live_server.url, "--token", key, "--state-dir", str(state)]
    assert run("sync", *base, "--key", verifier_key()).returncode == 0
    manifest = tmp_path / "manifest.json"
    manifest.write_text('{"files": []}')
    acked = run(
        "ack", *base, "--user", "acme", "--dataset", "acme-code", "--manifest", str(manifest),
        "--signing-key", str(keyfile),
    )  # fmt: skip
    assert acked.returncode == 0, acked.stderr
    assert acked.stdout == "acknowledged: receipt 0, checkpoint size 1 applied to acme-code\n"
    receipt = Receipt.objects.get()
    assert receipt.manifest_sha256 == hashlib.sha256(manifest.read_bytes()).hexdigest()
    assert base64.b64encode(bytes(receipt.checkpoint_root)).decode() in receipt.note
    wrong_user = run(
        "ack", *base, "--user", "mallory", "--dataset", "x", "--signing-key", str(keyfile)
    )
    assert wrong_user.returncode == 2 and "but its key belongs to 'acme'" in wrong_user.stderr


def test_an_owners_status_page_counts_the_downstream_users_that_applied_it(acme, client):
    from tests.factories import approve, make_request, open_status_page

    _, token, _ = acme
    request = approve(make_request(["github.com/owner/repo"]))
    path = open_status_page(client, request)
    assert (
        "Not yet in a published version of our dataset; applied by 0 of 1 registered "
        "downstream user ("
    ) in client.get(path).content.decode()
    receipt_submit(note=_note(size=3), token=token)  # the checkpoint that added it
    page = client.get(path).content.decode()
    assert "applied by 1 of 1 registered downstream user (" in page
    assert 'href="/downstream/"' in page


@pytest.mark.django_db(transaction=True)  # releases run their steps after commit
def test_an_applied_requests_page_names_our_version_and_the_downstream_users(
    acme, client, tmp_path
):
    from governance.releases import release_start
    from optout.enums import RequestStatus
    from registry.selectors import log_size
    from tests.factories import approve, make_dataset, make_request, open_status_page

    _, token, _ = acme
    dataset = make_dataset(tmp_path)
    release_start(dataset_id=dataset.id)  # 1.0.0, before the request
    request = approve(make_request(["github.com/owner/repo"]))
    release_start(dataset_id=dataset.id)  # 1.0.1 applies it
    request.refresh_from_db()
    assert request.status == RequestStatus.APPLIED
    path = open_status_page(client, request)

    before = client.get(path).content.decode()
    receipt_submit(note=_note(size=log_size()), token=token)
    after = client.get(path).content.decode()

    assert (
        "Applied by our dataset (version 1.0.1) and by 0 of 1 registered downstream user ("
    ) in before
    assert (
        "Applied by our dataset (version 1.0.1) and by 1 of 1 registered downstream user ("
    ) in after
