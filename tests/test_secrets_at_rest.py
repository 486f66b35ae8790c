"""No secret reaches a log or the database: a whole journey through the real processes.

gunicorn (its access log in a file), a Celery worker and the pipeline client run as in
production, every log at DEBUG, e-mail through SMTP to a sink on loopback. An owner submits
and opens the e-mailed private link, proves control through a git server on loopback and
withdraws later; a maintainer approves in the admin; a release runs; a pipeline token is
created, used and synced with. Then every text, JSON and bytea column of every table, and
every log line, is searched for each secret the journey issued: the status token, the
status page's cookie, the pipeline token, the log's signing key (its seed, in each
encoding) and the maintainer's password. Marked ``reliability``: it needs the real
services, as that suite does.
"""

from __future__ import annotations

import base64
import email
import email.policy
import json
import re
import socketserver
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest
import requests
from django.conf import settings

from tests.optout.servers import GitServer
from tests.reliability.conftest import AdminSession
from tests.reliability.stack import ROOT, Stack, wait_until

pytestmark = pytest.mark.reliability

LOOPBACK_HOST = "git.loopback.test"
MAINTAINER_PASSWORD = "pw-maint-1"  # tests/reliability/driver.py "setup"


class _SmtpHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP for Django's backend: every message is kept, nothing is checked."""

    def handle(self) -> None:
        self.wfile.write(b"220 sink\r\n")
        data: list[bytes] | None = None
        for line in self.rfile:
            if data is not None:
                if line.rstrip(b"\r\n") == b".":
                    self.server.messages.append(b"".join(data))  # type: ignore[attr-defined]
                    data = None
                    self.wfile.write(b"250 kept\r\n")
                else:
                    data.append(line[1:] if line.startswith(b"..") else line)
                continue
            verb = line[:4].upper()
            if verb == b"DATA":
                data = []
                self.wfile.write(b"354 go on\r\n")
            elif verb == b"QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"250 ok\r\n")


class SmtpSink(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _SmtpHandler)
        self.messages: list[bytes] = []
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def bodies(self) -> list[str]:
        texts = []
        for raw in self.messages:
            message = email.message_from_bytes(raw, policy=email.policy.default)
            texts.append(message.get_body(preferencelist=("plain",)).get_content())
        return texts


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[tuple[Stack, GitServer, SmtpSink, Path]]:
    folder = tmp_path_factory.mktemp("secrets")
    git = GitServer(root=folder / "git")
    git.root.mkdir()
    git.start()
    sink = SmtpSink()
    stack = Stack(folder)
    logs = folder / "logs"
    logs.mkdir()
    stack.env.update(
        LOG_LEVEL="DEBUG",
        SITE_URL=stack.base_url,
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=str(sink.server_address[1]),
        OPTOUT_OUTBOUND_ALLOW_LOOPBACK="true",
        REGISTRY_EXTRA_FORGES=json.dumps(
            [{"host": LOOPBACK_HOST, "web_base_url": git.base_url, "api_flavour": "github"}]
        ),
    )
    stack.start(
        "web",
        [
            sys.executable,
            "-m",
            "gunicorn",
            "governance.wsgi",
            "--access-logfile",
            str(logs / "access.log"),
            "--log-level",
            "debug",
        ],
    )
    wait_until(lambda: _answers(stack.base_url + "/healthz"), 60, "gunicorn starts")
    stack.worker("w1", concurrency=1)
    try:
        yield stack, git, sink, logs
    finally:
        stack.close()
        git.stop()
        sink.shutdown()


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code < 500
    except requests.RequestException:
        return False


class Browser:
    """A browser without JavaScript, over HTTP: cookies kept, CSRF tokens sent back."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = requests.Session()

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.http.get(self.base_url + path, timeout=60, **kwargs)

    def post(self, path: str, data: dict, **kwargs) -> requests.Response:
        if "csrftoken" not in self.http.cookies:
            self.get(path)
        data = {**data, "csrfmiddlewaretoken": self.http.cookies["csrftoken"]}
        return self.http.post(self.base_url + path, data=data, timeout=60, **kwargs)


def _open_private_link(browser: Browser, link: str) -> str:
    """What the status page's script does with ``/requests/<id>/#t=…``: the browser asks
    for the address without the fragment, then posts the fragment's token to the form."""
    path, fragment = link.split("#", 1)
    assert browser.get(path).status_code == 404  # the token form
    opened = browser.post(path, {"token": fragment.removeprefix("t=")}, allow_redirects=False)
    assert (opened.status_code, opened.headers["Location"]) == (303, path)
    return path


def _run_journey(stack: Stack, git: GitServer, sink: SmtpSink) -> dict[str, object]:
    base = stack.base_url
    owner = Browser(base)
    submitted = owner.post(
        "/requests/new/",
        {"subjects": f"{LOOPBACK_HOST}/alice/tool", "contact_email": "alice@example.org"},
    )
    assert submitted.status_code == 201, submitted.text[:2000]
    verification_token = re.search(r"Your token is <code>([0-9a-f]{32})</code>", submitted.text)[1]
    wait_until(lambda: sink.messages, 60, "the confirmation e-mail")
    (link,) = re.findall(rf"{re.escape(base)}(/requests/\S+)", sink.bodies()[0])
    status_token = link.split("#t=")[1]
    assert "?" not in link

    # The owner opens the e-mailed link in another browser, and proves control.
    elsewhere = Browser(base)
    page = _open_private_link(elsewhere, link)
    git.create_repository("alice/tool", {".dataset-optout": verification_token + "\n"})
    elsewhere.post(f"{page}verify/", {})
    wait_until(
        lambda: '<span class="status">Verified</span>' in elsewhere.get(page).text,
        90,
        "the request verified by the worker",
    )

    # A maintainer approves it in the admin; a release runs.
    stack.drive("dataset", folder=str(stack.folder), spec={"shards": 2, "rows_per_shard": 50})
    admin = AdminSession(base, password=MAINTAINER_PASSWORD)
    request_id = int(re.search(r"/admin/optout/removalrequest/(\d+)/change/", _queue(admin))[1])
    approved = admin.action(
        "/admin/optout/removalrequest/", "approve", [request_id], reason="control proven"
    )
    assert approved.status_code == 200
    wait_until(
        lambda: (
            '<span class="status">Approved</span>' in elsewhere.get(page).text
            or '<span class="status">Applied</span>' in elsewhere.get(page).text
        ),
        60,
        "the request approved",
    )
    stack.drive("release")
    wait_until(
        lambda: [v["status"] for v in stack.drive("state")["versions"]] == ["published"],
        180,
        "the release published",
    )

    # A pipeline token, created once, used on the API and by the stand-alone client.
    api_token = stack.drive("token", name="mirror")
    auth = {"Authorization": f"Api-Key {api_token}"}
    export = requests.get(
        f"{base}/api/v1/exclusions/export?format=ndjson", headers=auth, timeout=60
    )
    assert export.status_code == 200 and f"{LOOPBACK_HOST}/alice/tool" in export.text
    bulk = requests.post(
        f"{base}/api/v1/check",
        data=f"{LOOPBACK_HOST}/alice/tool\n",
        headers={**auth, "Content-Type": "text/plain"},
        timeout=60,
    )
    assert bulk.status_code == 200
    owner_api = requests.get(
        f"{base}/api/v1/requests/{page.split('/')[2]}/",
        headers={"X-Status-Token": status_token},
        timeout=60,
    )
    assert owner_api.json()["status"] in ("approved", "applied")
    key = requests.get(f"{base}/.well-known/opt-out-log-key", timeout=30).text.strip()
    sync = subprocess.run(
        [
            sys.executable,
            "-m",
            "registry.client",
            "sync",
            "--url",
            base,
            "--token",
            api_token,
            "--state-dir",
            str(stack.folder / "client-state"),
            "--key",
            key,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert sync.returncode == 0, sync.stderr
    wrong = requests.get(
        f"{base}/api/v1/exclusions/export",
        headers={"Authorization": "Api-Key " + api_token[:-4] + "zzzz"},
        timeout=30,
    )
    assert wrong.status_code in (401, 403)

    # The owner withdraws from the page; the e-mails keep coming with the fragment link.
    withdrawn = elsewhere.post(f"{page}withdraw/", {"reason": "", "confirm": "on"})
    assert '<span class="status">Withdrawn</span>' in withdrawn.text
    wait_until(lambda: len(sink.messages) >= 4, 60, "the owner's e-mails")
    assert all(f"{base}{link}" in body for body in sink.bodies())
    return {
        "status_cookie": elsewhere.http.cookies["optout_status"],
        "status_token": status_token,
        "verification_token": verification_token,
        "api_token": api_token,
        "page": page,
        "link": link,
    }


def _queue(admin: AdminSession) -> str:
    return admin.http.get(f"{admin.base_url}/admin/optout/removalrequest/", timeout=60).text


def _secrets(journey: dict[str, object], stack: Stack) -> dict[str, bytes]:
    seed_b64 = (stack.folder / "log-signing.key").read_text().strip()
    seed = base64.b64decode(seed_b64)
    api_token = str(journey["api_token"])
    return {
        "status token": str(journey["status_token"]).encode(),
        "status page's cookie": str(journey["status_cookie"]).encode(),
        "pipeline token": api_token.encode(),
        "pipeline token's secret part": api_token.split(".", 1)[1].encode(),
        "signing key seed (base64)": seed_b64.encode(),
        "signing key seed (hex)": seed.hex().encode(),
        "signing key seed (bytes)": seed,
        "maintainer's password": MAINTAINER_PASSWORD.encode(),
    }


def _database_hits(stack: Stack, secrets: dict[str, bytes]) -> list[str]:
    """Every (table.column, secret) where a text, JSON or bytea column holds a secret."""
    db = settings.DATABASES["default"]
    connection = psycopg2.connect(
        dbname=stack.db_name,
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
        user=db["USER"],
        password=db["PASSWORD"] or None,
    )
    hits = []
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT table_name, column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = 'public' AND data_type IN "
                "('text', 'character varying', 'character', 'json', 'jsonb', 'bytea')"
            )
            columns = cursor.fetchall()
            assert len(columns) > 50  # every app's tables, not an empty schema
            for table, column, kind in columns:
                for name, secret in secrets.items():
                    if kind == "bytea":
                        sql = f'SELECT count(*) FROM "{table}" WHERE position(%s IN "{column}") > 0'
                        cursor.execute(sql, (psycopg2.Binary(secret),))
                    else:
                        try:
                            text = secret.decode()
                        except UnicodeDecodeError:
                            continue  # raw key bytes: only a bytea column could hold them
                        sql = (
                            f'SELECT count(*) FROM "{table}" WHERE strpos("{column}"::text, %s) > 0'
                        )
                        cursor.execute(sql, (text,))
                    if cursor.fetchone()[0]:
                        hits.append(f"{table}.{column}: {name}")
    finally:
        connection.close()
    return hits


def _log_hits(logs: Path, secrets: dict[str, bytes]) -> list[str]:
    return [
        f"{path.name}: {name}"
        for path in sorted(logs.iterdir())
        for name, secret in secrets.items()
        if secret in path.read_bytes()
    ]


def test_a_whole_journey_leaves_no_secret_in_the_database_or_the_logs(site) -> None:
    stack, git, sink, logs = site
    journey = _run_journey(stack, git, sink)
    for process in stack.processes:  # gunicorn's and the worker's own output, at DEBUG
        (logs / f"{process.name}.log").write_text(process.log())
    secrets = _secrets(journey, stack)

    assert (logs / "access.log").stat().st_size > 0
    assert "POST /requests/" in (logs / "access.log").read_text()
    assert re.search(r"DEBUG", (logs / "web.log").read_text())  # the level really was DEBUG
    assert _log_hits(logs, secrets) == []
    assert _database_hits(stack, secrets) == []

    # The scans find what is there: the e-mails hold the link, the database holds the
    # (public, once used) verification token.
    (logs.parent / "mailbox").mkdir()
    (logs.parent / "mailbox" / "sent.txt").write_text("\n".join(sink.bodies()))
    assert _log_hits(logs.parent / "mailbox", secrets) == ["sent.txt: status token"]
    verification = {"verification token": str(journey["verification_token"]).encode()}
    assert "optout_removalrequest.verification_token: verification token" in (
        _database_hits(stack, verification)
    )

    # A link of the former kind, already in someone's inbox, still opens the page once:
    # that visit alone writes its token to the access log, in the request line.
    old = Browser(stack.base_url)
    page = str(journey["page"])
    before = (logs / "access.log").read_text()
    answer = old.get(f"{page}?token={journey['status_token']}", allow_redirects=False)
    assert (answer.status_code, answer.headers["Location"]) == (303, page)
    assert old.get(page).status_code == 200
    wait_until(
        lambda: (logs / "access.log").read_text().count("\n") >= before.count("\n") + 2,
        10,
        "the access log's lines",
    )
    token = secrets["status token"].decode()
    lines = [line for line in (logs / "access.log").read_text().splitlines() if token in line]
    assert len(lines) == 1 and f"GET {page}?token=" in lines[0]
