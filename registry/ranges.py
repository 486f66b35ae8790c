"""Range files for private lookups, written at each checkpoint (docs/mirroring.md).

``ranges_publish(size)`` writes, for the signed checkpoint of ``size``:
- ``ranges/<size>/<prefix>`` for each prefix whose keys changed since the last published
  checkpoint (every prefix the first time, or when the store lost the previous manifest),
  ``ranges/empty`` standing for every prefix without a key;
- ``ranges/<size>/manifest``, signed with the log's key, naming for every prefix the
  checkpoint whose folder holds its current file, and that file's SHA-256;
- ``ranges/latest`` (the size), last, so it never points at a manifest not yet written.

Incremental: the changed prefixes come from the log entries in between, and each changed
file is the previous one (its padding dropped) plus the keys added less those removed, so
a checkpoint of a few changes reads and writes a few files, not the whole registry.

Every file is immutable once written (the path names the checkpoint) except ``latest``.
Safe to run twice and in any order: the ``PublishedMirror`` row named ``ranges`` is locked
while writing, and a size at or below the published one returns at once.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable

from django.conf import settings
from django.db import transaction

from registry import notes
from registry import ranges_format as fmt
from registry.checkpoints import checkpoint_signed
from registry.models import LogEntry, PublishedMirror
from registry.public_store import PublicStore
from registry.selectors import entries_in_force
from registry.signing import load_signing_key
from registry.threads import side_threads

_IO_THREADS = 8  # range files read and written at once (in a task, never a web request)


def _suffixes_by_prefix(keys: Iterable[str]) -> dict[str, set[str]]:
    grouped: dict[str, set[str]] = defaultdict(set)
    for key in keys:
        digest = fmt.key_hash(key)
        grouped[digest[: fmt.PREFIX_HEX]].add(digest[fmt.PREFIX_HEX :])
    return grouped


_EMPTY_HASH = hashlib.sha256(fmt.EMPTY_FILE).hexdigest()


def _write_ranges(
    store: PublicStore, size: int, ranges: dict[str, set[str]]
) -> dict[str, tuple[int, str]]:
    def write(item: tuple[str, set[str]]) -> tuple[str, tuple[int, str]]:
        prefix, suffixes = item
        if not suffixes:
            return prefix, (fmt.EMPTY, _EMPTY_HASH)
        data = fmt.range_file(suffixes)
        store.write(fmt.file_path(prefix, size), data, durable=False)
        return prefix, (size, hashlib.sha256(data).hexdigest())

    # File I/O waits and hashing frees the GIL.
    with side_threads("registry-ranges", workers=_IO_THREADS) as side:
        futures = [side(write, item) for item in ranges.items()]
    written = dict(future.result() for future in futures)
    if not store.exists(fmt.file_path("", fmt.EMPTY)):
        store.write(fmt.file_path("", fmt.EMPTY), fmt.EMPTY_FILE)
    return written


def _all_ranges(size: int) -> dict[str, set[str]]:
    pages = entries_in_force(size)
    grouped = _suffixes_by_prefix(fmt.key_for(k, s) for page in pages for k, s, _ in page)
    names = (fmt.prefix_name(i) for i in range(fmt.PREFIXES))
    return {name: grouped.get(name, set()) for name in names}


def _changed_ranges(
    store: PublicStore, old: int, new: int, files: dict[str, tuple[int, str]]
) -> dict[str, set[str]]:
    """The ranges the log entries ``[old, new)`` touched, as they stand at ``new``."""
    changes = LogEntry.objects.filter(index__gte=old, index__lt=new).order_by("index")
    current: dict[str, set[str]] = {}
    for action, kind, subject in changes.values_list("action", "kind", "subject").iterator():
        digest = fmt.key_hash(fmt.key_for(kind, subject))
        prefix, suffix = digest[: fmt.PREFIX_HEX], digest[fmt.PREFIX_HEX :]
        if prefix not in current:
            where, _ = files[prefix]
            data = (
                fmt.EMPTY_FILE if where == fmt.EMPTY else store.read(fmt.file_path(prefix, where))
            )
            current[prefix] = fmt.real_suffixes(data)
        if action == "add":
            current[prefix].add(suffix)
        else:
            current[prefix].discard(suffix)
    return current


def _previous_manifest(store: PublicStore, size: int) -> dict[str, tuple[int, str]] | None:
    if not size:
        return None
    data = store.read_if_exists(fmt.manifest_path(size))
    if data is None:
        return None
    text = data.decode().rpartition("\n\n")[0] + "\n"
    try:
        return fmt.parse_manifest(text, origin=settings.LOG_NAME)[2]
    except fmt.RangeError:  # another format or origin: start again from the database
        return None


def ranges_publish(size: int) -> int:
    """Publish the range files of the signed checkpoint of ``size``; return the published
    size (0 when ``size`` has no signed checkpoint)."""
    checkpoint = checkpoint_signed(size)
    if checkpoint is None:
        return 0
    store = PublicStore()
    with transaction.atomic():
        mirror, _ = PublishedMirror.objects.select_for_update().get_or_create(name="ranges")
        if size <= mirror.size:
            return mirror.size
        files = _previous_manifest(store, mirror.size)
        if files is None:
            files = _write_ranges(store, size, _all_ranges(size))
        else:
            changed = _changed_ranges(store, mirror.size, size, files)
            files.update(_write_ranges(store, size, changed))
        text = fmt.manifest_text(settings.LOG_NAME, size, checkpoint.root_hash, files)
        note = notes.sign_note(text, settings.LOG_NAME, load_signing_key())
        store.write(fmt.manifest_path(size), note.encode())
        store.write(fmt.LATEST, f"{size}\n".encode())
        mirror.size = size
        mirror.save(update_fields=["size", "updated_at"])
    return size
