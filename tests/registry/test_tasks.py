"""Registry tasks: exports precomputed when a checkpoint is signed."""

from __future__ import annotations

import gzip
import time

import pytest

from registry.checkpoints import checkpoint_latest
from registry.export_entries import export_stream
from registry.export_formats import FORMATS
from registry.services import exclusion_add, exclusion_remove
from registry.tasks import exports_precompute
from tests.registry.exporting import export_dir, export_path

FORMATS_ORDER = {fmt: n for n, fmt in enumerate(FORMATS)}


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
def test_the_first_request_after_a_checkpoint_is_served_from_the_worker_s_file(
    celery_worker, client, settings
) -> None:
    """The worker and this web process share one store (each host's own folder would not
    do): the export the worker precomputed is what the first request gets, as a file."""
    from django.http import FileResponse

    from registry.tokens import token_create

    settings.DATASET_STORAGE_ROOT = str(celery_worker.storage_root)
    _seed()
    checkpoint = checkpoint_latest()
    folder = export_dir()
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
    _, key = token_create(name="pipeline", scopes=["registry:read"])
    for fmt in FORMATS:
        response = client.get(
            "/api/v1/exclusions/export", {"format": fmt}, HTTP_AUTHORIZATION=f"Api-Key {key}"
        )
        assert isinstance(response, FileResponse), fmt
        assert (
            b"".join(response.streaming_content)
            == (folder / names[2 * FORMATS_ORDER[fmt]]).read_bytes()
        )
