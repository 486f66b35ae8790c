"""Where each piece of a dataset lives under its output root.

``<root>/<dataset>/<version>/`` is a published version (its ``_COMMITTED`` marker holds
the manifest's SHA-256). Everything whose name starts with a dot is internal:
``.staging/<version>/`` is a version being built, ``.work/<version>/`` holds each rewritten
shard's parts of the changelog and of the repository list, and
``.index/<fingerprint>.parquet`` is the repository index of one source shard, kept across
releases.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

from governance.models import Dataset, DatasetVersion
from governance.releases.storage import Store

MARKER_NAME = "_COMMITTED"
MANIFEST_NAME = "manifest.json"
CHANGELOG_JSON = "changelog.json"
CHANGELOG_PARQUET = "changelog.parquet"
CHANGELOG_MD = "CHANGELOG.md"
CARD_NAME = "README.md"
DATA_DIR = "data"


def dataset_root_uri(dataset: Dataset) -> str:
    root = dataset.output_uri or settings.DATASET_STORAGE_ROOT
    return f"{str(root).rstrip('/')}/{dataset.name}"


def dataset_store(dataset: Dataset) -> Store:
    return Store.at(dataset_root_uri(dataset))


def final_path(store: Store, label: str) -> str:
    return store.path(label)


def staging_path(store: Store, label: str) -> str:
    return store.path(".staging", label)


def work_path(store: Store, label: str) -> str:
    return store.path(".work", label)


# A rewritten shard's parts of its version's metadata, gathered at publish.
CHANGES_PART = "changes"  # the changelog's
REPOSITORIES_PART = "repositories"  # the repository list's


def shard_part_path(store: Store, label: str, part: str, shard: str) -> str:
    """Where a rewritten shard leaves ``part`` (``CHANGES_PART`` or ``REPOSITORIES_PART``)."""
    return f"{work_path(store, label)}/{part}/{shard}"


def index_path(store: Store, source_fingerprint: str) -> str:
    return store.path(".index", f"{source_fingerprint}.parquet")


def version_folder(version: DatasetVersion) -> Path:
    """The folder of a version on a local filesystem (object stores: use ``final_path``)."""
    return Path(dataset_root_uri(version.dataset)) / version.version
