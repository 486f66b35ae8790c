"""Changelog files: the Arrow-built lines are exactly what json.dumps and the table give."""

from __future__ import annotations

import json

import pyarrow as pa

from governance.releases.changelog import changelog_json, changelog_markdown

_EXCLUSIONS = [
    "github.com/octo/hello",
    'github.com/a"quote/b',
    "github.com/back\\slash/x",
    "gitlab.com/grüße/pipe|and`tick",
    "github.com/tab\there/y",
    "github.com/emoji-\U0001f600/z",
]


def _changelog() -> dict:
    removed = pa.table(
        {
            "exclusion": pa.array(_EXCLUSIONS, pa.string()),
            "kind": pa.array(["repository"] * len(_EXCLUSIONS), pa.string()),
            "repositories": pa.array(range(len(_EXCLUSIONS)), pa.int64()),
            "rows": pa.array([10 * n for n in range(len(_EXCLUSIONS))], pa.int64()),
        }
    )
    reincluded = removed.slice(0, 0)
    return {
        "changelog_version": 1,
        "dataset": "demo",
        "version": "1.0.1",
        "previous_version": "1.0.0",
        "checkpoint": {"from": 3, "to": 9},
        "removed": removed,
        "reincluded": reincluded,
        "totals": {
            "removed": {"exclusions": 6, "repositories": 15, "rows": 150},
            "reincluded": {"exclusions": 0, "repositories": 0, "rows": 0},
        },
    }


def test_each_json_line_is_json_dumps_of_its_entry_even_for_hostile_names() -> None:
    text = changelog_json(_changelog()).decode()

    expected_lines = [
        json.dumps(
            {"exclusion": name, "kind": "repository", "repositories": n, "rows": 10 * n},
            sort_keys=True,
        )
        for n, name in enumerate(_EXCLUSIONS)
    ]
    assert text.split('"removed": [\n', 1)[1] == ",\n".join(expected_lines) + "\n]}\n"
    assert json.loads(text)["removed"][3] == {
        "exclusion": "gitlab.com/grüße/pipe|and`tick",
        "kind": "repository",
        "repositories": 3,
        "rows": 30,
    }
    assert json.loads(text)["reincluded"] == []


def test_markdown_rows_escape_pipes_and_backticks() -> None:
    lines = changelog_markdown(_changelog()).decode().split("\n")

    start = lines.index("| exclusion | kind | repositories | rows |") + 2
    assert lines[start : start + 6] == [
        "| `github.com/octo/hello` | repository | 0 | 0 |",
        '| `github.com/a"quote/b` | repository | 1 | 10 |',
        "| `github.com/back\\slash/x` | repository | 2 | 20 |",
        "| `gitlab.com/grüße/pipe\\|and'tick` | repository | 3 | 30 |",
        "| `github.com/tab\there/y` | repository | 4 | 40 |",
        "| `github.com/emoji-\U0001f600/z` | repository | 5 | 50 |",
    ]
    assert "## Re-included" in lines
