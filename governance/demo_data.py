"""Generate Parquet shards shaped like The Stack v2, deterministically from a seed.

Columns: ``blob_id``, ``repo_name`` (``owner/name``), ``path``, ``language``,
``license_type``, ``size``, ``content``. Each repository's rows are contiguous, and
owners follow a skewed (Zipf-like) distribution, as in the real dataset. The demo
dataset of ``make run`` and the benchmarks use this same generator.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

SCHEMA = pa.schema(
    [
        ("blob_id", pa.string()),
        ("repo_name", pa.string()),
        ("path", pa.string()),
        ("language", pa.string()),
        ("license_type", pa.string()),
        ("size", pa.int64()),
        ("content", pa.string()),
    ]
)
_LANGUAGES = {"Python": "py", "Go": "go", "Rust": "rs", "JavaScript": "js", "C": "c"}
_LICENSES = ["permissive", "no_license"]
_WORDS = ["data", "parse", "value", "index", "node", "buffer", "config", "token", "tree", "cache"]


@dataclass(frozen=True)
class ShardSpec:
    shards: int = 4
    rows_per_shard: int = 500
    owners: int = 60
    rows_per_repo: tuple[int, int] = (1, 12)
    content_bytes: tuple[int, int] = (120, 600)
    seed: int = 2026


def _owner_name(index: int) -> str:
    return f"owner-{index:05d}"


def _content(rng: random.Random, target: int) -> str:
    lines: list[str] = []
    size = 0
    while size < target:
        a, b = rng.choice(_WORDS), rng.choice(_WORDS)
        line = f"def {a}_{b}(x):\n    return x + {rng.randint(0, 999)}\n"
        lines.append(line)
        size += len(line)
    return "".join(lines)


def generate_shards(folder: Path, spec: ShardSpec = ShardSpec()) -> list[Path]:
    """Write the shards of ``spec`` to ``folder``; the same seed gives the same bytes."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(spec.seed)
    weights = [1.0 / (rank + 1) for rank in range(spec.owners)]
    repo_counter = 0
    paths: list[Path] = []
    for shard in range(spec.shards):
        columns: dict[str, list] = {name: [] for name in SCHEMA.names}
        while len(columns["blob_id"]) < spec.rows_per_shard:
            owner = _owner_name(rng.choices(range(spec.owners), weights=weights)[0])
            repo = f"{owner}/repo-{repo_counter:06d}"
            repo_counter += 1
            language = rng.choice(list(_LANGUAGES))
            files = min(
                rng.randint(*spec.rows_per_repo), spec.rows_per_shard - len(columns["blob_id"])
            )
            for file_number in range(files):
                content = _content(rng, rng.randint(*spec.content_bytes))
                path = f"src/{rng.choice(_WORDS)}_{file_number}.{_LANGUAGES[language]}"
                columns["blob_id"].append(
                    hashlib.sha1(f"{repo}/{path}".encode(), usedforsecurity=False).hexdigest()
                )
                columns["repo_name"].append(repo)
                columns["path"].append(path)
                columns["language"].append(language)
                columns["license_type"].append(rng.choice(_LICENSES))
                columns["size"].append(len(content))
                columns["content"].append(content)
        path = folder / f"shard-{shard:05d}.parquet"
        pq.write_table(pa.table(columns, schema=SCHEMA), path, compression="zstd")
        paths.append(path)
    return paths
