"""Join Parquet files written with one schema into one file, without decoding them.

A shard is written as several parts at once, one a thread (see ``shard_write``), each a
whole Parquet file of consecutive row groups. Joining them copies each part's row groups
byte for byte and writes one footer that lists them all, every file offset moved to
where its bytes now lie: the file one writer would have written from the same row
groups. ``copy_row_groups`` then ``write_footer`` (a crash between the two leaves a
temporary file without a footer, never a visible one).

The first part may be written in place, straight into the joined file, with its
footer kept apart (``part_from_tail``): then only the other parts are copied.

Parts must not carry page indexes or bloom filters: those hold file offsets inside
structures this module does not rewrite. The shard writer turns both off, and a part
that has one is refused.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import BinaryIO

from governance.releases.thrift_compact import I16, Field, ThriftList, read_struct, write_struct

MAGIC = b"PAR1"
COPY_BYTES = 8 << 20

# Field ids of parquet.thrift.
_FILE_NUM_ROWS, _FILE_ROW_GROUPS = 3, 4
_GROUP_COLUMNS, _GROUP_FILE_OFFSET, _GROUP_ORDINAL = 1, 5, 7
_CHUNK_FILE_OFFSET, _CHUNK_META = 2, 3
_CHUNK_PAGE_INDEXES = (4, 6)  # offset_index_offset, column_index_offset
_META_PAGE_OFFSETS = (9, 10, 11)  # data_page_offset, index_page_offset, dictionary_page_offset
_META_BLOOM_FILTER = 14
_ORDINAL_MAX = 2**15 - 1


class ParquetJoinError(ValueError):
    pass


@dataclass
class Part:
    path: str | None  # the file of its row groups; None: in place, at the joined file's start
    data_end: int  # where the part's row groups end and its footer starts
    footer: list[Field]


def read_parts(paths: list[str]) -> list[Part]:
    return [_read_part(path) for path in paths]


def _read_part(path: str) -> Part:
    size = os.path.getsize(path)
    with open(path, "rb") as handle:
        if handle.read(len(MAGIC)) != MAGIC:
            raise ParquetJoinError(f"{path} is not a plain (unencrypted) Parquet file")
        handle.seek(max(size - 8, 0))
        length = int.from_bytes(handle.read(4), "little")
        handle.seek(max(size - 8 - length, 0))
        return part_from_tail(path, size - 8 - length, handle.read())


def part_from_tail(path: str | None, data_end: int, tail: bytes) -> Part:
    """A part from the bytes its writer wrote after its row groups: footer, length, magic."""
    length = int.from_bytes(tail[-8:-4], "little")
    if tail[-4:] != MAGIC or length != len(tail) - 8 or data_end < len(MAGIC):
        raise ParquetJoinError(f"part {path or 'in place'} does not end in a plain Parquet footer")
    footer, _end = read_struct(tail[:length])
    return Part(path, data_end, footer)


def copy_row_groups(parts: list[Part], sink: BinaryIO) -> None:
    """The joined file up to its footer: the magic bytes, then every part's row groups.

    A first part written in place is in ``sink`` already, magic bytes included.
    """
    if any(part.path is None for part in parts[1:]):
        raise ParquetJoinError("only the first part can be written in place")
    if parts[0].path is not None:
        sink.write(MAGIC)
    for part in parts:
        if part.path is not None:
            with PartCopier(part.path) as copier:
                copier.finish(sink, part.data_end)


class PartCopier:
    """Appends a part file's row groups (all after its magic bytes) to the joined file,
    if need be while the part's writer is still filling it: ``copy_available`` copies
    what the file holds so far, ``finish`` the rest once the writer is done."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._handle: BinaryIO | None = None
        self._position = len(MAGIC)
        self._buffer = memoryview(bytearray(COPY_BYTES))

    def copy_available(self, sink: BinaryIO) -> None:
        """Copy what the file holds so far: its writer holds its footer back."""
        if self._handle is not None or os.path.exists(self.path):  # its writer has started
            self._copy(sink, os.fstat(self._opened().fileno()).st_size)

    def finish(self, sink: BinaryIO, data_end: int) -> None:
        """Copy the rest of the row groups, which end at ``data_end``."""
        self._copy(sink, data_end)
        if self._position != data_end:
            raise ParquetJoinError(f"{self.path} does not end its row groups where its footer says")

    def _opened(self) -> BinaryIO:
        if self._handle is None:
            self._handle = open(self.path, "rb", buffering=0)  # noqa: SIM115 - see close
        return self._handle

    def _copy(self, sink: BinaryIO, end: int) -> None:
        if end <= self._position:
            return
        handle = self._opened()
        if self._position == len(MAGIC):
            handle.seek(0)
            if handle.read(len(MAGIC)) != MAGIC:
                raise ParquetJoinError(f"{self.path} is not a plain (unencrypted) Parquet file")
        while self._position < end:
            size = handle.readinto(self._buffer[: min(COPY_BYTES, end - self._position)])
            if not size:
                return
            sink.write(self._buffer[:size])
            self._position += size

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()

    def __enter__(self) -> PartCopier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write_footer(parts: list[Part], sink: BinaryIO) -> None:
    footer = write_struct(joined_footer(parts))
    sink.write(footer)
    sink.write(len(footer).to_bytes(4, "little"))
    sink.write(MAGIC)


def joined_footer(parts: list[Part]) -> list[Field]:
    """The first part's footer, listing every part's row groups at their joined offsets."""
    rows, groups = 0, []
    position = len(MAGIC)  # where the current part's first row group lands
    for part in parts:
        shift = position - len(MAGIC)
        for group in _field(part.footer, _FILE_ROW_GROUPS).value.items:
            groups.append(_moved_group(group, shift, ordinal=len(groups)))
        rows += _field(part.footer, _FILE_NUM_ROWS).value
        position += part.data_end - len(MAGIC)
    first = _field(parts[0].footer, _FILE_ROW_GROUPS).value
    joined = []
    for field in parts[0].footer:
        if field.id == _FILE_NUM_ROWS:
            field = Field(field.id, field.type, rows)
        elif field.id == _FILE_ROW_GROUPS:
            field = Field(field.id, field.type, ThriftList(first.element_type, groups))
        joined.append(field)
    return joined


def _moved_group(group: list[Field], shift: int, *, ordinal: int) -> list[Field]:
    moved = []
    for field in group:
        if field.id == _GROUP_COLUMNS:
            columns = [_moved_chunk(chunk, shift) for chunk in field.value.items]
            field = Field(field.id, field.type, ThriftList(field.value.element_type, columns))
        elif field.id == _GROUP_FILE_OFFSET:
            field = Field(field.id, field.type, field.value + shift)
        elif field.id == _GROUP_ORDINAL:
            if ordinal > _ORDINAL_MAX:
                continue  # optional, and an i16: writers leave it out past that many groups
            field = Field(field.id, I16, ordinal)
        moved.append(field)
    return moved


def _moved_chunk(chunk: list[Field], shift: int) -> list[Field]:
    moved = []
    for field in chunk:
        if field.id in _CHUNK_PAGE_INDEXES:
            raise ParquetJoinError("a part has a page index; write parts without one")
        if field.id == _CHUNK_FILE_OFFSET and field.value:  # deprecated; Arrow writes 0
            field = Field(field.id, field.type, field.value + shift)
        elif field.id == _CHUNK_META:
            field = Field(field.id, field.type, _moved_metadata(field.value, shift))
        moved.append(field)
    return moved


def _moved_metadata(metadata: list[Field], shift: int) -> list[Field]:
    moved = []
    for field in metadata:
        if field.id == _META_BLOOM_FILTER:
            raise ParquetJoinError("a part has a bloom filter; write parts without one")
        if field.id in _META_PAGE_OFFSETS:
            field = Field(field.id, field.type, field.value + shift)
        moved.append(field)
    return moved


def _field(fields: list[Field], field_id: int) -> Field:
    for field in fields:
        if field.id == field_id:
            return field
    raise ParquetJoinError(f"a part's footer has no field {field_id}")
