"""The stand-alone client synced from a static copy of the tiles (``python -m http.server``,
no Django), and every tampering it refuses from the API refused from the tiles too."""

from __future__ import annotations

from pathlib import Path

import pytest

from registry.checkpoints import checkpoint_signed, verifier_key
from registry.public_store import public_root
from registry.services import exclusion_add, exclusion_add_many, exclusion_remove
from registry.signing import write_new_signing_key
from tests.registry.test_client import _fork_log, run, snapshot

pytestmark = pytest.mark.django_db(transaction=True)  # checkpoints publish tiles on commit


@pytest.fixture
def static_mirror(static_host) -> str:
    return f"{static_host[0]}/log"


def _log_dir() -> Path:
    return Path(public_root()) / "log"


@pytest.fixture
def synced(static_mirror, tmp_path) -> tuple[list[str], Path]:
    exclusion_add(kind="repository", subject="github.com/a/b", cause="c:1")
    exclusion_add(kind="namespace", subject="github.com/org", cause="c:2")
    exclusion_add(kind="repository", subject="github.com/x/y", cause="c:3")
    state = tmp_path / "state"
    base = ["--tiles", static_mirror, "--state-dir", str(state)]
    result = run("sync", *base, "--key", verifier_key())
    assert result.returncode == 0, result.stderr
    assert result.stdout == "synced: log size 3, 3 new entries, 3 exclusions in force\n"
    return base, state


def test_it_syncs_from_static_tiles_then_incrementally(synced) -> None:
    base, state = synced
    exclusion_remove(kind="repository", subject="github.com/a/b", cause="c:1", reason="withdrawn")
    exclusion_add_many(
        subjects=[("repository", f"gitlab.com/g/sub/p{i}") for i in range(300)], cause="c:4"
    )
    result = run("sync", *base)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "synced: log size 304, 301 new entries, 302 exclusions in force\n"
    check = run("check", "--state-dir", str(state), "https://github.com/Org/Repo", "a/b")
    assert check.stdout.splitlines() == [
        "excluded\tgithub.com/org/repo\tby namespace github.com/org",
        "allowed\tgithub.com/a/b",
    ]
    assert run("sync", *base).stdout.startswith("synced: log size 304, 0 new entries")


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


def test_it_refuses_a_rewritten_entry_in_a_bundle(synced) -> None:
    base, state = synced
    before = snapshot(state)
    exclusion_add(kind="repository", subject="github.com/new/one", cause="c:4")
    bundle = _log_dir() / "tile/entries/000.p/4"
    bundle.write_bytes(bundle.read_bytes().replace(b"new/one", b"new/two"))
    result = run("sync", *base)
    assert result.returncode == 1
    assert "do not hash to the signed root: an entry was rewritten" in result.stderr
    assert snapshot(state) == before


def test_it_refuses_a_changed_tile(synced) -> None:
    base, state = synced
    before = snapshot(state)
    exclusion_add(kind="repository", subject="github.com/new/one", cause="c:4")
    tile = _log_dir() / "tile/0/000.p/4"
    tile.write_bytes(b"\x00" * 32 + tile.read_bytes()[32:])
    result = run("sync", *base)
    assert result.returncode == 1
    assert "The tiles do not hash to the signed root" in result.stderr
    assert snapshot(state) == before


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
    two = checkpoint_signed(2).note
    _fork_log(2, ["github.com/other/one"])  # size 3 again, another root
    (_log_dir() / "checkpoint").write_text(checkpoint_signed(3).note)  # a dishonest mirror
    same = run("sync", *base)
    assert same.returncode == 1
    assert "Two different roots for size 3: the log forked." in same.stderr
    (_log_dir() / "checkpoint").write_text(two)
    rolled = run("sync", *base)
    assert rolled.returncode == 1
    assert "The log shrank from 3 to 2 entries" in rolled.stderr
    assert snapshot(state) == before


def test_it_fails_closed_when_a_tile_is_missing_or_the_mirror_is_gone(synced) -> None:
    base, state = synced
    before = snapshot(state)
    exclusion_add(kind="repository", subject="github.com/new/one", cause="c:4")
    (_log_dir() / "tile/entries/000.p/4").unlink()
    missing = run("sync", *base)
    assert missing.returncode == 2
    assert "GET /tile/entries/000.p/4 answered 404" in missing.stderr
    gone = run("sync", "--tiles", "http://127.0.0.1:9/log", *base[2:], "--timeout", "5")
    assert gone.returncode == 2
    assert gone.stderr.startswith("ERROR: GET /checkpoint failed")
    assert snapshot(state) == before
