"""Finding opt-out markers in a shard's rows."""

import pyarrow as pa
import pyarrow.parquet as pq

from governance.releases.markers import FoundMarker, shard_markers

OPTOUT = "opt-out\n"
ROBOTS = "User-Agent: *\nContent-Usage: / train-ai=n\n"


def _shard(tmp_path, rows: list[tuple[str, str, str, str]], *, group_rows: int = 2):
    table = pa.table(
        {
            "repo_name": [r[0] for r in rows],
            "path": [r[1] for r in rows],
            "content": [r[2] for r in rows],
            "revision_id": [r[3] for r in rows],
        }
    )
    path = tmp_path / "shard.parquet"
    pq.write_table(table, path, row_group_size=group_rows)
    return pq.ParquetFile(path), table


def _markers(reader, table, keep, revision_column="revision_id") -> list[FoundMarker]:
    return shard_markers(
        reader,
        table.column("repo_name").combine_chunks(),
        table.column("path").combine_chunks(),
        pa.array(keep),
        host="github.com",
        content_column="content",
        revision_column=revision_column,
    )


def test_markers_at_repository_roots_are_found_across_row_groups(tmp_path) -> None:
    rows = [
        ("Octo/One", "src/a.py", "opt-out\n", "c1"),
        ("Octo/One", ".dataset-optout", OPTOUT, "c1"),
        ("octo/two", "docs/.dataset-optout", OPTOUT, "c2"),  # not at the root
        ("octo/two", "README.md", "opt-out\n", "c2"),  # not a marker file
        ("octo/three", "/robots.txt", ROBOTS, "c3"),  # written with a leading slash
        ("octo/four", ".dataset-optout", "dsopt_token\n", "c4"),  # a token, no directive
        ("octo/five", "robots.txt", ROBOTS, "c5"),  # excluded by this release
        ("octo/six", None, None, "c6"),
    ]
    reader, table = _shard(tmp_path, rows)
    keep = [True] * 6 + [False, True]

    found = _markers(reader, table, keep)

    assert found == [
        FoundMarker("github.com/octo/one", ".dataset-optout", "dataset-optout", "opt-out", "c1"),
        FoundMarker(
            "github.com/octo/three",
            "/robots.txt",
            "aipref-robots",
            "Content-Usage: / train-ai=n",
            "c3",
        ),
    ]


def test_a_shard_without_a_revision_column_gives_markers_without_a_revision(tmp_path) -> None:
    reader, table = _shard(tmp_path, [("octo/one", ".dataset-optout", OPTOUT, "c1")])
    found = _markers(reader, table, [True], revision_column="commit")
    assert [(m.repository, m.revision) for m in found] == [("github.com/octo/one", "")]


def test_a_shard_without_markers_reads_no_content(tmp_path) -> None:
    reader, table = _shard(tmp_path, [("octo/one", "a.py", "x", "c1")] * 4)
    reads = []
    original = reader.read_row_group
    reader.read_row_group = lambda *a, **k: reads.append(a) or original(*a, **k)
    assert _markers(reader, table, [True] * 4) == []
    assert reads == []
