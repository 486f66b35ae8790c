"""The registry's public files (log tiles, range files, receipts) on a local folder or any
fsspec object store: the store that also holds the dataset versions, so every web host
sees what a worker wrote and any static host or CDN can serve a copy.

``REGISTRY_PUBLIC_ROOT`` names the folder; empty (the default) means
``<DATASET_STORAGE_ROOT>/.registry``, a name no dataset can take (dataset names are slugs).
Paths below it are the URLs under ``/mirror/`` (``registry.mirror_views``).

Each file appears whole or not at all: locally it is written to a temporary name, fsynced
and renamed; on an object store one PUT is already atomic. The registry does not import
``governance``, so this is its own small copy of that guarantee.
"""

from __future__ import annotations

import os
import uuid
from typing import Any, BinaryIO

import fsspec
from django.conf import settings
from fsspec.implementations.local import LocalFileSystem


def public_root() -> str:
    configured = getattr(settings, "REGISTRY_PUBLIC_ROOT", "")
    return (configured or f"{str(settings.DATASET_STORAGE_ROOT).rstrip('/')}/.registry").rstrip("/")


class PublicStore:
    def __init__(self, uri: str | None = None) -> None:
        self.fs: Any
        self.fs, self.root = fsspec.core.url_to_fs(uri or public_root())
        self.root = self.root.rstrip("/")
        self.local = isinstance(self.fs, LocalFileSystem)

    def path(self, relative: str) -> str:
        return f"{self.root}/{relative.strip('/')}"

    def exists(self, relative: str) -> bool:
        path = self.path(relative)
        if not self.local:
            self.fs.invalidate_cache(path)  # another machine may have written it
        return bool(self.fs.exists(path))

    def read(self, relative: str) -> bytes:
        if self.local:  # fsspec's local file object costs more than the read of a small file
            with open(self.path(relative), "rb") as handle:
                return handle.read()
        with self.fs.open(self.path(relative), "rb") as handle:
            return handle.read()

    def read_if_exists(self, relative: str) -> bytes | None:
        try:
            return self.read(relative)
        except FileNotFoundError:
            return None

    def open(self, relative: str) -> BinaryIO:
        return self.fs.open(self.path(relative), "rb")

    def write(self, relative: str, data: bytes, *, durable: bool = True) -> None:
        """Write ``data`` whole or not at all. ``durable=False`` skips the fsync (thousands
        of range files a checkpoint): the rename still never shows a partial file, and a
        file lost to a power cut fails its manifest hash, so clients refuse it."""
        path = self.path(relative)
        if not self.local:
            with self.fs.open(path, "wb") as handle:
                handle.write(data)
            return
        folder = os.path.dirname(path)
        os.makedirs(folder, exist_ok=True)
        temporary = os.path.join(folder, f".{os.path.basename(path)}.tmp-{uuid.uuid4().hex}")
        try:
            with open(temporary, "wb") as handle:
                handle.write(data)
                if durable:
                    handle.flush()
                    os.fsync(handle.fileno())
            os.replace(temporary, path)
        finally:
            if os.path.exists(temporary):
                os.unlink(temporary)
