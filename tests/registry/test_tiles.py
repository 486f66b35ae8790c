"""The log's static tiles: what is written, when, and that a reader written apart from our
Merkle code (RFC 6962 / RFC 9162 and C2SP tlog-tiles re-implemented below, with hashlib
only) gets the same roots and proofs as the log's own."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from registry import log
from registry.checkpoints import checkpoint_at, checkpoint_signed
from registry.models import PublishedMirror
from registry.public_store import public_root
from registry.services import exclusion_add, exclusion_add_many
from registry.tiles import tiles_publish

pytestmark = pytest.mark.django_db


# --- an independent reader ------------------------------------------------------------


class IndependentReader:
    """Reads a tlog-tiles folder as the C2SP text describes it, nothing imported."""

    def __init__(self, root: Path, size: int) -> None:
        self.root, self.size = root, size

    @staticmethod
    def _n(n: int) -> str:
        digits = f"{n:d}"
        digits = "0" * (-len(digits) % 3) + digits
        groups = [digits[i : i + 3] for i in range(0, len(digits), 3)]
        return "/".join(["x" + g for g in groups[:-1]] + [groups[-1]])

    def _file(self, kind: str, n: int, width: int) -> bytes:
        suffix = "" if width == 256 else f".p/{width}"
        return (self.root / "tile" / kind / (self._n(n) + suffix)).read_bytes()

    def hash_at(self, level: int, index: int) -> bytes:
        """The ``index``-th hash at tile level ``level`` (a subtree of 256**level leaves)."""
        count = self.size // 256**level
        tile = index // 256
        width = min(256, count - tile * 256)
        data = self._file(str(level), tile, width)
        assert len(data) == 32 * width
        offset = (index % 256) * 32
        return data[offset : offset + 32]

    def leaves(self) -> list[bytes]:
        out = []
        for tile in range((self.size + 255) // 256):
            data = self._file("entries", tile, min(256, self.size - tile * 256))
            at = 0
            while at < len(data):
                length = int.from_bytes(data[at : at + 2], "big")
                out.append(data[at + 2 : at + 2 + length])
                at += 2 + length
        return out

    def mth(self, lo: int, hi: int) -> bytes:
        n = hi - lo
        for level in range(3, 0, -1):  # a whole aligned 256**level block is one tile hash
            if n == 256**level and lo % n == 0:
                return self.hash_at(level, lo // n)
        if n == 1:
            return self.hash_at(0, lo)
        k = 1 << ((n - 1).bit_length() - 1)
        return hashlib.sha256(b"\x01" + self.mth(lo, lo + k) + self.mth(lo + k, hi)).digest()

    def path(self, m: int, lo: int, hi: int) -> list[bytes]:  # RFC 9162 §2.1.3.1
        n = hi - lo
        if n == 1:
            return []
        k = 1 << ((n - 1).bit_length() - 1)
        if m < k:
            return [*self.path(m, lo, lo + k), self.mth(lo + k, hi)]
        return [*self.path(m - k, lo + k, hi), self.mth(lo, lo + k)]

    def subproof(self, m: int, lo: int, hi: int, complete: bool) -> list[bytes]:  # §2.1.4.1
        n = hi - lo
        if m == n:
            return [] if complete else [self.mth(lo, hi)]
        k = 1 << ((n - 1).bit_length() - 1)
        if m <= k:
            return [*self.subproof(m, lo, lo + k, complete), self.mth(lo + k, hi)]
        return [*self.subproof(m - k, lo + k, hi, False), self.mth(lo, lo + k)]


# --- tests ------------------------------------------------------------------------------


def _store() -> Path:
    return Path(public_root()) / "log"


def test_an_independent_reader_gets_the_logs_roots_and_proofs() -> None:
    exclusion_add_many(
        subjects=[("repository", f"github.com/o{i}/r") for i in range(600)], cause="bulk"
    )
    for i in range(5):
        exclusion_add(kind="repository", subject=f"gitlab.com/g/sub/p{i}", cause=f"c:{i}")
    size = 605
    assert tiles_publish(size) == size
    reader = IndependentReader(_store(), size)
    leaves = reader.leaves()
    assert len(leaves) == size
    for index in (0, 255, 256, 599, 604):
        assert hashlib.sha256(b"\x00" + leaves[index]).digest() == reader.hash_at(0, index)
    assert reader.mth(0, size) == checkpoint_signed(size).root_hash
    for index in (0, 300, 511, 604):
        assert reader.path(index, 0, size) == log.inclusion_proof(index, size, current=size)
    for first in (1, 256, 300, 512, 600):
        assert reader.subproof(first, 0, size, True) == log.consistency_proof(
            first, size, current=size
        )
    note = (_store() / "checkpoint").read_text()
    assert note == checkpoint_signed(size).note


def test_each_publication_writes_only_what_the_log_gained() -> None:
    exclusion_add_many(
        subjects=[("repository", f"github.com/a/{i}") for i in range(300)], cause="x"
    )
    tiles_publish(300)
    full = _store() / "tile" / "0" / "000"
    before = full.stat().st_mtime_ns
    exclusion_add(kind="namespace", subject="github.com/late", cause="c:1")
    tiles_publish(301)
    assert full.stat().st_mtime_ns == before  # a full tile is never rewritten
    assert (_store() / "tile/0/001.p/44").exists() and (_store() / "tile/0/001.p/45").exists()
    assert (_store() / "tile/entries/001.p/45").exists()
    assert (_store() / "tile/1/000.p/1").exists()
    assert PublishedMirror.objects.get(name="tiles").size == 301


def test_an_older_checkpoint_published_late_leaves_the_newer_checkpoint_in_place() -> None:
    for i in range(3):
        exclusion_add(kind="repository", subject=f"github.com/a/{i}", cause=f"c:{i}")
    assert tiles_publish(3) == 3
    assert tiles_publish(2) == 3  # a task that ran late
    assert tiles_publish(3) == 3  # and one that ran twice
    assert (_store() / "checkpoint").read_text() == checkpoint_signed(3).note
    assert (_store() / "tile/0/000.p/2").exists()


def test_an_emptied_store_is_written_again_in_full() -> None:
    for i in range(3):
        exclusion_add(kind="repository", subject=f"github.com/a/{i}", cause=f"c:{i}")
    tiles_publish(3)
    for path in sorted(_store().rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    exclusion_add(kind="repository", subject="github.com/a/3", cause="c:3")
    tiles_publish(4)
    assert (_store() / "tile/0/000.p/4").read_bytes()[:32] == log._nodes([0])[0]
    assert (_store() / "tile/entries/000.p/4").exists()


def test_a_size_without_a_signed_checkpoint_is_not_published() -> None:
    exclusion_add_many(subjects=[("repository", "github.com/a/b")], cause="x")
    checkpoint_at(1)
    assert tiles_publish(5) == 0
    assert not (_store() / "checkpoint").exists()
