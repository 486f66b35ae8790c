"""Registry tasks: exports precomputed when a checkpoint is signed."""

from __future__ import annotations

import gzip
import time

import pytest

from registry.checkpoints import checkpoint_latest
from registry.exports import FORMATS, export_dir, export_path, export_stream
from registry.services import exclusion_add, exclusion_remove
from registry.tasks import exports_precompute


def _seed() -> None:
    exclusion_add(kind="repository", subject="github.com/a/b", cause="c")
    exclusion_add(kind="namespace", subject="github.com/org", cause="c")
    exclusion_add(kind="repository", subject='github.com/we,ird/"quoted"', cause="c")
    exclusion_remove(kind="repository", subject="github.com/a/b", cause="c", reason="r")


def _every_export(folder, checkpoint) -> dict[str, bytes]:
    return {
        f"{fmt}{'.gz' if packed else ''}": (folder / path.name).read_bytes()
        for fmt in FORMATS
        for packed in (False, True)
        for path in [export_path(checkpoint.size, checkpoint.root_hash, fmt, gzip=packed)]
    }


def _assert_exports_are_the_checkpoints(files: dict[str, bytes], size: int) -> None:
    for fmt in FORMATS:
        expected = b"".join(export_stream(size, fmt))
        assert files[fmt] == expected, fmt
        assert gzip.decompress(files[f"{fmt}.gz"]) == expected, fmt


@pytest.mark.django_db
def test_signing_a_checkpoint_materialises_every_export_after_commit(
    django_capture_on_commit_callbacks,
) -> None:
    _seed()
    with django_capture_on_commit_callbacks(execute=True):
        exclusion_add(kind="repository", subject="github.com/x/y", cause="c")
        assert not export_dir().exists()  # nothing before the commit
    checkpoint = checkpoint_latest()
    assert sorted(p.name for p in export_dir().iterdir()) == sorted(
        export_path(checkpoint.size, checkpoint.root_hash, fmt, gzip=packed).name
        for fmt in FORMATS
        for packed in (False, True)
    )
    _assert_exports_are_the_checkpoints(_every_export(export_dir(), checkpoint), checkpoint.size)


@pytest.mark.django_db
def test_a_superseded_checkpoint_is_not_materialised() -> None:
    _seed()
    older = checkpoint_latest().size
    exclusion_add(kind="repository", subject="github.com/x/y", cause="c")
    assert exports_precompute(size=older) == []
    assert not export_dir().exists() or list(export_dir().iterdir()) == []
    assert len(exports_precompute(size=older + 1)) == 2 * len(FORMATS)
    assert exports_precompute(size=older + 1) == []  # twice is harmless: files are kept


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_worker_materialises_the_newest_checkpoints_exports(celery_worker) -> None:
    _seed()
    checkpoint = checkpoint_latest()
    folder = celery_worker.var_dir / "exports"
    names = [
        export_path(checkpoint.size, checkpoint.root_hash, fmt, gzip=packed).name
        for fmt in FORMATS
        for packed in (False, True)
    ]
    deadline = time.monotonic() + 60
    while not all((folder / name).exists() for name in names) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert all((folder / name).exists() for name in names), celery_worker.log()
    assert "exports_precompute[" in celery_worker.log()
    _assert_exports_are_the_checkpoints(_every_export(folder, checkpoint), checkpoint.size)
    assert not [p for p in folder.iterdir() if p.name.startswith(".partial-")]
