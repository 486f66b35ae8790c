"""Range files for private lookups: padding, the signed manifest, incremental writes."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from registry import notes
from registry import ranges_format as fmt
from registry.checkpoints import checkpoint_signed, verifier_key
from registry.models import PublishedMirror
from registry.public_store import public_root
from registry.ranges import ranges_publish
from registry.services import exclusion_add, exclusion_add_many, exclusion_remove


def _ranges() -> Path:
    return Path(public_root()) / "ranges"


def _manifest(size: int) -> tuple[int, bytes, dict[str, tuple[int, str]]]:
    note = (_ranges() / str(size) / "manifest").read_text()
    key = notes.parse_verifier_key(verifier_key())
    return fmt.parse_manifest(notes.verify_note(note, key), origin=key.name)


def _split(key: str) -> tuple[str, str]:
    digest = fmt.key_hash(key)
    return digest[:3], digest[3:]


def test_a_range_is_padded_to_whole_blocks_and_the_padding_drops_out() -> None:
    real = {fmt.key_hash(f"github.com/o/{i}")[3:] for i in range(33)}
    data = fmt.range_file(real)
    lines = data.decode().split()
    assert len(lines) == 64 and lines == sorted(lines)
    assert fmt.real_suffixes(data) == real
    assert len(fmt.EMPTY_FILE.decode().split()) == 32
    assert fmt.real_suffixes(fmt.EMPTY_FILE) == set()


def test_a_repository_is_looked_up_with_each_enclosing_namespace() -> None:
    assert fmt.lookup_keys("gitlab.com/g/sub/p") == [
        "gitlab.com/g/sub/p",
        "gitlab.com/g/*",
        "gitlab.com/g/sub/*",
    ]
    assert fmt.key_for("namespace", "gitlab.com/g/sub") == "gitlab.com/g/sub/*"


@pytest.mark.django_db
def test_the_first_publication_writes_every_range_under_a_signed_manifest() -> None:
    exclusion_add(kind="repository", subject="github.com/a/b", cause="c:1")
    exclusion_add(kind="namespace", subject="gitlab.com/g/sub", cause="c:2")
    assert ranges_publish(2) == 2
    size, root, files = _manifest(2)
    assert (size, root) == (2, checkpoint_signed(2).root_hash)
    assert len(files) == 4096
    for key in ("github.com/a/b", "gitlab.com/g/sub/*"):
        prefix, suffix = _split(key)
        where, digest = files[prefix]
        data = (_ranges() / str(where) / prefix).read_bytes()
        assert where == 2 and hashlib.sha256(data).hexdigest() == digest
        assert suffix in data.decode().split()
    empty = [p for p, (where, _) in files.items() if where == fmt.EMPTY]
    assert len(empty) == 4094
    assert hashlib.sha256((_ranges() / "empty").read_bytes()).hexdigest() == files[empty[0]][1]
    assert (_ranges() / "latest").read_text() == "2\n"


@pytest.mark.django_db
def test_a_checkpoint_rewrites_only_the_ranges_its_entries_touch() -> None:
    exclusion_add_many(
        subjects=[("repository", f"github.com/o/{i}") for i in range(2000)], cause="bulk"
    )
    ranges_publish(2000)
    exclusion_add(kind="repository", subject="github.com/new/one", cause="c:1")
    exclusion_remove(kind="repository", subject="github.com/o/7", cause="bulk", reason="w")
    ranges_publish(2002)
    written = sorted(p.name for p in (_ranges() / "2002").iterdir())
    touched = sorted({_split("github.com/new/one")[0], _split("github.com/o/7")[0]})
    assert written == sorted([*touched, "manifest"])
    _, _, before = _manifest(2000)
    _, _, after = _manifest(2002)
    assert {p for p in after if after[p] != before[p]} == set(touched)
    prefix, suffix = _split("github.com/o/7")
    assert suffix not in (_ranges() / "2002" / prefix).read_text().split()
    prefix, suffix = _split("github.com/new/one")
    assert suffix in (_ranges() / "2002" / prefix).read_text().split()
    # The incremental file is the one a full write gives.
    PublishedMirror.objects.filter(name="ranges").update(size=0)
    full = (_ranges() / "2002" / prefix).read_bytes()
    (_ranges() / "2002" / "manifest").unlink()
    ranges_publish(2002)
    assert (_ranges() / "2002" / prefix).read_bytes() == full
    assert _manifest(2002)[2] == after | {p: (2002, h) for p, (w, h) in after.items() if w > 0}


@pytest.mark.django_db
def test_a_late_or_repeated_run_changes_nothing() -> None:
    for i in range(3):
        exclusion_add(kind="repository", subject=f"github.com/a/{i}", cause=f"c:{i}")
    ranges_publish(3)
    manifest = (_ranges() / "3" / "manifest").read_bytes()
    assert ranges_publish(2) == 3 and ranges_publish(3) == 3
    assert not (_ranges() / "2").exists()
    assert (_ranges() / "3" / "manifest").read_bytes() == manifest
    assert (_ranges() / "latest").read_text() == "3\n"
