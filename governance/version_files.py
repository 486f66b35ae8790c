"""What a published version's page shows from its folder: files, changelog, download URLs."""

from __future__ import annotations

import json
from typing import Any

from governance.models import DatasetVersion
from governance.releases.layout import CHANGELOG_JSON, MANIFEST_NAME, dataset_store, final_path
from governance.releases.storage import Store

SIGNED_URL_SECONDS = 3600


def version_files(version: DatasetVersion) -> list[dict[str, Any]]:
    """Every file of the version: data files, metadata files, then the manifest itself."""
    manifest = version.manifest or {}
    files = [{**entry, "kind": "data"} for entry in manifest.get("files", [])]
    files += [{**entry, "kind": "metadata"} for entry in manifest.get("metadata_files", [])]
    files.append(
        {
            "path": MANIFEST_NAME,
            "sha256": version.manifest_sha256,
            "kind": "manifest",
            "bytes": None,
        }
    )
    return files


def version_changelog(version: DatasetVersion) -> dict[str, Any]:
    """The version's changelog.json (raises FileNotFoundError when it is gone)."""
    store = dataset_store(version.dataset)
    path = f"{final_path(store, version.version)}/{CHANGELOG_JSON}"
    if not store.exists(path):
        raise FileNotFoundError(path)
    return json.loads(store.read_bytes(path))


def changelog_entries(changelog: dict[str, Any], *, search: str = "") -> list[dict[str, Any]]:
    """Removed, then re-included entries, each with its ``change``; those whose exclusion
    contains ``search`` (case-insensitive) when one is given."""
    needle = search.lower()
    entries = []
    for change in ("removed", "reincluded"):
        for entry in changelog.get(change, []):
            if needle and needle not in entry["exclusion"].lower():
                continue
            entries.append({**entry, "change": change})
    return entries


def signed_url(store: Store, path: str) -> str:
    """A time-limited URL to ``path`` on an object store, or its plain URL when the store
    cannot sign (a public bucket)."""
    try:
        return store.fs.sign(path, expiration=SIGNED_URL_SECONDS)
    except NotImplementedError:
        return store.url(path)
