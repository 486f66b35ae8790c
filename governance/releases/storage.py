"""Where sources are read and versions written: a local folder or any fsspec object store.

The few operations releases need, each with the guarantee publication relies on:
- ``atomic_writer``: a file appears whole or not at all. Locally it is written to a
  temporary name, fsynced, then renamed; on an object store one PUT is already atomic.
  It hashes (SHA-256) and counts bytes as they are written, so no second read is needed.
- ``link``: the same bytes under a second name without copying them (a hard link on a
  local filesystem, a server-side copy on an object store).
- ``create_exclusive``: fails if the file exists (``O_EXCL`` locally, ``If-None-Match: *``
  on S3), so two publishers cannot both believe they committed.
- ``move_tree``: an atomic rename of a folder locally; on an object store a copy and
  delete, which is why visibility is decided by the commit marker and the database.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import fsspec
from fsspec.implementations.local import LocalFileSystem


class HashingWriter:
    """A write-only file object that hashes and counts what passes through it. Closing it
    leaves the underlying file open: its owner closes it, after fsync."""

    closed = False

    def __init__(self, target: BinaryIO) -> None:
        self._target = target
        self._digest = hashlib.sha256()
        self.bytes = 0

    def write(self, data: bytes | memoryview) -> int:
        self._digest.update(data)
        self._target.write(data)
        size = memoryview(data).nbytes
        self.bytes += size
        return size

    def tell(self) -> int:
        return self.bytes

    def flush(self) -> None:
        self._target.flush()

    def close(self) -> None:
        self.closed = True

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def readable(self) -> bool:
        return False

    @property
    def sha256(self) -> str:
        return self._digest.hexdigest()


@dataclass
class WriteResult:
    sha256: str = ""
    bytes: int = 0


@dataclass
class Store:
    """An fsspec filesystem and a root path on it."""

    fs: Any
    root: str
    local: bool = field(init=False)

    def __post_init__(self) -> None:
        self.local = isinstance(self.fs, LocalFileSystem)
        self.root = self.root.rstrip("/")

    @classmethod
    def at(cls, uri: str) -> Store:
        fs, path = fsspec.core.url_to_fs(uri)
        return cls(fs=fs, root=path)

    def path(self, *parts: str) -> str:
        return "/".join([self.root, *[p.strip("/") for p in parts if p]])

    def url(self, path: str) -> str:
        return path if self.local else self.fs.unstrip_protocol(path)

    # --- reads ------------------------------------------------------------------------
    def exists(self, path: str) -> bool:
        if not self.local:
            # Other machines write the same bucket: never answer from a stale listing.
            self.fs.invalidate_cache(path)
        return bool(self.fs.exists(path))

    def read_bytes(self, path: str) -> bytes:
        with self.fs.open(path, "rb") as handle:
            return handle.read()

    def open_read(self, path: str) -> BinaryIO:
        return self.fs.open(path, "rb")

    def info(self, path: str) -> dict[str, Any]:
        return self.fs.info(path)

    def list_parquet(self, folder: str) -> list[str]:
        if not self.local:
            self.fs.invalidate_cache()
        if not self.fs.isdir(folder):
            return []
        names = [p for p in self.fs.ls(folder, detail=False) if p.endswith(".parquet")]
        return sorted(names)

    def list_dirs(self, folder: str) -> list[str]:
        if not self.local:
            self.fs.invalidate_cache()
        if not self.fs.isdir(folder):
            return []
        return sorted(
            entry["name"]
            for entry in self.fs.ls(folder, detail=True)
            if entry["type"] == "directory"
        )

    def fingerprint(self, path: str) -> tuple[str, int]:
        """Identity of a source file without reading it: size plus ETag or mtime."""
        info = self.fs.info(path)
        stamp = (
            info.get("ETag") or info.get("etag") or info.get("mtime") or info.get("LastModified")
        )
        size = int(info.get("size") or 0)
        digest = hashlib.sha256(f"{path.rsplit('/', 1)[-1]}\0{size}\0{stamp}".encode()).hexdigest()
        return digest, size

    # --- writes -----------------------------------------------------------------------
    def makedirs(self, path: str) -> None:
        if self.local:
            os.makedirs(path, exist_ok=True)
        # Object stores have no folders: a key's prefix exists once a key is written.

    @contextmanager
    def atomic_writer(self, path: str) -> Iterator[tuple[HashingWriter, WriteResult]]:
        result = WriteResult()
        if self.local:
            folder = os.path.dirname(path)
            os.makedirs(folder, exist_ok=True)
            temporary = os.path.join(folder, f".{os.path.basename(path)}.tmp-{uuid.uuid4().hex}")
            try:
                with open(temporary, "wb") as handle:
                    writer = HashingWriter(handle)
                    yield writer, result
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(temporary, path)
                _fsync_dir(folder)
            finally:
                if os.path.exists(temporary):
                    os.unlink(temporary)
        else:
            with self.fs.open(path, "wb") as handle:
                writer = HashingWriter(handle)
                yield writer, result
        result.sha256, result.bytes = writer.sha256, writer.bytes

    def write_bytes(self, path: str, data: bytes) -> WriteResult:
        with self.atomic_writer(path) as (writer, result):
            writer.write(data)
        return result

    def link(self, pairs: list[tuple[str, str]]) -> None:
        """Make each ``target`` hold the bytes of its ``source`` without rewriting them
        (``pairs`` of source and target); each folder is synced once, not once a file."""
        folders = set()
        for source, target in pairs:
            if self.local:
                folders.add(os.path.dirname(target))
                os.makedirs(os.path.dirname(target), exist_ok=True)
                temporary = f"{target}.link-{uuid.uuid4().hex}"
                os.link(source, temporary)
                os.replace(temporary, target)  # idempotent when a crashed run left one behind
            else:
                self.fs.copy(source, target)
        for folder in sorted(folders):
            _fsync_dir(folder)

    def create_exclusive(self, path: str, data: bytes) -> bool:
        """Create ``path`` holding ``data``, read-only; ``False`` if it already existed."""
        try:
            if self.local:
                descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444)
                with os.fdopen(descriptor, "wb") as handle:
                    handle.write(data)
                    handle.flush()
                    os.fsync(handle.fileno())
                _fsync_dir(os.path.dirname(path))
            else:
                with self.fs.open(path, "xb") as handle:
                    handle.write(data)
        except FileExistsError:
            return False
        return True

    def move_tree(self, source: str, target: str) -> None:
        if self.local:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            os.rename(source, target)
            _fsync_dir(os.path.dirname(target))
        else:
            # File by file: fsspec's recursive mv guesses folder semantics from listings.
            self.fs.invalidate_cache()
            for path in sorted(self.fs.find(source)):
                self.fs.copy(path, target + path[len(source) :])
            self.fs.rm(source, recursive=True)
            self.fs.invalidate_cache()

    def make_read_only(self, folder: str) -> None:
        """Published files are never changed: say so to the filesystem (local only)."""
        if not self.local:
            return
        for directory, _subdirs, files in os.walk(folder):
            for name in files:
                os.chmod(os.path.join(directory, name), 0o444)

    def remove_tree(self, path: str) -> None:
        if self.fs.exists(path):
            self.fs.rm(path, recursive=True)

    def remove(self, path: str) -> None:
        if self.fs.exists(path):
            self.fs.rm(path)


def _fsync_dir(folder: str) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
