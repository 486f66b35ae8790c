"""Generate Parquet shards shaped like The Stack v2, deterministically from a seed.

Columns: ``blob_id``, ``repo_name`` (``owner/name``), ``path``, ``language``,
``license_type``, ``size``, ``content``. Each repository's rows are contiguous, and
owners follow a skewed (Zipf-like) distribution, as in the real dataset. The demo
dataset of ``make run`` and the benchmarks use this same generator.

With ``markers_every`` set, every so many repositories carry an opt-out marker at their
root in place of their first file (the row count stays the same): ``.dataset-optout``
with the ``opt-out`` directive, or, every other time, a ``robots.txt`` refusing AI
training (``Content-Usage: / train-ai=n``).
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
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
    row_group_rows: int = 10_000  # keeps readers' memory bounded by a row group
    corpus_bytes: int = 1 << 20  # contents are slices of one generated corpus of this size
    markers_every: int = 0  # every n-th repository opts out at its root (0: none)


MARKER_FILES = (
    (".dataset-optout", "# This repository asks to be left out of datasets.\nopt-out\n"),
    ("robots.txt", "User-Agent: *\nAllow: /\nContent-Usage: / train-ai=n\n"),
)


def _owner_name(index: int) -> str:
    return f"owner-{index:05d}"


def _corpus(rng: random.Random, size: int) -> str:
    """Code-like text; row contents are slices of it, so generating millions is fast."""
    lines: list[str] = []
    total = 0
    while total < size:
        a, b = rng.choice(_WORDS), rng.choice(_WORDS)
        line = f"def {a}_{b}_{rng.randint(0, 9999)}(x):\n    return x + {rng.randint(0, 999)}\n"
        lines.append(line)
        total += len(line)
    return "".join(lines)


def generate_shards(folder: Path, spec: ShardSpec = ShardSpec()) -> list[Path]:
    """Write the shards of ``spec`` to ``folder``; the same seed gives the same bytes."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(spec.seed)
    corpus = _corpus(
        random.Random(spec.seed + 1), max(spec.corpus_bytes, spec.content_bytes[1] * 2)
    )
    # Zipf-like owners: owner k is picked with weight 1/(k+1), by bisecting the cumulative
    # weights (O(log owners) a pick, so 300,000 owners stay fast).
    cumulative = list(itertools.accumulate(1.0 / (rank + 1) for rank in range(spec.owners)))
    languages = list(_LANGUAGES)
    repo_counter = 0
    paths: list[Path] = []
    for shard in range(spec.shards):
        path = folder / f"shard-{shard:05d}.parquet"
        temporary = path.with_suffix(".parquet.tmp")
        rows = 0
        with pq.ParquetWriter(temporary, SCHEMA, compression="zstd") as writer:
            columns: dict[str, list] = {name: [] for name in SCHEMA.names}
            while rows < spec.rows_per_shard:
                owner_index = bisect.bisect(cumulative, rng.random() * cumulative[-1])
                owner = _owner_name(min(owner_index, spec.owners - 1))
                repo = f"{owner}/repo-{repo_counter:06d}"
                language = rng.choice(languages)
                files = min(rng.randint(*spec.rows_per_repo), spec.rows_per_shard - rows)
                for file_number in range(files):
                    size = rng.randint(*spec.content_bytes)
                    start = rng.randrange(len(corpus) - size)
                    content = corpus[start : start + size]
                    file_path = f"src/{rng.choice(_WORDS)}_{file_number}.{_LANGUAGES[language]}"
                    marked = spec.markers_every and repo_counter % spec.markers_every == 0
                    if marked and file_number == 0:
                        file_path, content = MARKER_FILES[
                            (repo_counter // spec.markers_every) % len(MARKER_FILES)
                        ]
                    columns["blob_id"].append(
                        hashlib.sha1(
                            f"{repo}/{file_path}".encode(), usedforsecurity=False
                        ).hexdigest()
                    )
                    columns["repo_name"].append(repo)
                    columns["path"].append(file_path)
                    columns["language"].append(language)
                    columns["license_type"].append(rng.choice(_LICENSES))
                    columns["size"].append(len(content))
                    columns["content"].append(content)
                    rows += 1
                    if len(columns["blob_id"]) >= spec.row_group_rows:
                        writer.write_table(pa.table(columns, schema=SCHEMA))
                        columns = {name: [] for name in SCHEMA.names}
                repo_counter += 1
            if columns["blob_id"]:
                writer.write_table(pa.table(columns, schema=SCHEMA))
        temporary.replace(path)
        paths.append(path)
    return paths
