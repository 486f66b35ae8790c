"""What a version removed and re-included since the previous one, by exclusion.

Each rewritten shard left a table of its changes (see ``shards.shard_changes``); reused
shards changed nothing by construction. Exclusions whose state changed but that matched
no row of the dataset are listed too, with zero counts, so an owner finds theirs.
"""

from __future__ import annotations

import json
from typing import Any

import pyarrow.parquet as pq

from governance.models import DatasetVersion
from governance.releases.layout import work_path
from governance.releases.matching import (
    NAMESPACE,
    NO_EXCLUSIONS,
    REPOSITORY,
    all_namespaces,
    compiled_exclusions_at,
    exclusions_minus,
)
from governance.releases.storage import Store

CHANGELOG_SCHEMA_VERSION = 1


def _changed_subjects(version: DatasetVersion) -> dict[str, dict[tuple[str, str], None]]:
    after = compiled_exclusions_at(version.log_size, version.root_hash)
    previous = version.previous
    before = (
        compiled_exclusions_at(previous.log_size, previous.root_hash) if previous else NO_EXCLUSIONS
    )
    changed = {}
    for change, (left, right) in {
        "removed": (after, before),
        "reincluded": (before, after),
    }.items():
        difference = exclusions_minus(left, right)
        subjects = {(REPOSITORY, s): None for s in difference.repositories.to_pylist()}
        subjects |= {(NAMESPACE, s): None for s in all_namespaces(difference).to_pylist()}
        changed[change] = subjects
    return changed


def build_changelog(
    store: Store, version: DatasetVersion, shard_names: list[str]
) -> dict[str, Any]:
    counts: dict[tuple[str, str, str], list[int]] = {}
    for name in shard_names:
        path = f"{work_path(store, version.version)}/changes/{name}"
        if not store.exists(path):
            continue  # a reused shard: nothing in it changed
        with store.open_read(path) as handle:
            table = pq.read_table(handle)
        for row in table.to_pylist():
            key = (row["change"], row["kind"], row["subject"])
            total = counts.setdefault(key, [0, 0])
            total[0] += row["repositories"]
            total[1] += row["rows"]
    sections: dict[str, list[dict[str, Any]]] = {}
    for change, subjects in _changed_subjects(version).items():
        keys = {(kind, subject) for (c, kind, subject) in counts if c == change} | set(subjects)
        sections[change] = [
            {
                "exclusion": subject,
                "kind": kind,
                "repositories": counts.get((change, kind, subject), [0, 0])[0],
                "rows": counts.get((change, kind, subject), [0, 0])[1],
            }
            for kind, subject in sorted(keys, key=lambda item: (item[1], item[0]))
        ]
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
                "exclusions": len(entries),
                "repositories": sum(e["repositories"] for e in entries),
                "rows": sum(e["rows"] for e in entries),
            }
            for change, entries in sections.items()
        },
    }


def changelog_json(changelog: dict[str, Any]) -> bytes:
    # One exclusion a line: readable, and without indent= json uses its C encoder, which
    # matters for a first version listing 200,000 exclusions.
    head = {key: value for key, value in changelog.items() if key not in ("removed", "reincluded")}
    lines = [json.dumps(head, sort_keys=True)[:-1]]
    for change in ("reincluded", "removed"):
        entries = [json.dumps(entry, sort_keys=True) for entry in changelog[change]]
        body = "[\n" + ",\n".join(entries) + "\n]" if entries else "[]"
        lines.append(f', "{change}": {body}')
    return ("".join(lines) + "}\n").encode()


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
        if changelog[change]:
            lines += ["| exclusion | kind | repositories | rows |", "|---|---|---:|---:|"]
            lines += [
                f"| `{_escape(e['exclusion'])}` | {e['kind']} | {e['repositories']} | {e['rows']} |"
                for e in changelog[change]
            ]
            lines.append("")
    return "\n".join(lines).encode()


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("`", "'")
