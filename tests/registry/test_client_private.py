"""``check --private``: answers from a static host's range files, sending only hash
prefixes, and refusing ranges that do not verify."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from registry.checkpoints import verifier_key
from registry.public_store import public_root
from registry.services import exclusion_add
from registry.signing import write_new_signing_key
from tests.registry.test_client import run

pytestmark = pytest.mark.django_db(transaction=True)  # checkpoints publish ranges on commit

REPOS = ["https://github.com/Org/Repo", "a/b", "x/y", "gitlab.com/g/sub/deep/p"]


@pytest.fixture
def registry_state() -> None:
    exclusion_add(kind="repository", subject="github.com/a/b", cause="c:1")
    exclusion_add(kind="namespace", subject="github.com/org", cause="c:2")
    exclusion_add(kind="namespace", subject="gitlab.com/g/sub", cause="c:3")


def test_it_answers_from_range_files_and_sends_no_name(registry_state, static_host) -> None:
    base, access_log = static_host
    result = run("check", "--private", base, "--key", verifier_key(), *REPOS)
    assert result.returncode == 1, result.stderr
    assert result.stdout.splitlines() == [
        "excluded\tgithub.com/org/repo\tby namespace github.com/org",
        "excluded\tgithub.com/a/b\tby repository github.com/a/b",
        "allowed\tgithub.com/x/y",
        "excluded\tgitlab.com/g/sub/deep/p\tby namespace gitlab.com/g/sub",
    ]
    paths = re.findall(r'"GET (\S+) HTTP', access_log.read_text())
    assert paths[:2] == ["/ranges/latest", "/ranges/3/manifest"]
    assert all(re.fullmatch(r"/ranges/(\d+/[0-9a-f]{3}|empty)", p) for p in paths[2:]), paths
    assert not any(word in "".join(paths) for word in ("org", "repo", "github", "gitlab"))


def test_it_binds_the_ranges_to_the_synced_checkpoint(registry_state, static_host, tmp_path):
    base, _ = static_host
    state = tmp_path / "state"
    synced = run(
        "sync", "--tiles", f"{base}/log", "--state-dir", str(state), "--key", verifier_key()
    )
    assert synced.returncode == 0, synced.stderr
    exclusion_add(kind="repository", subject="github.com/x/y", cause="c:4")  # ranges move on
    result = run("check", "--private", base, "--state-dir", str(state), "x/y")
    assert (result.returncode, result.stdout) == (
        1,
        "excluded\tgithub.com/x/y\tby repository github.com/x/y\n",
    )
    ranges = Path(public_root()) / "ranges"
    (ranges / "latest").write_text("3\n")  # a mirror serving the ranges of an older checkpoint
    run("sync", "--tiles", f"{base}/log", "--state-dir", str(state))
    older = run("check", "--private", base, "--state-dir", str(state), "x/y")
    assert older.returncode == 2
    assert "REFUSED: The ranges are of size 3, older than the trusted 4." in older.stderr


def test_it_refuses_a_changed_range_file(registry_state, static_host) -> None:
    base, _ = static_host
    ranges = Path(public_root()) / "ranges"
    for path in ranges.glob("*/[0-9a-f][0-9a-f][0-9a-f]"):
        path.write_text("")  # a mirror hiding every exclusion
    result = run("check", "--private", base, "--key", verifier_key(), "a/b")
    assert result.returncode == 2 and result.stdout == ""
    assert (
        "REFUSED: Range file" in result.stderr
        and "does not match the signed manifest" in result.stderr
    )


def test_it_refuses_a_manifest_signed_by_another_key(
    registry_state, static_host, settings, tmp_path
):
    base, _ = static_host
    key = verifier_key()
    settings.LOG_SIGNING_KEY_FILE = tmp_path / "impostor.key"
    write_new_signing_key(settings.LOG_SIGNING_KEY_FILE)
    exclusion_add(kind="repository", subject="github.com/evil/one", cause="c:9")
    result = run("check", "--private", base, "--key", key, "a/b")
    assert result.returncode == 2 and result.stdout == ""
    assert "REFUSED: The range manifest does not verify" in result.stderr
