"""The stand-alone client against a live server: honest, tampered, forked and gone."""

from __future__ import annotations

import contextlib
import hashlib
import http.server
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from registry import merkle
from registry.checkpoints import verifier_key
from registry.models import Exclusion, LogEntry, LogHead, MerkleNode, SignedCheckpoint
from registry.services import exclusion_add, exclusion_remove
from registry.signing import write_new_signing_key
from tests.registry.history import guards_off

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db(transaction=True)


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "registry.client", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        input=stdin,
        timeout=60,
        env={"PATH": "/usr/bin:/bin"},  # no DJANGO_SETTINGS_MODULE: the client needs none
    )


def snapshot(state_dir: Path) -> str:
    """A digest of every file and link in the state directory."""
    digest = hashlib.sha256()
    for path in sorted(state_dir.rglob("*")):
        digest.update(str(path.relative_to(state_dir)).encode())
        if path.is_symlink():
            digest.update(str(path.readlink()).encode())
        elif path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


@pytest.fixture
def synced(live_server, token, tmp_path) -> tuple[list[str], Path]:
    exclusion_add(kind="repository", subject="github.com/a/b", cause="c:1")
    exclusion_add(kind="namespace", subject="github.com/org", cause="c:2")
    exclusion_add(kind="repository", subject="github.com/x/y", cause="c:3")
    state = tmp_path / "state"
    base = ["--url", live_server.url, "--token", token, "--state-dir", str(state)]
    result = run("sync", *base, "--key", verifier_key())
    assert result.returncode == 0, result.stderr
    assert result.stdout == "synced: log size 3, 3 new entries, 3 exclusions in force\n"
    return base, state


def test_sync_pulls_then_updates_incrementally_and_check_answers(synced) -> None:
    base, state = synced
    exclusion_remove(kind="repository", subject="github.com/a/b", cause="c:1", reason="withdrawn")
    exclusion_add(kind="repository", subject="gitlab.com/g/sub/p", cause="c:4")
    result = run("sync", *base)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "synced: log size 5, 2 new entries, 3 exclusions in force\n"
    assert (state / "current" / "exclusions.tsv").read_text() == (
        "namespace\tgithub.com/org\nrepository\tgithub.com/x/y\nrepository\tgitlab.com/g/sub/p\n"
    )
    assert len(list((state / "snapshots").iterdir())) == 1  # the old snapshot is gone
    check = run("check", "--state-dir", str(state), "https://github.com/Org/Repo", "a/b", "x/y")
    assert check.returncode == 1
    assert check.stdout.splitlines() == [
        "excluded\tgithub.com/org/repo\tby namespace github.com/org",
        "allowed\tgithub.com/a/b",
        "excluded\tgithub.com/x/y\tby repository github.com/x/y",
    ]
    again = run("sync", *base)
    assert again.stdout == "synced: log size 5, 0 new entries, 3 exclusions in force\n"


def test_it_refuses_a_checkpoint_signed_by_another_key(synced, settings, tmp_path) -> None:
    base, state = synced
    before = snapshot(state)
    settings.LOG_SIGNING_KEY_FILE = tmp_path / "impostor.key"
    write_new_signing_key(settings.LOG_SIGNING_KEY_FILE)
    exclusion_add(kind="repository", subject="github.com/evil/one", cause="c:9")
    result = run("sync", *base)
    assert result.returncode == 1
    assert "REFUSED: The checkpoint does not verify: The signature's key id" in result.stderr
    assert snapshot(state) == before


def test_it_refuses_a_rewritten_entry(synced) -> None:
    base, state = synced
    before = snapshot(state)
    exclusion_add(kind="repository", subject="github.com/new/one", cause="c:4")
    entry = LogEntry.objects.get(index=3)
    with guards_off():
        LogEntry.objects.filter(index=3).update(leaf=entry.leaf.replace("new/one", "new/two"))
    result = run("sync", *base)
    assert result.returncode == 1
    assert "do not hash to the signed root: an entry was rewritten" in result.stderr
    assert snapshot(state) == before


def _fork_log(keep: int, new_subjects: list[str]) -> None:
    """Rewrite history as a dishonest server would: keep ``keep`` entries, append others,
    and sign the result with the log's real key."""
    with guards_off():
        LogEntry.objects.filter(index__gte=keep).delete()
        Exclusion.objects.filter(added_at_index__gte=keep).delete()
        SignedCheckpoint.objects.filter(size__gt=keep).delete()
    MerkleNode.objects.all().delete()
    frontier: list[bytes] = []
    for index, leaf in enumerate(LogEntry.objects.order_by("index").values_list("leaf", flat=True)):
        frontier, created = merkle.frontier_append(frontier, index, merkle.leaf_hash(leaf.encode()))
        MerkleNode.objects.bulk_create([MerkleNode(position=p, hash=h) for p, h in created])
    LogHead.objects.filter(id=1).update(size=keep, frontier=merkle.pack_hashes(frontier))
    for subject in new_subjects:
        exclusion_add(kind="repository", subject=subject, cause="fork")


def test_it_refuses_a_forked_log(synced) -> None:
    base, state = synced
    before = snapshot(state)
    _fork_log(2, ["github.com/other/one", "github.com/other/two"])  # size 4, validly signed
    result = run("sync", *base)
    assert result.returncode == 1
    assert "REFUSED: Inconsistent with the checkpoint trusted last" in result.stderr
    assert snapshot(state) == before


def test_it_refuses_a_fork_of_the_same_size_and_a_rollback(synced) -> None:
    base, state = synced
    before = snapshot(state)
    _fork_log(2, ["github.com/other/one"])  # size 3 again, another root
    same = run("sync", *base)
    assert same.returncode == 1
    assert "Two different roots for size 3: the log forked." in same.stderr
    _fork_log(2, [])
    with guards_off():
        SignedCheckpoint.objects.filter(size__gt=2).delete()
    rolled = run("sync", *base)
    assert rolled.returncode == 1
    assert "The log shrank from 3 to 2 entries" in rolled.stderr
    assert snapshot(state) == before


def test_it_fails_closed_when_the_server_is_unreachable(synced) -> None:
    base, state = synced
    before = snapshot(state)
    unreachable = ["--url", "http://127.0.0.1:9", *base[2:]]
    result = run("sync", *unreachable, "--timeout", "5")
    assert result.returncode == 2
    assert result.stderr.startswith("ERROR: GET /api/v1/log/checkpoint failed")
    assert snapshot(state) == before


class _Recorder(http.server.BaseHTTPRequestHandler):
    """A loopback server that redirects every call to ``target`` (or answers 200 when it
    is the target), recording the headers it was sent."""

    seen: list[dict[str, str]]
    target: str | None

    def do_GET(self) -> None:
        self.seen.append(dict(self.headers))
        if self.target:
            self.send_response(302)
            self.send_header("Location", self.target + self.path)
        else:
            self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@contextlib.contextmanager
def _server(target: str | None) -> Iterator[tuple[str, list[dict[str, str]]]]:
    handler = type("Handler", (_Recorder,), {"seen": [], "target": target})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler.seen
    finally:
        server.shutdown()
        server.server_close()


def test_it_follows_no_redirect_so_the_token_never_leaves(synced) -> None:
    base, state = synced
    before = snapshot(state)
    with _server(None) as (elsewhere, seen_elsewhere), _server(elsewhere) as (redirector, seen):
        result = run("sync", "--url", redirector, *base[2:])
    assert result.returncode == 2
    assert (
        "redirected (302)" in result.stderr and "give the final address as --url" in result.stderr
    )
    assert len(seen) == 1 and seen[0]["Authorization"].startswith("Api-Key ")
    assert seen_elsewhere == []  # the token went nowhere else
    assert snapshot(state) == before


@pytest.mark.parametrize("url", ["http://registry.example.org", "ftp://127.0.0.1", "127.0.0.1"])
def test_it_sends_no_token_in_clear_beyond_loopback(url, token, tmp_path) -> None:
    result = run("sync", "--url", url, "--token", token, "--state-dir", str(tmp_path / "s"))
    assert result.returncode == 2
    assert "must start with https://" in result.stderr
    assert not (tmp_path / "s").exists()


def test_first_sync_needs_a_pinned_key(live_server, token, tmp_path) -> None:
    state = tmp_path / "fresh"
    args = ["--url", live_server.url, "--token", token, "--state-dir", str(state)]
    result = run("sync", *args)
    assert result.returncode == 2
    assert "First sync: pass --key" in result.stderr
    assert not state.exists()
    check = run("check", "--state-dir", str(state), "a/b")
    assert (check.returncode, check.stderr) == (
        2,
        f"ERROR: No synced state in {state}; run sync first.\n",
    )


def test_the_client_imports_no_django() -> None:
    code = "import sys, registry.client; print(sorted(m for m in sys.modules if 'django' in m))"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.stdout == "[]\n"
