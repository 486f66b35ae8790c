"""The full export at one checkpoint: where its bytes come from, and the precompute task's work.

An export is immutable per checkpoint, format and encoding, like a release file. When a
checkpoint is signed, a task writes every variant to the export store
(``registry.export_store``), so pipelines are served a finished file. A request that comes
first streams the export and writes the file as it goes, from the cheapest source: the plain
file compressed (for gzip), an earlier checkpoint's file plus the log in between
(``registry.export_derive``), or the database (``registry.export_entries``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from registry.export_entries import export_stream
from registry.export_formats import gzip_stream
from registry.export_store import VARIANTS, ExportStore, export_name, read_chunks


def export_chunks(
    size: int, root_hash: bytes, fmt: str, *, gzip: bool, store: ExportStore | None = None
) -> Iterator[bytes]:
    from registry.export_derive import derived_stream  # it builds on the modules above

    store = store or ExportStore()
    if gzip:
        try:
            plain = store.open(export_name(size, root_hash, fmt, gzip=False))
        except FileNotFoundError:
            pass
        else:  # the same bytes as compressing the database's stream, which is not read again
            return gzip_stream(read_chunks(plain))
    stream = derived_stream(size, fmt, store) or export_stream(size, fmt)
    return gzip_stream(stream) if gzip else stream


def export_file(size: int, root_hash: bytes, fmt: str, *, gzip: bool) -> bool:
    """Write the checkpoint's export file unless it exists; True when this call wrote it."""
    store = ExportStore()
    name = export_name(size, root_hash, fmt, gzip=gzip)
    if store.exists(name):
        return False
    store.write(name, export_chunks(size, root_hash, fmt, gzip=gzip, store=store))
    return True


def precompute(size: int, *, superseded: Callable[[], bool]) -> list[str]:
    """Write every format, plain and gzip, of the checkpoint of ``size``; stops as soon as
    ``superseded()`` says a newer checkpoint exists (its own task builds that one). Returns
    the file names written."""
    from registry.checkpoints import checkpoint_signed

    checkpoint = checkpoint_signed(size)
    written: list[str] = []
    for fmt, gzip in VARIANTS:
        if checkpoint is None or superseded():
            return written
        if export_file(checkpoint.size, checkpoint.root_hash, fmt, gzip=gzip):
            written.append(export_name(size, checkpoint.root_hash, fmt, gzip=gzip))
    return written


def export_names(size: int, root_hash: bytes) -> list[str]:
    """Every file ``precompute`` writes for the checkpoint."""
    return [export_name(size, root_hash, fmt, gzip=gzip) for fmt, gzip in VARIANTS]
