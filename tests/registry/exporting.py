"""Where the tests find export files: the local export store under the test's storage root."""

from pathlib import Path

from registry.export_store import ExportStore, export_name


def export_dir() -> Path:
    return Path(ExportStore().root)


def export_path(size: int, root_hash: bytes, fmt: str, *, gzip: bool) -> Path:
    return export_dir() / export_name(size, root_hash, fmt, gzip=gzip)
