"""Redis stopped under a running portal: decisions are saved and reported as saved, reads
keep answering from PostgreSQL, and what could not be queued is sent once Redis is back."""

from __future__ import annotations

import time

import pytest
import requests

from tests.reliability.conftest import AdminSession
from tests.reliability.stack import Stack, wait_until

pytestmark = pytest.mark.reliability

REQUESTS = "/admin/optout/removalrequest/"


def test_approvals_while_the_broker_is_down_are_saved_and_e_mailed_after(
    stack: Stack, figure
) -> None:
    ids = stack.drive("seed_requests", count=100, prefix="down")
    stack.web()
    admin = AdminSession(stack.base_url)
    stack.redis.stop()

    timings = []
    for request_id in ids[:50]:  # one by one
        started = time.monotonic()
        answer = admin.action(REQUESTS, "approve", [request_id])
        timings.append(time.monotonic() - started)
        assert answer.status_code == 200, stack.processes[0].log()[-3000:]
        assert "1 request(s) approved" in answer.text
    started = time.monotonic()
    bulk = admin.action(REQUESTS, "approve", ids[50:])  # in bulk
    timings.append(time.monotonic() - started)
    assert bulk.status_code == 200, bulk.text[:2000]
    assert "50 request(s) approved" in bulk.text

    state = stack.drive("state")
    assert state["requests"] == {"approved": 100}
    assert state["exclusions_active"] == 100
    assert state["log_size"] == 100
    assert state["events_unnotified"] >= 100  # the e-mails wait in the outbox

    stack.redis.start()
    worker = stack.worker()
    for sweep in range(2):  # what beat's notify sweeper does every two minutes
        stack.drive("sweep", stale_seconds=0)
        try:
            wait_until(lambda: stack.drive("state")["events_unnotified"] == 0, 60, "e-mails")
            break
        except AssertionError:
            assert sweep == 0
    assert stack.drive("state")["events_unnotified"] == 0
    approvals = worker.count("Subject: ")
    figure("approve_click_seconds_max", round(max(timings), 3))
    figure("emails_after_redis_back", approvals)
    assert approvals >= 100


def test_release_now_with_the_broker_down_says_so_and_blocks_nothing(stack: Stack) -> None:
    stack.drive("dataset", folder=str(stack.folder), spec={"shards": 2, "rows_per_shard": 100})
    admin = AdminSession(stack.base_url)
    stack.redis.stop()
    try:
        answer = admin.action("/admin/governance/dataset/", "release_now", [1])
    finally:
        stack.redis.start()
    assert answer.status_code == 200, answer.text[:2000]
    assert "task queue (Redis) is unreachable" in answer.text
    versions = stack.drive("state")["versions"]
    assert [v["status"] for v in versions] == ["failed"]

    worker = stack.worker("w-release")
    again = admin.action("/admin/governance/dataset/", "release_now", [1])
    assert "Started" in again.text, again.text[:2000]
    wait_until(
        lambda: stack.drive("state")["versions"][-1]["status"] == "published", 120, "release"
    )
    worker.stop()


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/check?repo=github.com/down-0001/tool",
        "/api/v1/log/checkpoint",
        "/api/v1/log/entries?start=0&end=1",
        "/api/v1/log/proof/consistency?first=1&second=2",
        "/api/v1/exclusions/export?format=txt",
        "/healthz",
        "/",
        "/transparency/",
    ],
)
def test_reads_keep_answering_while_the_broker_is_down(stack: Stack, path: str) -> None:
    token = stack.drive("token", name=f"reader-{abs(hash(path)) % 10_000}")
    headers = {"Authorization": f"Api-Key {token}"}
    stack.redis.stop()
    try:
        answers = [
            requests.get(stack.base_url + path, headers=headers, timeout=30) for _ in range(5)
        ]
    finally:
        stack.redis.start()
    assert [a.status_code for a in answers] == [200] * 5, answers[0].text[:1000]
