"""The compact-protocol codec that reads and writes Parquet footers."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from governance.releases.thrift_compact import (
    BINARY,
    BOOL_FALSE,
    BOOL_TRUE,
    DOUBLE,
    I8,
    I16,
    I32,
    I64,
    LIST,
    MAP,
    SET,
    STRUCT,
    Field,
    ThriftError,
    ThriftList,
    ThriftMap,
    read_struct,
    write_struct,
)


def _footer(path) -> bytes:
    data = path.read_bytes()
    length = int.from_bytes(data[-8:-4], "little")
    return data[-8 - length : -8]


def test_a_pyarrow_footer_is_written_back_byte_for_byte(tmp_path) -> None:
    table = pa.table(
        {
            "id": pa.array(range(500), pa.int64()),
            "name": [f"repo-{i % 17}" for i in range(500)],
            "score": [i / 7 for i in range(500)],
            "flag": [i % 3 == 0 for i in range(500)],
        }
    )
    path = tmp_path / "t.parquet"
    pq.write_table(table, path, row_group_size=64, compression="zstd")
    footer = _footer(path)

    fields, end = read_struct(footer)

    assert end == len(footer)
    assert write_struct(fields) == footer
    num_rows = next(field for field in fields if field.id == 3)
    assert num_rows.value == 500


def test_every_compact_type_round_trips() -> None:
    nested = [Field(1, I32, -7), Field(2, BINARY, b"inner")]
    fields = [
        Field(1, BOOL_TRUE, True),
        Field(2, BOOL_FALSE, False),
        Field(3, I8, -5),
        Field(4, I16, 300),
        Field(5, I32, -(2**31)),
        Field(6, I64, 2**62 + 11),
        Field(7, DOUBLE, -2.5),
        Field(8, BINARY, b"\x00\xffbytes"),
        Field(9, LIST, ThriftList(BOOL_TRUE, [True, False, True])),
        Field(10, LIST, ThriftList(I64, list(range(-20, 20)))),  # 15 or more: long header
        Field(11, SET, ThriftList(BINARY, [b"a", b"b"], set=True)),
        Field(12, MAP, ThriftMap(BINARY, I32, [(b"k", 1), (b"l", -2)])),
        Field(13, MAP, ThriftMap(0, 0, [])),
        Field(14, STRUCT, nested),
        Field(40, LIST, ThriftList(STRUCT, [nested, []])),  # a jump of more than 15 ids
    ]

    data = write_struct(fields)
    read, end = read_struct(data)

    assert end == len(data)
    assert read == fields
    assert write_struct(read) == data


@pytest.mark.parametrize("cut", [1, 5, 12])
def test_truncated_bytes_raise_a_thrift_error(cut: int) -> None:
    data = write_struct([Field(1, BINARY, b"x" * 20), Field(2, I64, 12345678)])
    with pytest.raises(ThriftError):
        read_struct(data[:-cut])
