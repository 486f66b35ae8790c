"""The manifest: what a version holds and the registry state it applied.

Stable schema (``manifest_version`` 1; fields are only ever added):

- ``dataset``, ``version``, ``previous_version`` (or null), ``license``
- ``files``: the data files, each ``{path, sha256, bytes, rows}``, ``path`` relative to
  the version folder, sorted by path
- ``metadata_files``: ``README.md``, ``CHANGELOG.md``, ``changelog.json``, ``changelog.parquet`` and
  ``repositories.parquet`` with ``{path, sha256, bytes}``
- ``rows``: ``{in, out}`` (rows read from the source, rows published)
- ``schema``: ``{fields: [{name, type, nullable}]}`` of the data files
- ``source``: ``{uri, fingerprint, shards: [{name, fingerprint, bytes}]}``, the snapshot
- ``checkpoint``: ``{size, root_hash, note}``: the registry log size applied, the
  RFC 6962 root in base64, and the signed note (C2SP) that a client can verify
- ``filter``: ``{repository_column, implied_host}``
- ``compression``: ``{codec, level}``

No timestamps: the same source and checkpoint give the same manifest, byte for byte.
"""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa

from governance.models import DatasetVersion, ShardBuild
from governance.releases.layout import DATA_DIR
from governance.releases.shard_write import ZSTD_LEVEL

MANIFEST_VERSION = 1


def schema_description(schema: pa.Schema) -> dict[str, Any]:
    return {
        "fields": [{"name": f.name, "type": str(f.type), "nullable": f.nullable} for f in schema]
    }


def build_manifest(
    version: DatasetVersion,
    shards: list[ShardBuild],
    schema: pa.Schema,
    metadata_files: list[dict[str, Any]],
) -> dict[str, Any]:
    dataset = version.dataset
    previous = version.previous
    return {
        "manifest_version": MANIFEST_VERSION,
        "dataset": dataset.name,
        "version": version.version,
        "previous_version": previous.version if previous else None,
        "license": dataset.license,
        "files": [
            {
                "path": f"{DATA_DIR}/{shard.name}",
                "sha256": shard.sha256,
                "bytes": shard.bytes,
                "rows": shard.rows_out,
            }
            for shard in sorted(shards, key=lambda s: s.name)
        ],
        "metadata_files": sorted(metadata_files, key=lambda f: f["path"]),
        "rows": {
            "in": sum(shard.rows_in for shard in shards),
            "out": sum(shard.rows_out for shard in shards),
        },
        "schema": schema_description(schema),
        "source": {
            "uri": dataset.source_uri,
            "fingerprint": version.source_fingerprint,
            "shards": [
                {"name": s.name, "fingerprint": s.source_fingerprint, "bytes": s.source_bytes}
                for s in sorted(shards, key=lambda s: s.name)
            ],
        },
        "checkpoint": {
            "size": version.log_size,
            "root_hash": version.root_hash,
            "note": version.checkpoint_note,
        },
        "filter": {"repository_column": dataset.repo_column, "implied_host": dataset.implied_host},
        "compression": {"codec": "zstd", "level": ZSTD_LEVEL},
    }


def manifest_bytes(manifest: dict[str, Any]) -> bytes:
    return json.dumps(manifest, indent=2, sort_keys=True).encode() + b"\n"
