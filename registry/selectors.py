"""Reads of the registry."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Q
from django.utils.dateparse import parse_datetime

from registry.enums import ExclusionKind
from registry.matching import enclosing_namespaces, is_repository_excluded
from registry.models import Exclusion, LogHead

# When a matching exclusion took effect, as the API renders it (DRF's DateTimeField in
# UTC: ISO 8601, microseconds only when there are any, "Z" for UTC). PostgreSQL formats it
# in the query: for a bulk check of 10,000, making datetimes of the rows and formatting
# them again in Python cost more than the lookup. ``{c}`` is the timestamp column.
_PG_SINCE = """to_char({c} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')
    || CASE WHEN {c} = date_trunc('second', {c}) THEN ''
            ELSE to_char({c} AT TIME ZONE 'UTC', '.US') END || 'Z'"""


def since_text(value: dt.datetime | str) -> str:
    """``_PG_SINCE`` in Python, for the rows SQLite returns (timestamps as text)."""
    if isinstance(value, str):
        value = parse_datetime(value)
    text = value.astimezone(dt.UTC).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


@dataclass(frozen=True)
class ExclusionSet:
    """The exclusions in force at one log size."""

    log_size: int
    repositories: frozenset[str]
    namespaces: frozenset[str]

    def excludes(self, repository: str) -> bool:
        return is_repository_excluded(repository, self.repositories, self.namespaces)


def log_size() -> int:
    head = LogHead.objects.filter(id=1).first()
    return head.size if head else 0


def exclusions_at(size: int | None = None) -> ExclusionSet:
    """The set in force after the log's first ``size`` entries (default: all).

    Each exclusion records the log indexes that added and removed it, so the same size
    always gives the same set, whatever has changed since: a release is reproducible.
    """
    if size is None:
        size = log_size()
    repositories: set[str] = set()
    namespaces: set[str] = set()
    for page in entries_in_force(size):
        for kind, subject, _index in page:
            (repositories if kind == ExclusionKind.REPOSITORY else namespaces).add(subject)
    return ExclusionSet(
        log_size=size, repositories=frozenset(repositories), namespaces=frozenset(namespaces)
    )


def in_force_at(size: int) -> Q:
    """Exclusions in force after the log's first ``size`` entries: added before it and not
    removed before it."""
    return Q(added_at_index__lt=size) & (
        Q(removed_at_index__isnull=True) | Q(removed_at_index__gte=size)
    )


ENTRIES_PAGE = 50_000


def entries_in_force(
    size: int, *, start: int = 0, page: int | None = None
) -> Iterator[list[tuple[str, str, int]]]:
    """``(kind, subject, added_at_index)`` of the exclusions in force at ``size``, in log
    order, ``page`` (default ``ENTRIES_PAGE``) at a time; ``start``: only those added at
    that log index or later.

    Keyset pages on the index of ``added_at_index``, each its own query: memory holds one
    page whatever the registry's size, and no cursor outlives its statement (a server-side
    cursor would need the session PgBouncer's transaction mode does not keep).
    """
    page = page or ENTRIES_PAGE
    after = start - 1
    while True:
        rows = list(
            Exclusion.objects.filter(in_force_at(size), added_at_index__gt=after)
            .order_by("added_at_index")
            .values_list("kind", "subject", "added_at_index")[:page]
        )
        if rows:
            yield rows
        if len(rows) < page:
            return
        after = rows[-1][2]


def exclusion_matching(repository: str) -> Exclusion | None:
    """The active exclusion that excludes ``repository``, if any (repository first)."""
    direct = Exclusion.objects.filter(
        kind=ExclusionKind.REPOSITORY, subject=repository, active=True
    ).first()
    if direct is not None:
        return direct
    return (
        Exclusion.objects.filter(
            kind=ExclusionKind.NAMESPACE,
            subject__in=list(enclosing_namespaces(repository)),
            active=True,
        )
        .order_by("subject")
        .first()
    )


def _active_exclusions_among(subjects: set[str], chunk: int) -> tuple[list[tuple], int]:
    """``(kind, subject, since)`` of active exclusions whose subject is in ``subjects``,
    and the log size, read from one snapshot (see :func:`exclusions_matching_many`)."""
    ordered = sorted(subjects)
    if connection.vendor == "postgresql":
        # One statement, so one snapshot: the log size row and the matches cannot straddle a
        # commit. The subjects are joined rather than ``subject = ANY(%s)``: with ~20,000
        # subjects PostgreSQL plans ANY as a parallel scan of the whole table, the join as
        # one index-only probe per subject. Sorted, so the probes walk the index in order.
        # Sent as one newline-joined string when no subject holds a newline (canonical ids
        # never do): adapting 20,000 strings one by one into an array literal is slow.
        joined = "\n".join(ordered)
        if joined.count("\n") == len(ordered) - 1:
            wanted, parameter = "string_to_array(%s, E'\\n')", joined
        else:
            wanted, parameter = "%s::text[]", ordered
        with connection.cursor() as cursor:
            sql = f"""
                SELECT NULL, NULL, NULL, size FROM registry_loghead WHERE id = 1
                UNION ALL
                SELECT e.kind, e.subject, {_PG_SINCE.format(c="e.created_at")}, NULL
                FROM unnest({wanted}) AS wanted(s)
                JOIN registry_exclusion e ON e.subject = wanted.s AND e.active
            """  # noqa: S608 - ``wanted`` and the timestamp's format are constants
            cursor.execute(sql, [parameter])
            rows = cursor.fetchall()
        sizes = [row[3] for row in rows if row[0] is None]
        return [row[:3] for row in rows if row[0] is not None], sizes[0] if sizes else 0
    # SQLite: the queries share one read transaction, which sees one snapshot.
    with transaction.atomic():
        size = log_size()
        rows = []
        for start in range(0, len(ordered), chunk):
            rows += Exclusion.objects.filter(
                subject__in=ordered[start : start + chunk], active=True
            ).values_list("kind", "subject", "created_at")
    return [(kind, subject, since_text(created)) for kind, subject, created in rows], size


def exclusions_matching_many(
    repositories: list[str], *, chunk: int = 5_000
) -> tuple[dict[str, dict], int]:
    """``(matches, log size)``: for each excluded repository, its matching exclusion
    (``kind``, ``subject``, ``since``), repository exclusions first, then the outermost
    namespace; and the log size those matches are the state of (one snapshot, so a
    concurrent change is either in both or in neither)."""
    namespaces_of = {repo: list(enclosing_namespaces(repo)) for repo in repositories}
    wanted = set(namespaces_of)
    for namespaces in namespaces_of.values():
        wanted.update(namespaces)
    found: dict[tuple[str, str], dict] = {}
    rows, size = _active_exclusions_among(wanted, chunk)
    for kind, subject, since in rows:
        found[(kind, subject)] = {"kind": kind, "subject": subject, "since": since}
    matches: dict[str, dict] = {}
    repository = ExclusionKind.REPOSITORY.value
    namespace_kind = ExclusionKind.NAMESPACE.value
    for repo, namespaces in namespaces_of.items():
        match = found.get((repository, repo))
        if match is None:
            for namespace in namespaces:  # outermost first, as exclusion_matching
                match = found.get((namespace_kind, namespace))
                if match is not None:
                    break
        if match is not None:
            matches[repo] = match
    return matches, size


# The single check's one statement: the matching exclusion (repository first, then the
# outermost namespace) and the log size together, in one round trip and one snapshot. Both
# branches probe the index on active subjects (``registry_active_subject``). Plain SQL each
# time: no session state (a prepared statement, a SET) survives PgBouncer's transaction mode.
_CHECK = f"""
    SELECT kind, subject, {{since}}, (SELECT size FROM registry_loghead WHERE id = 1)
    FROM registry_exclusion
    WHERE active AND ((kind = '{ExclusionKind.REPOSITORY.value}' AND subject = %s)
                      OR (kind = '{ExclusionKind.NAMESPACE.value}' AND subject IN ({{namespaces}})))
    UNION ALL
    SELECT NULL, NULL, NULL, (SELECT size FROM registry_loghead WHERE id = 1)
    ORDER BY 1 DESC NULLS LAST, 2
    LIMIT 1
"""  # noqa: S608 - only the kinds' constant values are interpolated


def repository_check(repository: str) -> tuple[dict | None, int]:
    """``(matching exclusion as kind/subject/since, log size)`` in one round trip."""
    namespaces = list(enclosing_namespaces(repository))
    postgresql = connection.vendor == "postgresql"
    sql = _CHECK.format(
        since=_PG_SINCE.format(c="created_at") if postgresql else "created_at",
        namespaces=", ".join(["%s"] * len(namespaces)) or "NULL",
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [repository, *namespaces])
        kind, subject, since, size = cursor.fetchone()
    if kind is None:
        return None, size or 0
    if not postgresql:
        since = since_text(since)
    return {"kind": kind, "subject": subject, "since": since}, size or 0
