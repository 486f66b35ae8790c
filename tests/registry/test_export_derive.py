"""An export derived from an earlier checkpoint's file has the bytes of a full render."""

from __future__ import annotations

import random

import pytest

from registry import export_entries, export_formats
from registry.checkpoints import checkpoint_latest
from registry.export_derive import derived_stream
from registry.export_entries import export_stream
from registry.export_formats import gzip_stream
from registry.export_store import ExportStore
from registry.exports import export_file
from registry.services import exclusion_add, exclusion_remove
from tests.factories import toggle_exclusion
from tests.registry.exporting import export_path

pytestmark = pytest.mark.django_db

FORMATS = ["txt", "ndjson", "csv", "parquet"]
SUBJECTS = [
    ("repository", "github.com/o/plain"),
    ("repository", 'github.com/we,ird/"quoted"'),
    ("repository", "gitlab.com/g/ünï/cödé"),
    ("namespace", "github.com/org"),
    ("namespace", "gitlab.com/g/sub"),
] + [("repository", f"github.com/o/r{i}") for i in range(12)]


@pytest.mark.parametrize("fmt", FORMATS)
def test_each_checkpoint_derived_from_the_last_equals_a_full_render(fmt, monkeypatch) -> None:
    for module in (export_entries, export_formats):  # several row groups, regrouped
        monkeypatch.setattr(module, "PARQUET_PAGE", 4)
    rng = random.Random(fmt)
    active: set = set()
    for _ in range(10):
        toggle_exclusion(rng, SUBJECTS, active)
    checkpoint = checkpoint_latest()
    assert derived_stream(checkpoint.size, fmt, ExportStore()) is None  # nothing earlier on disk
    assert export_file(checkpoint.size, checkpoint.root_hash, fmt, gzip=False)
    for _ in range(8):
        for _ in range(rng.randrange(1, 5)):
            toggle_exclusion(rng, SUBJECTS, active)
        checkpoint = checkpoint_latest()
        derived = derived_stream(checkpoint.size, fmt, ExportStore())
        assert derived is not None
        full = b"".join(export_stream(checkpoint.size, fmt))
        assert b"".join(derived) == full
        assert export_file(checkpoint.size, checkpoint.root_hash, fmt, gzip=False)
        assert (
            export_path(checkpoint.size, checkpoint.root_hash, fmt, gzip=False).read_bytes() == full
        )


def test_an_entry_removed_and_added_again_moves_to_the_end() -> None:
    for subject in ("github.com/o/a", "github.com/o/b", "github.com/o/c"):
        exclusion_add(kind="repository", subject=subject, cause="c")
    first = checkpoint_latest()
    export_file(first.size, first.root_hash, "txt", gzip=False)
    exclusion_remove(kind="repository", subject="github.com/o/a", cause="c", reason="r")
    exclusion_add(kind="repository", subject="github.com/o/a", cause="c")
    exclusion_remove(kind="repository", subject="github.com/o/c", cause="c", reason="r")
    second = checkpoint_latest()
    assert (
        b"".join(derived_stream(second.size, "txt", ExportStore()))
        == b"github.com/o/b\ngithub.com/o/a\n"
    )


@pytest.mark.parametrize("fmt", ["txt", "parquet"])
def test_a_gzip_body_of_a_derived_export_is_the_full_renders(fmt) -> None:
    for i in range(9):
        exclusion_add(kind="repository", subject=f"github.com/o/r{i}", cause="c")
    first = checkpoint_latest()
    export_file(first.size, first.root_hash, fmt, gzip=False)
    exclusion_remove(kind="repository", subject="github.com/o/r4", cause="c", reason="r")
    exclusion_add(kind="namespace", subject="github.com/n", cause="c")
    second = checkpoint_latest()
    assert export_file(second.size, second.root_hash, fmt, gzip=True)
    gzipped = export_path(second.size, second.root_hash, fmt, gzip=True).read_bytes()
    assert gzipped == b"".join(gzip_stream(export_stream(second.size, fmt)))


def test_a_file_not_named_for_the_logs_checkpoint_is_not_used() -> None:
    """A file left by another database, say: its name carries another root."""
    exclusion_add(kind="repository", subject="github.com/o/a", cause="c")
    first = checkpoint_latest()
    export_file(first.size, first.root_hash, "txt", gzip=False)
    path = export_path(first.size, first.root_hash, "txt", gzip=False)
    path.write_bytes(b"github.com/not/in-this-log\n")
    path.rename(path.with_name(f"{first.size}-{'0' * 32}.txt"))
    exclusion_add(kind="repository", subject="github.com/o/b", cause="c")
    second = checkpoint_latest()
    assert derived_stream(second.size, "txt", ExportStore()) is None
    assert export_file(second.size, second.root_hash, "txt", gzip=False)
    assert (
        b"not/in-this-log"
        not in export_path(second.size, second.root_hash, "txt", gzip=False).read_bytes()
    )


def test_lines_are_dropped_whole_across_chunk_boundaries() -> None:
    from registry.export_derive import _without_lines

    chunks = [b"a/o/b\nx\no/", b"b\ny\no/b", b"b\no/b\n"]
    kept = b"".join(_without_lines(iter(chunks), [b"o/b\n", b"o/b\n"]))
    assert kept == b"a/o/b\nx\ny\no/bb\n"


def test_a_file_lacking_a_removed_line_fails_instead_of_keeping_later_ones() -> None:
    exclusion_add(kind="repository", subject="github.com/o/a", cause="c")
    exclusion_add(kind="repository", subject="github.com/o/b", cause="c")
    first = checkpoint_latest()
    export_file(first.size, first.root_hash, "txt", gzip=False)
    path = export_path(first.size, first.root_hash, "txt", gzip=False)
    path.write_bytes(b"github.com/o/b\n")  # damaged: github.com/o/a is missing
    exclusion_remove(kind="repository", subject="github.com/o/a", cause="c", reason="r")
    second = checkpoint_latest()
    with pytest.raises(RuntimeError, match="not the list its name says"):
        export_file(second.size, second.root_hash, "txt", gzip=False)
    assert not export_path(second.size, second.root_hash, "txt", gzip=False).exists()
