"""A resident copy of the active exclusions, which answers the single check from memory.

The single check is the API's most frequent call, and the SQL round trip was most of
what it cost beyond a bare Django view (docs/benchmarks.md, "Pipeline API"). Each
process therefore keeps the active exclusions in memory, compactly: per kind, the
subjects sorted byte-wise in one ``bytes`` with their offsets, and when each took effect
in microseconds (about 45 bytes an exclusion, ~45 MB at a million). A check is a binary
search for the repository and one for each enclosing namespace, outermost first: the
answer ``repository_check`` gives, from the same rows.

**Freshness.** The copy is tagged with the registry's cache epoch (``registry.epoch``),
which every log append replaces, at once and again after commit. A process reads the
epoch at most once per ``EPOCH_FRESH_FOR`` (a second), so a check reflects every change
committed more than about a second ago, and at once in the process that wrote it; the
answer's ``log_size`` says which state it is. When the epoch has changed, the copy
catches up in one statement (one snapshot): the log size, and the exclusions added or
removed since its own size, kept in an overlay. A copy older than ``MAX_AGE`` is checked
against the log all the same (a change made past the services bumps no epoch). A log
shorter than the copy's (never in production: tests roll back) or an overlay of more
than ``OVERLAY_MAX`` entries rebuilds it.

The check reads the database as before when ``REGISTRY_RESIDENT_CHECK`` is off, above
``REGISTRY_RESIDENT_MAX`` active exclusions, while another thread of the process builds
or refreshes the copy (the first build takes about a second at a million), or when the
cache or the database fails here.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import Q

from registry.enums import ExclusionKind
from registry.epoch import MAX_AGE, epoch_recent
from registry.matching import enclosing_namespaces
from registry.models import Exclusion, LogHead
from registry.selectors import since_text

logger = logging.getLogger(__name__)

OVERLAY_MAX = 50_000  # changes kept beside the sorted copy before it is rebuilt
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICROSECOND = dt.timedelta(microseconds=1)
_REPOSITORY = ExclusionKind.REPOSITORY.value
_NAMESPACE = ExclusionKind.NAMESPACE.value
_PG_MICROSECONDS = "(extract(epoch FROM created_at) * 1000000)::bigint"
# Every active exclusion, a string per kind, and the log size, in one snapshot.
_PG_ALL = f"""
    SELECT NULL, NULL, NULL, size FROM registry_loghead WHERE id = 1
    UNION ALL
    SELECT kind, string_agg(subject, E'\\n'), string_agg({_PG_MICROSECONDS}::text, ','), count(*)
    FROM registry_exclusion WHERE active GROUP BY kind
"""  # noqa: S608 - constants only
# What changed since a log size, and the log size now, in one snapshot.
_PG_CHANGED = f"""
    SELECT NULL, NULL, NULL, NULL, size FROM registry_loghead WHERE id = 1
    UNION ALL
    SELECT kind, subject, active, {_PG_MICROSECONDS}, NULL FROM registry_exclusion
    WHERE added_at_index >= %s OR removed_at_index >= %s
"""  # noqa: S608 - constants only


def _microseconds(value: dt.datetime) -> int:
    return (value - _EPOCH) // _MICROSECOND


def _since(microseconds: int) -> str:
    return since_text(_EPOCH + dt.timedelta(microseconds=microseconds))


@dataclass(frozen=True)
class _Sorted:
    """One kind's subjects, sorted byte-wise, and when each took effect."""

    blob: bytes  # the subjects end to end
    offsets: memoryview  # n + 1 offsets into ``blob``
    since: memoryview  # n microseconds since 1970

    @classmethod
    def of(cls, subjects: pa.Array, since: pa.Array) -> _Sorted:
        if len(subjects) == 0:
            return cls(b"", memoryview(bytes(4)).cast("i"), memoryview(b"").cast("q"))
        order = pc.sort_indices(subjects)  # Arrow compares strings as bytes
        sorted_subjects = subjects.take(order)
        sorted_since = since.take(order)
        count = len(sorted_subjects)
        offsets = memoryview(sorted_subjects.buffers()[1]).cast("i")[: count + 1]
        blob = sorted_subjects.buffers()[2].to_pybytes()
        return cls(blob, offsets, memoryview(sorted_since.buffers()[1]).cast("q")[:count])

    def find(self, subject: bytes) -> int | None:
        """When ``subject`` took effect, or ``None`` when it is not here."""
        blob, offsets = self.blob, self.offsets
        low, high = 0, len(self.since)
        while low < high:
            middle = (low + high) // 2
            if blob[offsets[middle] : offsets[middle + 1]] < subject:
                low = middle + 1
            else:
                high = middle
        if low < len(self.since) and blob[offsets[low] : offsets[low + 1]] == subject:
            return self.since[low]
        return None


@dataclass(frozen=True)
class _Copy:
    """The active exclusions at one log size, as read under one epoch."""

    size: int
    epoch: str
    read_at: float  # time.monotonic()
    repositories: _Sorted
    namespaces: _Sorted
    overlay: dict[tuple[str, str], int | None]  # changed since the sorted part: since or gone

    def fresh(self, epoch: str) -> bool:
        """Read under ``epoch``, and recently enough that the log need not be asked."""
        return self.epoch == epoch and time.monotonic() - self.read_at < MAX_AGE

    def since(self, kind: str, subject: str) -> int | None:
        key = (kind, subject)
        if key in self.overlay:
            return self.overlay[key]
        part = self.repositories if kind == _REPOSITORY else self.namespaces
        return part.find(subject.encode())

    def match(self, repository: str) -> dict | None:
        """``repository_check``'s match: the repository first, then the outermost namespace."""
        for kind, subject in [
            (_REPOSITORY, repository),
            *((_NAMESPACE, namespace) for namespace in enclosing_namespaces(repository)),
        ]:
            since = self.since(kind, subject)
            if since is not None:
                return {"kind": kind, "subject": subject, "since": _since(since)}
        return None


class ResidentExclusions:
    """This process's copy, built on first use and brought up to date as the epoch moves."""

    def __init__(self) -> None:
        self._copy: _Copy | None = None
        self._lock = threading.Lock()

    def check(self, repository: str) -> tuple[dict | None, int] | None:
        """``(match, log size)`` from the copy, or ``None``: ask the database."""
        if not settings.REGISTRY_RESIDENT_CHECK:
            return None
        try:
            epoch = epoch_recent()
        except Exception:  # the cache is down: the database still answers
            return None
        copy = self._copy
        if copy is None or not copy.fresh(epoch):
            copy = self._brought_up_to_date(epoch)
            if copy is None:
                return None
        return copy.match(repository), copy.size

    def warm(self) -> None:
        """Build the copy now: gunicorn does it as each worker starts (``gunicorn.conf.py``),
        so that no check waits for it. It reads on a connection of its own, closed after;
        if it fails, the first check tries again."""
        if settings.REGISTRY_RESIDENT_CHECK:
            builder = threading.Thread(target=self._warm_here, name="resident-warm")
            builder.start()
            builder.join()

    def _warm_here(self) -> None:
        try:
            self._brought_up_to_date(epoch_recent())
        except Exception:
            logger.exception("Could not build the resident copy of the exclusions")
        finally:
            connection.close()

    def reset(self) -> None:
        """Forget the copy (tests, whose rollbacks rewrite the log)."""
        with self._lock:
            self._copy = None

    def _brought_up_to_date(self, epoch: str) -> _Copy | None:
        if not self._lock.acquire(blocking=False):
            return None  # another thread is at it: this call reads the database
        try:
            copy = self._copy
            if copy is not None and copy.fresh(epoch):
                return copy  # another thread brought it up to date just now
            copy = (_caught_up(copy, epoch) if copy is not None else None) or _built(epoch)
            self._copy = copy
            return copy
        except DatabaseError:
            logger.exception("Could not read the exclusions for the resident copy")
            return None
        finally:
            self._lock.release()


def _built(epoch: str) -> _Copy | None:
    """Every active exclusion, read now; ``None`` above ``REGISTRY_RESIDENT_MAX``."""
    if Exclusion.objects.filter(active=True).count() > settings.REGISTRY_RESIDENT_MAX:
        return None
    read_at = time.monotonic()
    size, sorted_parts = _sorted_parts()
    # What reading and sorting allocated is gone by now: hand it back, or the process
    # keeps tens of MB it no longer uses.
    pa.default_memory_pool().release_unused()
    return _Copy(size, epoch, read_at, *sorted_parts, overlay={})


def _sorted_parts() -> tuple[int, tuple[_Sorted, _Sorted]]:
    """The log size and the active repository and namespace exclusions, in one snapshot."""
    size, columns = _pg_columns() if connection.vendor == "postgresql" else _orm_columns()
    empty = (pa.array([], pa.string()), pa.array([], pa.int64()))
    kinds = (_REPOSITORY, _NAMESPACE)
    return size, tuple(_Sorted.of(*columns.pop(kind, empty)) for kind in kinds)


def _pg_columns() -> tuple[int, dict[str, tuple[pa.Array, pa.Array]]]:
    with connection.cursor() as cursor:
        cursor.execute(_PG_ALL)
        rows = cursor.fetchall()
    size = next((row[3] for row in rows if row[0] is None), 0)
    columns = {}
    for kind, subjects, since, _count in (row for row in rows if row[0] is not None):
        columns[kind] = (
            pc.split_pattern(pa.array([subjects]), "\n").flatten(),
            pc.cast(pc.split_pattern(pa.array([since]), ",").flatten(), pa.int64()),
        )
    return size, columns


def _orm_columns() -> tuple[int, dict[str, tuple[pa.Array, pa.Array]]]:
    with transaction.atomic():  # SQLite: one read transaction, one snapshot
        size = LogHead.objects.filter(id=1).values_list("size", flat=True).first() or 0
        rows = Exclusion.objects.filter(active=True).values_list("kind", "subject", "created_at")
        columns: dict[str, tuple[list, list]] = {}
        for kind, subject, created in rows:
            subjects, since = columns.setdefault(kind, ([], []))
            subjects.append(subject)
            since.append(_microseconds(created))
    return size, {
        kind: (pa.array(subjects, pa.string()), pa.array(since, pa.int64()))
        for kind, (subjects, since) in columns.items()
    }


def _caught_up(copy: _Copy, epoch: str) -> _Copy | None:
    """``copy`` with what changed since its log size; ``None`` when it must be rebuilt."""
    read_at = time.monotonic()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_PG_CHANGED, [copy.size, copy.size])
            rows = cursor.fetchall()
        size = next((row[4] for row in rows if row[0] is None), 0)
        changed = [row[:4] for row in rows if row[0] is not None]
    else:
        with transaction.atomic():
            size = LogHead.objects.filter(id=1).values_list("size", flat=True).first() or 0
            changed = [
                (kind, subject, active, _microseconds(created))
                for kind, subject, active, created in Exclusion.objects.filter(
                    Q(added_at_index__gte=copy.size) | Q(removed_at_index__gte=copy.size)
                ).values_list("kind", "subject", "active", "created_at")
            ]
    if size < copy.size:
        return None
    overlay = dict(copy.overlay)
    # A subject removed and excluded again has an inactive and an active row: active wins.
    updates: dict[tuple[str, str], int | None] = {}
    for kind, subject, active, since in changed:
        if active:
            updates[(kind, subject)] = since
        else:
            updates.setdefault((kind, subject), None)
    overlay.update(updates)
    if len(overlay) > OVERLAY_MAX:
        return None
    return _Copy(size, epoch, read_at, copy.repositories, copy.namespaces, overlay)


RESIDENT = ResidentExclusions()
