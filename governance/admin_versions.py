"""A dataset version's manifest and changelog as the admin shows them: tables, not JSON.

The manifest is the row's copy (``DatasetVersion.manifest``); the changelog is read from
the published folder a page at a time (``version_files.changelog_page``).
"""

from __future__ import annotations

from typing import Any

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from governance.enums import VersionStatus
from governance.models import DatasetVersion
from governance.version_files import changelog_page

# A first version lists every exclusion in force; the page shows the first ones.
CHANGELOG_ROWS_SHOWN = 100


def _table(headers: list[str], rows: list[tuple[Any, ...]], numeric: set[int]) -> SafeString:
    head = format_html_join("", '<th scope="col">{}</th>', ((h,) for h in headers))
    body = format_html_join(
        "",
        "<tr>{}</tr>",
        (
            (
                format_html_join(
                    "",
                    "{}",
                    (
                        (
                            format_html('<td class="numeric">{}</td>', f"{cell:,}")
                            if i in numeric
                            else format_html("<td>{}</td>", cell),
                        )
                        for i, cell in enumerate(row)
                    ),
                ),
            )
            for row in rows
        ),
    )
    return format_html("<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>", head, body)


def manifest_files(version: DatasetVersion) -> SafeString | str:
    manifest = version.manifest or {}
    files = manifest.get("files", [])
    if not files:
        return "—"
    rows = [(f["path"], f.get("rows", 0), f.get("bytes", 0), f.get("sha256", "")) for f in files]
    metadata = [
        (f["path"], f.get("bytes", 0), f.get("sha256", ""))
        for f in manifest.get("metadata_files", [])
    ]
    table = _table(["file", "rows", "bytes", "SHA-256"], rows, numeric={1, 2})
    if metadata:
        table += _table(["metadata file", "bytes", "SHA-256"], metadata, numeric={1})
    return table


def manifest_schema(version: DatasetVersion) -> SafeString | str:
    fields = (version.manifest or {}).get("schema", {}).get("fields", [])
    if not fields:
        return "—"
    rows = [(f["name"], f["type"], "yes" if f.get("nullable") else "no") for f in fields]
    return _table(["column", "type", "nullable"], rows, numeric=set())


def manifest_source(version: DatasetVersion) -> SafeString | str:
    manifest = version.manifest or {}
    source = manifest.get("source")
    if not source:
        return "—"
    filter_ = manifest.get("filter", {})
    compression = manifest.get("compression", {})
    return format_html(
        "<code>{}</code><br>snapshot fingerprint <code>{}</code>, {} source shards<br>"
        "repository column <code>{}</code>, implied host <code>{}</code>; {} level {}",
        source.get("uri", ""),
        source.get("fingerprint", ""),
        len(source.get("shards", [])),
        filter_.get("repository_column", ""),
        filter_.get("implied_host", ""),
        compression.get("codec", ""),
        compression.get("level", ""),
    )


def changelog_shown(version: DatasetVersion) -> SafeString | str:
    if version.status != VersionStatus.PUBLISHED:
        return "Written when the version is published."
    sections = {}
    try:
        for change in ("removed", "reincluded"):
            sections[change] = changelog_page(version, change=change, size=CHANGELOG_ROWS_SHOWN)
    except (OSError, ValueError, KeyError) as exc:
        return format_html("<strong>The changelog could not be read:</strong> {}", exc)
    head = sections["removed"].head
    previous = head.get("previous_version")
    checkpoint = head.get("checkpoint", {})
    parts = [
        format_html(
            "<p>{}</p>",
            f"Since {previous} (registry log entries {checkpoint.get('from')} to "
            f"{checkpoint.get('to')})."
            if previous
            else f"First version; registry log size {checkpoint.get('to')}.",
        )
    ]
    for change, title in (("removed", "Removed"), ("reincluded", "Re-included")):
        totals = head.get("totals", {}).get(change, {})
        shown = sections[change]
        parts.append(
            format_html(
                "<h3>{}</h3><p>{} exclusions, {} repositories, {} rows.</p>",
                title,
                f"{totals.get('exclusions', 0):,}",
                f"{totals.get('repositories', 0):,}",
                f"{totals.get('rows', 0):,}",
            )
        )
        if shown.entries:
            rows = [
                (e["exclusion"], e["kind"], e["repositories"], e["rows"]) for e in shown.entries
            ]
            parts.append(
                _table(["exclusion", "kind", "repositories", "rows"], rows, numeric={2, 3})
            )
            if shown.count > len(shown.entries):
                parts.append(
                    format_html(
                        "<p>… and {} more: the whole list is on the version's public page, "
                        "in its CHANGELOG.md and in changelog.json.</p>",
                        f"{shown.count - len(shown.entries):,}",
                    )
                )
    return format_html_join("", "{}", ((part,) for part in parts))
