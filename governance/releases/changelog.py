"""What a version removed and re-included since the previous one, by exclusion.

Each rewritten shard left a table of its changes (see ``shard_index.shard_changes``); reused
shards changed nothing by construction. Exclusions whose state changed but that matched
no row of the dataset are listed too, with zero counts, so an owner finds theirs.
"""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from governance.models import DatasetVersion
from governance.releases.layout import CHANGES_PART, shard_part_path
from governance.releases.matching import (
    NO_EXCLUSIONS,
    compiled_exclusions_at,
    exclusion_table,
    exclusions_added_removed_between,
)
from governance.releases.shard_index import CHANGES_SCHEMA
from governance.releases.storage import Store

CHANGELOG_SCHEMA_VERSION = 1
# changelog.parquet's row groups: a page of the changelog reads the one or two groups it
# falls in, and a search holds one group at a time, whatever the changelog's length.
CHANGELOG_ROW_GROUP = 10_000
# The schema metadata key holding everything but the entries (totals, checkpoint, ...).
CHANGELOG_HEAD_KEY = b"changelog"


def _changed_subjects(version: DatasetVersion) -> dict[str, pa.Table]:
    """Per change, the exclusions (kind, subject) whose state changed in that direction.

    Since the previous version: read from the log's range, so an incremental release
    costs what changed, not the size of the whole set.
    A first version removed everything in force at its checkpoint.
    """
    previous = version.previous
    if previous is None:
        added = compiled_exclusions_at(version.log_size, version.root_hash)
        removed = NO_EXCLUSIONS
    else:
        added, removed = exclusions_added_removed_between(previous.log_size, version.log_size)
    return {"removed": exclusion_table(added), "reincluded": exclusion_table(removed)}


def build_changelog(
    store: Store, version: DatasetVersion, shard_names: list[str]
) -> dict[str, Any]:
    parts = []
    for name in shard_names:
        path = shard_part_path(store, version.version, CHANGES_PART, name)
        if not store.exists(path):
            continue  # a reused shard: nothing in it changed
        with store.open_read(path) as handle:
            parts.append(pq.read_table(handle).cast(CHANGES_SCHEMA))
    counts = pa.concat_tables(parts) if parts else CHANGES_SCHEMA.empty_table()
    counts = counts.group_by(["change", "kind", "subject"]).aggregate(
        [("repositories", "sum"), ("rows", "sum")]
    )
    sections: dict[str, list[dict[str, Any]]] = {}
    for change, subjects in _changed_subjects(version).items():
        found = counts.filter(pc.equal(counts.column("change"), change))
        found = pa.table(
            {
                "kind": found.column("kind"),
                "exclusion": found.column("subject"),
                "repositories": found.column("repositories_sum").cast(pa.int64()),
                "rows": found.column("rows_sum").cast(pa.int64()),
            }
        )
        # Changed exclusions that matched nothing still get a line, with zeros.
        keys = pc.binary_join_element_wise(found.column("kind"), found.column("exclusion"), "\0")
        wanted = pc.binary_join_element_wise(
            subjects.column("kind"), subjects.column("subject"), "\0"
        )
        missing = subjects.filter(pc.invert(pc.is_in(wanted, value_set=keys)))
        zeros = pa.array([0] * missing.num_rows, pa.int64())
        missing = pa.table(
            {
                "kind": missing.column("kind"),
                "exclusion": missing.column("subject"),
                "repositories": zeros,
                "rows": zeros,
            }
        )
        entries = pa.concat_tables([found, missing]).sort_by(
            [("exclusion", "ascending"), ("kind", "ascending")]
        )
        sections[change] = entries.select(["exclusion", "kind", "repositories", "rows"])
    previous = version.previous
    return {
        "changelog_version": CHANGELOG_SCHEMA_VERSION,
        "dataset": version.dataset.name,
        "version": version.version,
        "previous_version": previous.version if previous else None,
        "checkpoint": {"from": previous.log_size if previous else 0, "to": version.log_size},
        "removed": sections["removed"],
        "reincluded": sections["reincluded"],
        "totals": {
            change: {
                "exclusions": entries.num_rows,
                "repositories": pc.sum(entries.column("repositories")).as_py() or 0,
                "rows": pc.sum(entries.column("rows")).as_py() or 0,
            }
            for change, entries in sections.items()
        },
    }


# Printable ASCII but a quote or a backslash: json.dumps (ensure_ascii) writes such a
# string as it is, between quotes. Anything else goes through json.dumps itself.
_JSON_PLAIN = r"^[ !#-\[\]-~]*$"


def _json_lines(entries: pa.Table) -> pa.Array:
    """``json.dumps(entry, sort_keys=True)`` for each entry, built with Arrow string kernels.

    A first version lists every exclusion in force (200,000 at benchmark scale), and
    this runs in the serial publish step; the output is byte for byte json.dumps's.
    """
    exclusion, kind = entries.column("exclusion"), entries.column("kind")
    lines = pc.binary_join_element_wise(
        '{"exclusion": "',
        exclusion,
        '", "kind": "',
        kind,
        '", "repositories": ',
        entries.column("repositories").cast(pa.string()),
        ', "rows": ',
        entries.column("rows").cast(pa.string()),
        "}",
        "",
    ).combine_chunks()
    plain = pc.and_(
        pc.match_substring_regex(exclusion, _JSON_PLAIN),
        pc.match_substring_regex(kind, _JSON_PLAIN),
    ).combine_chunks()
    if plain.false_count:
        odd = pc.invert(plain)
        dumped = [json.dumps(entry, sort_keys=True) for entry in entries.filter(odd).to_pylist()]
        lines = pc.replace_with_mask(lines, odd, pa.array(dumped, pa.string()))
    return lines


def _joined(lines: pa.Array, separator: str) -> bytes:
    """The lines joined by ``separator``, by Arrow: no Python string a line."""
    whole = pa.LargeListArray.from_arrays(
        pa.array([0, len(lines)], pa.int64()), lines.cast(pa.large_binary())
    )
    return pc.binary_join(whole, pa.scalar(separator.encode(), pa.large_binary()))[0].as_py()


def changelog_json(changelog: dict[str, Any]) -> bytes:
    # One exclusion a line: readable, and without indent= json uses its C encoder, which
    # matters for a first version listing 200,000 exclusions.
    parts = [json.dumps(changelog_head(changelog), sort_keys=True)[:-1].encode()]
    for change in ("reincluded", "removed"):
        entries = changelog[change]
        parts.append(f', "{change}": '.encode())
        if entries.num_rows:
            parts += [b"[\n", _joined(_json_lines(entries), ",\n"), b"\n]"]
        else:
            parts.append(b"[]")
    parts.append(b"}\n")
    return b"".join(parts)


def changelog_head(changelog: dict[str, Any]) -> dict[str, Any]:
    """Everything but the entries: dataset, versions, checkpoint range, totals."""
    return {k: v for k, v in changelog.items() if k not in ("removed", "reincluded")}


def changelog_parquet(changelog: dict[str, Any]) -> bytes:
    """The entries as the version page lists them (removed, then re-included, each sorted
    by exclusion) in row groups of ``CHANGELOG_ROW_GROUP``, the head in the schema's
    metadata: the form pages and the API read a page of, without reading the rest."""
    parts = []
    for change in ("removed", "reincluded"):
        entries = changelog[change]
        column = pa.array([change] * entries.num_rows, pa.string())
        parts.append(entries.add_column(0, "change", column))
    table = pa.concat_tables(parts).replace_schema_metadata(
        {CHANGELOG_HEAD_KEY: json.dumps(changelog_head(changelog), sort_keys=True)}
    )
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, row_group_size=CHANGELOG_ROW_GROUP, compression="zstd")
    return sink.getvalue().to_pybytes()


def changelog_markdown(changelog: dict[str, Any]) -> bytes:
    previous = changelog["previous_version"]
    lines = [
        f"# {changelog['dataset']} {changelog['version']}",
        "",
        (
            f"Changes since {previous} (registry log entries "
            f"{changelog['checkpoint']['from']} to {changelog['checkpoint']['to']})."
            if previous
            else f"First version; registry log size {changelog['checkpoint']['to']}."
        ),
        "",
    ]
    titles = {"removed": "Removed", "reincluded": "Re-included"}
    for change in ("removed", "reincluded"):
        totals = changelog["totals"][change]
        lines += [
            f"## {titles[change]}",
            "",
            f"{totals['exclusions']} exclusions, {totals['repositories']} repositories, "
            f"{totals['rows']} rows.",
            "",
        ]
        entries = changelog[change]
        if entries.num_rows:
            lines += ["| exclusion | kind | repositories | rows |", "|---|---|---:|---:|"]
            rows = pc.binary_join_element_wise(
                "| `",
                _escape(entries.column("exclusion")),
                "` | ",
                entries.column("kind"),
                " | ",
                entries.column("repositories").cast(pa.string()),
                " | ",
                entries.column("rows").cast(pa.string()),
                " |",
                "",
            )
            lines += [_joined(rows.combine_chunks(), "\n").decode(), ""]
    return "\n".join(lines).encode()


def _escape(texts: pa.ChunkedArray) -> pa.ChunkedArray:
    escaped = pc.replace_substring(texts, pattern="|", replacement="\\|")
    return pc.replace_substring(escaped, pattern="`", replacement="'")
