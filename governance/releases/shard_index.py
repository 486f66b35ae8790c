"""What a shard's repository column decides: the rows kept, its index, the repositories
it keeps, its changes.

Worked out once per shard from that one column, before the rows are streamed. The column
is first cut into runs of equal consecutive names (Stack-v2-like shards keep each
repository's rows together), so the matching rule runs once per run, not once per row,
and its answer is stretched back over each run's rows. Data whose repositories are not
contiguous stays correct: a repository split over several runs is matched once per run,
and the index and the changes add its runs up.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from governance.releases.matching import (
    CompiledExclusions,
    canonical_repositories,
    excluded,
    matching_subjects,
)


@dataclass(frozen=True)
class ShardRepositories:
    keep: pa.Array  # one boolean a row: False for a row whose repository is excluded
    # One row a run: repository (canonical), rows, and the exclusion (subject, kind) that
    # excludes it at the release's checkpoint, or nulls.
    runs: pa.Table


def shard_repositories(
    names: pa.Array | pa.ChunkedArray, host: str, exclusions: CompiledExclusions
) -> ShardRepositories:
    """Runs of the raw repository column, each matched against ``exclusions``."""
    if isinstance(names, pa.ChunkedArray):
        names = names.combine_chunks()
    encoded = pc.run_end_encode(names, run_end_type=pa.int64())
    ends = encoded.run_ends
    starts = pa.concat_arrays([pa.array([0], pa.int64()), ends]).slice(0, len(ends))
    repositories = canonical_repositories(encoded.values, host)
    subjects, kinds = matching_subjects(repositories, exclusions)
    kept = pc.invert(pc.is_valid(subjects))
    keep = pc.run_end_decode(pa.RunEndEncodedArray.from_arrays(ends, kept))
    runs = pa.table(
        {
            "repository": repositories,
            "rows": pc.subtract(ends, starts),
            "subject": subjects,
            "kind": kinds,
        }
    )
    return ShardRepositories(keep=keep, runs=runs)


def repository_index(runs: pa.Table) -> pa.Table:
    """The shard's runs of one canonical repository, with their row counts, in shard order.

    The planner only asks whether a repository is in it, so a repository whose rows are
    split over several runs (not Stack-v2-like data) is listed once a run rather than
    folded: folding needs a hash or a sort of every name, a third of the time working out
    the shard's rows takes.
    """
    return runs.select(["repository", "rows"]).filter(pc.is_valid(pc.field("repository")))


def kept_repositories(runs: pa.Table) -> pa.Table:
    """The repositories of the shard that the release keeps: the shard's part of the
    version's repository list, which the publish step merges (``repository_list.py``).
    Worked out here, in each shard's task, so that the publish step, which runs alone,
    only merges small sorted parts."""
    kept = runs.filter(pc.is_valid(pc.field("repository")) & pc.is_null(pc.field("subject")))
    return rows_by_repository(kept)


def rows_by_repository(runs: pa.Table) -> pa.Table:
    """``runs`` (repository, rows) as one row a repository, its runs' rows summed (data not
    grouped by repository splits one over several runs), sorted by repository."""
    grouped = runs.group_by("repository").aggregate([("rows", "sum")])
    table = pa.table(
        {"repository": grouped.column("repository"), "rows": grouped.column("rows_sum")}
    )
    return table.sort_by("repository")


# The columns of a shard's changes (``changelog`` reads them back).
CHANGES_SCHEMA = pa.schema(
    [
        ("change", pa.string()),
        ("kind", pa.string()),
        ("subject", pa.string()),
        ("repositories", pa.int64()),
        ("rows", pa.int64()),
    ]
)


def shard_changes(
    runs: pa.Table, *, before: CompiledExclusions, changed: CompiledExclusions
) -> pa.Table:
    """Repositories removed or re-included between two checkpoints, by exclusion.

    ``runs`` carries each run's exclusion at the later checkpoint; ``before`` is the set at
    the earlier one, and ``changed`` the exclusions whose state differs between the two
    (the planner's delta). Only runs matching one of those can have changed, so the earlier
    state is worked out for those alone: for an incremental release, a few repository
    lookups instead of the whole rule. Columns: change (removed|reincluded), kind,
    subject, repositories, rows.
    """
    runs = runs.filter(pc.is_valid(pc.field("repository")))
    if before.count:
        runs = runs.filter(excluded(runs.column("repository"), changed))
        old_subjects, old_kinds = matching_subjects(
            runs.column("repository").combine_chunks(), before
        )
    else:
        old_subjects = old_kinds = pa.nulls(runs.num_rows, pa.string())
    new_subjects, new_kinds = runs.column("subject"), runs.column("kind")
    now_excluded, was_excluded = pc.is_valid(new_subjects), pc.is_valid(old_subjects)
    parts = []
    for change, mask, subjects, kinds in (
        ("removed", pc.and_(now_excluded, pc.invert(was_excluded)), new_subjects, new_kinds),
        ("reincluded", pc.and_(was_excluded, pc.invert(now_excluded)), old_subjects, old_kinds),
    ):
        selected = pa.table(
            {
                "kind": pc.filter(kinds, mask),
                "subject": pc.filter(subjects, mask),
                "repository": pc.filter(runs.column("repository"), mask),
                "rows": pc.filter(runs.column("rows"), mask),
            }
        )
        grouped = selected.group_by(["kind", "subject"]).aggregate(
            [("repository", "count_distinct"), ("rows", "sum")]
        )
        parts.append(
            pa.table(
                {
                    "change": pa.array([change] * grouped.num_rows, pa.string()),
                    "kind": grouped.column("kind"),
                    "subject": grouped.column("subject"),
                    "repositories": grouped.column("repository_count_distinct"),
                    "rows": grouped.column("rows_sum"),
                }
            ).cast(CHANGES_SCHEMA)
        )
    return pa.concat_tables(parts).sort_by([("change", "ascending"), ("subject", "ascending")])
