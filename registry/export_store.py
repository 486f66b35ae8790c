"""Export files: one per checkpoint, format and encoding, in the store dataset versions use.

They live under ``<DATASET_STORAGE_ROOT>/.exports`` (a local folder or any fsspec URL; no
dataset can take the name, dataset names are slugs), so every web host serves what a worker
precomputed, as it serves dataset files. A file's name carries its checkpoint's size and
root: it is immutable, and never taken for another database's list.

A file appears whole or not at all: locally it is written to a temporary name, fsynced and
renamed; on an object store a write is one upload that completes only when closed, and is
discarded when the writer stops early.
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from collections.abc import Iterator
from typing import Any, BinaryIO

import fsspec
from django.conf import settings
from fsspec.implementations.local import LocalFileSystem

from registry.export_formats import FORMATS, format_tag

KEEP_CHECKPOINTS = 3  # the newest checkpoints whose files are kept
ABANDONED_AFTER = 3600  # seconds without a write before a local temporary file is removed
VARIANTS = [(fmt, gzip) for fmt in FORMATS for gzip in (False, True)]  # what a checkpoint has


def export_name(size: int, root_hash: bytes, fmt: str, *, gzip: bool) -> str:
    return f"{size}-{root_hash.hex()[:32]}{format_tag(fmt)}.{fmt}{'.gz' if gzip else ''}"


def read_chunks(handle: BinaryIO, size: int = 1 << 20) -> Iterator[bytes]:
    """An open file's bytes, a chunk at a time; closes it at the end. Callers open the file
    first: pruning may remove it once newer ones exist, and an open file stays readable."""
    with handle:
        while chunk := handle.read(size):
            yield chunk


class ExportStore:
    def __init__(self) -> None:
        self.fs: Any
        root = f"{str(settings.DATASET_STORAGE_ROOT).rstrip('/')}/.exports"
        self.fs, self.root = fsspec.core.url_to_fs(root)
        self.root = self.root.rstrip("/")
        self.local = isinstance(self.fs, LocalFileSystem)

    def path(self, name: str) -> str:
        return f"{self.root}/{name}"

    def exists(self, name: str) -> bool:
        if not self.local:
            self.fs.invalidate_cache(self.root)  # another host may have written it
        return bool(self.fs.exists(self.path(name)))

    def open(self, name: str) -> BinaryIO:
        return self.fs.open(self.path(name), "rb")

    def names(self) -> list[str]:
        """The complete files' names."""
        if not self.local:
            self.fs.invalidate_cache(self.root)
        try:
            paths = self.fs.ls(self.root, detail=False)
        except FileNotFoundError:
            return []
        names = [str(path).rstrip("/").rsplit("/", 1)[-1] for path in paths]
        return [name for name in names if name[:1].isdigit()]

    def writing(self, name: str, chunks: Iterator[bytes]) -> Iterator[bytes]:
        """Yield ``chunks`` while writing them to the file ``name``, which appears only when
        complete; a consumer that stops early (a client gone) leaves no file."""
        if self.local:
            yield from self._writing_locally(name, chunks)
        else:
            handle = self.fs.open(self.path(name), "wb")
            try:
                for chunk in chunks:
                    handle.write(chunk)
                    yield chunk
            except BaseException:
                handle.discard()  # abort the upload: nothing appears
                raise
            handle.close()
        self.prune()

    def _writing_locally(self, name: str, chunks: Iterator[bytes]) -> Iterator[bytes]:
        os.makedirs(self.root, exist_ok=True)
        temporary = self.path(f".partial-{uuid.uuid4().hex}")
        try:
            with open(temporary, "wb") as handle:
                for chunk in chunks:
                    handle.write(chunk)
                    yield chunk
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, self.path(name))
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)

    def write(self, name: str, chunks: Iterator[bytes]) -> None:
        for _ in self.writing(name, chunks):
            pass

    def prune(self) -> None:
        """Keep the files of the newest few checkpoints (an open file stays readable), and
        remove local temporary files nobody has written to for ``ABANDONED_AFTER`` seconds:
        a process killed mid-write cannot remove its own."""
        if self.local and os.path.isdir(self.root):
            cutoff = time.time() - ABANDONED_AFTER
            for entry in os.scandir(self.root):
                if entry.name.startswith(".partial-"):
                    with contextlib.suppress(FileNotFoundError):
                        if entry.stat().st_mtime < cutoff:
                            os.unlink(entry.path)
        names = self.names()
        sizes = sorted({int(name.split("-", 1)[0]) for name in names}, reverse=True)
        stale = set(sizes[KEEP_CHECKPOINTS:])
        for name in names:
            if int(name.split("-", 1)[0]) in stale:
                with contextlib.suppress(FileNotFoundError):
                    self.fs.rm(self.path(name))
