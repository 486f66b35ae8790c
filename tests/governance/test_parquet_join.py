"""Joining Parquet parts into one file without decoding them."""

from __future__ import annotations

import io

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from governance.releases.parquet_join import (
    ParquetJoinError,
    PartCopier,
    copy_row_groups,
    read_parts,
    write_footer,
)


def _table(rows: int, offset: int = 0) -> pa.Table:
    return pa.table(
        {
            "id": pa.array(range(offset, offset + rows), pa.int64()),
            "repo": [f"owner-{i % 13}/repo-{i % 29}" for i in range(offset, offset + rows)],
            "content": ["x" * (i % 300) + str(i) for i in range(offset, offset + rows)],
        }
    )


def _join(paths: list[str], target) -> None:
    parts = read_parts(paths)
    with open(target, "wb") as sink:
        copy_row_groups(parts, sink)
        write_footer(parts, sink)


def _write_parts(tmp_path, sizes: list[int], **options) -> tuple[list[str], pa.Table]:
    paths, tables, offset = [], [], 0
    for index, rows in enumerate(sizes):
        table = _table(rows, offset)
        path = str(tmp_path / f"part{index}.parquet")
        pq.write_table(table, path, row_group_size=100, compression="zstd", **options)
        paths.append(path)
        tables.append(table)
        offset += rows
    return paths, pa.concat_tables(tables)


def test_joined_parts_read_back_as_one_table_in_pyarrow_and_polars(tmp_path) -> None:
    paths, expected = _write_parts(tmp_path, [250, 300, 40])
    target = tmp_path / "joined.parquet"

    _join(paths, target)

    joined = pq.ParquetFile(target)
    assert joined.metadata.num_rows == 590
    assert joined.metadata.num_row_groups == 3 + 3 + 1
    assert [joined.metadata.row_group(i).num_rows for i in range(7)] == [
        100, 100, 50, 100, 100, 100, 40,
    ]  # fmt: skip
    assert joined.read().equals(expected)
    assert joined.read_row_group(4).equals(expected.slice(350, 100))  # seeks by offset
    assert pl.read_parquet(target).equals(pl.from_arrow(expected))


def test_row_group_offsets_point_at_the_copied_column_chunks(tmp_path) -> None:
    paths, _expected = _write_parts(tmp_path, [120, 120])
    target = tmp_path / "joined.parquet"

    _join(paths, target)

    metadata = pq.ParquetFile(target).metadata
    data = target.read_bytes()
    first_part = pq.ParquetFile(paths[0]).metadata
    shift = read_parts(paths)[0].data_end - 4
    for index in range(first_part.num_row_groups, metadata.num_row_groups):
        own = pq.ParquetFile(paths[1]).metadata.row_group(index - first_part.num_row_groups)
        for column in range(metadata.num_columns):
            moved = metadata.row_group(index).column(column)
            assert moved.data_page_offset == own.column(column).data_page_offset + shift
            assert moved.data_page_offset < len(data)


def test_a_part_with_a_page_index_is_refused(tmp_path) -> None:
    paths, _expected = _write_parts(tmp_path, [50, 50], write_page_index=True)
    parts = read_parts(paths)
    with open(tmp_path / "joined.parquet", "wb") as sink, pytest.raises(ParquetJoinError):
        write_footer(parts, sink)


def test_a_file_that_is_not_parquet_is_refused(tmp_path) -> None:
    path = tmp_path / "not.parquet"
    path.write_bytes(b"hello, this is not a parquet file at all")
    with pytest.raises(ParquetJoinError, match="not a plain"):
        read_parts([str(path)])


def test_row_group_ordinals_are_numbered_across_the_joined_parts() -> None:
    from governance.releases.parquet_join import Part, joined_footer
    from governance.releases.thrift_compact import I16, I64, LIST, STRUCT, Field, ThriftList

    def footer(groups: int) -> list[Field]:
        items = [
            [Field(3, I64, 10), Field(5, I64, 4 + 7 * i), Field(7, I16, i)] for i in range(groups)
        ]
        return [Field(3, I64, 10 * groups), Field(4, LIST, ThriftList(STRUCT, items))]

    parts = [Part("a", data_end=4 + 14, footer=footer(2)), Part("b", 4 + 7, footer(1))]

    joined = joined_footer(parts)

    rows = next(field.value for field in joined if field.id == 3)
    groups = next(field.value for field in joined if field.id == 4).items
    assert rows == 30
    assert [[field.value for field in group if field.id == 7] for group in groups] == [
        [0],
        [1],
        [2],
    ]
    assert [[field.value for field in group if field.id == 5] for group in groups] == [
        [4],
        [11],
        [18],
    ]


def test_a_part_is_copied_while_its_writer_is_still_filling_it(tmp_path) -> None:
    paths, _table = _write_parts(tmp_path, [700])
    whole = open(paths[0], "rb").read()  # noqa: SIM115
    data_end = read_parts(paths)[0].data_end
    growing = tmp_path / "growing.parquet"
    sink = io.BytesIO()
    with PartCopier(str(growing)) as copier:
        copier.copy_available(sink)  # not created yet: nothing to copy
        for cut in (2, 3, 200, data_end // 2, data_end):  # its writer holds the footer back
            with open(growing, "ab") as handle:
                handle.write(whole[growing.stat().st_size if growing.exists() else 0 : cut])
            copier.copy_available(sink)
        copier.finish(sink, data_end)
    assert sink.getvalue() == whole[4:data_end]  # the row groups, after the magic bytes


def test_a_part_shorter_than_its_footer_says_is_refused(tmp_path) -> None:
    paths, _table = _write_parts(tmp_path, [300])
    data_end = read_parts(paths)[0].data_end
    with open(paths[0], "r+b") as handle:
        handle.truncate(data_end - 10)
    with PartCopier(paths[0]) as copier, pytest.raises(ParquetJoinError, match="does not end"):
        copier.finish(io.BytesIO(), data_end)
