"""The README.md dataset card of a version.

Its YAML header uses the Hugging Face dataset-card fields, so ``datasets`` (and tools
that read the same header) open the version folder directly:
``load_dataset("<folder>")`` finds the ``default`` config and its Parquet files.
"""

from __future__ import annotations

import json
from typing import Any

from governance.models import DatasetVersion


def _yaml_string(text: str) -> str:
    return json.dumps(text)  # a JSON string is a valid YAML double-quoted scalar


def build_card(version: DatasetVersion, changelog: dict[str, Any], rows_out: int) -> bytes:
    dataset = version.dataset
    removed = changelog["totals"]["removed"]
    reincluded = changelog["totals"]["reincluded"]
    header = [
        "---",
        f"pretty_name: {_yaml_string(f'{dataset.name} {version.version}')}",
        "license: other",
        f"license_name: {_yaml_string(dataset.license or 'see source dataset')}",
        "configs:",
        "- config_name: default",
        "  data_files:",
        "  - split: train",
        '    path: "data/*.parquet"',
        "---",
    ]
    body = [
        "",
        f"# {dataset.name} {version.version}",
        "",
        dataset.description or "A code dataset with opt-out exclusions applied.",
        "",
        f"- Rows: {rows_out}",
        f"- Registry checkpoint applied: log size {version.log_size}, "
        f"root `{version.root_hash}` (signed note in `manifest.json`).",
        f"- Removed since the previous version: {removed['repositories']} repositories, "
        f"{removed['rows']} rows ({removed['exclusions']} exclusions).",
        f"- Re-included: {reincluded['repositories']} repositories, {reincluded['rows']} rows.",
        f"- License: {dataset.license or 'see the source dataset'}.",
        "",
        "Every file is listed with its SHA-256 in `manifest.json`; see `CHANGELOG.md` for",
        "the exclusions applied. Repository owners can opt out on the portal.",
        "",
    ]
    return "\n".join(header + body).encode()
