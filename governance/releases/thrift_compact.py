"""Thrift's compact protocol, read and written without a schema: what a Parquet footer is.

A struct is read as a list of ``Field`` (id, compact type, value) in the order written,
and written back the same way, so a footer can be changed field by field (see
``parquet_join``) without a generated Thrift binding. Values: ints for the integer
types, ``bytes`` for binary, ``float`` for double, ``bool`` for a boolean field, a
``ThriftList`` for lists and sets, a list of ``Field`` for a struct, and a
``ThriftMap`` for maps.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

BOOL_TRUE, BOOL_FALSE, I8, I16, I32, I64, DOUBLE, BINARY, LIST, SET, MAP, STRUCT = range(1, 13)
_INTEGERS = (I16, I32, I64)


class ThriftError(ValueError):
    """The bytes are not a well-formed compact-protocol struct."""


@dataclass
class Field:
    id: int
    type: int
    value: Any


@dataclass
class ThriftList:
    element_type: int
    items: list[Any]
    set: bool = False


@dataclass
class ThriftMap:
    key_type: int
    value_type: int
    items: list[tuple[Any, Any]]


class _Reader:
    def __init__(self, data: bytes, position: int = 0) -> None:
        self.data = data
        self.position = position

    def byte(self) -> int:
        if self.position >= len(self.data):
            raise ThriftError("the struct ends before its STOP byte")
        value = self.data[self.position]
        self.position += 1
        return value

    def take(self, size: int) -> bytes:
        if size < 0 or self.position + size > len(self.data):
            raise ThriftError("a value runs past the end of the bytes")
        value = self.data[self.position : self.position + size]
        self.position += size
        return value

    def varint(self) -> int:
        result = shift = 0
        while True:
            byte = self.byte()
            result |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return result
            shift += 7
            if shift > 70:
                raise ThriftError("a varint is longer than 10 bytes")

    def zigzag(self) -> int:
        value = self.varint()
        return (value >> 1) ^ -(value & 1)

    def value(self, kind: int) -> Any:
        if kind in (BOOL_TRUE, BOOL_FALSE):  # only inside a list, set or map: one byte
            return self.byte() == BOOL_TRUE
        if kind == I8:
            return struct.unpack("b", self.take(1))[0]
        if kind in _INTEGERS:
            return self.zigzag()
        if kind == DOUBLE:
            return struct.unpack("<d", self.take(8))[0]
        if kind == BINARY:
            return self.take(self.varint())
        if kind in (LIST, SET):
            header = self.byte()
            size = header >> 4
            if size == 15:
                size = self.varint()
            element = header & 0x0F
            return ThriftList(element, [self.value(element) for _ in range(size)], kind == SET)
        if kind == MAP:
            size = self.varint()
            if size == 0:
                return ThriftMap(0, 0, [])
            types = self.byte()
            key, value = types >> 4, types & 0x0F
            items = [(self.value(key), self.value(value)) for _ in range(size)]
            return ThriftMap(key, value, items)
        if kind == STRUCT:
            return self.fields()
        raise ThriftError(f"unknown compact type {kind}")

    def fields(self) -> list[Field]:
        fields, last = [], 0
        while True:
            header = self.byte()
            if header == 0:
                return fields
            kind, delta = header & 0x0F, header >> 4
            field_id = last + delta if delta else self.zigzag()
            if kind in (BOOL_TRUE, BOOL_FALSE):
                value: Any = kind == BOOL_TRUE
            else:
                value = self.value(kind)
            fields.append(Field(field_id, kind, value))
            last = field_id


def read_struct(data: bytes, position: int = 0) -> tuple[list[Field], int]:
    """The struct starting at ``position`` and the position just after it."""
    reader = _Reader(data, position)
    return reader.fields(), reader.position


class _Writer:
    def __init__(self) -> None:
        self.out = bytearray()

    def varint(self, value: int) -> None:
        while value > 0x7F:
            self.out.append((value & 0x7F) | 0x80)
            value >>= 7
        self.out.append(value)

    def zigzag(self, value: int) -> None:
        self.varint((value << 1) ^ (value >> 63))

    def value(self, kind: int, value: Any) -> None:
        if kind in (BOOL_TRUE, BOOL_FALSE):
            self.out.append(BOOL_TRUE if value else BOOL_FALSE)
        elif kind == I8:
            self.out += struct.pack("b", value)
        elif kind in _INTEGERS:
            self.zigzag(value)
        elif kind == DOUBLE:
            self.out += struct.pack("<d", value)
        elif kind == BINARY:
            self.varint(len(value))
            self.out += value
        elif kind in (LIST, SET):
            size = len(value.items)
            if size < 15:
                self.out.append(size << 4 | value.element_type)
            else:
                self.out.append(0xF0 | value.element_type)
                self.varint(size)
            for item in value.items:
                self.value(value.element_type, item)
        elif kind == MAP:
            self.varint(len(value.items))
            if value.items:
                self.out.append(value.key_type << 4 | value.value_type)
                for key, item in value.items:
                    self.value(value.key_type, key)
                    self.value(value.value_type, item)
        elif kind == STRUCT:
            self.fields(value)
        else:
            raise ThriftError(f"unknown compact type {kind}")

    def fields(self, fields: list[Field]) -> None:
        last = 0
        for field in fields:
            kind = field.type
            if kind in (BOOL_TRUE, BOOL_FALSE):
                kind = BOOL_TRUE if field.value else BOOL_FALSE
            delta = field.id - last
            if 0 < delta <= 15:
                self.out.append(delta << 4 | kind)
            else:
                self.out.append(kind)
                self.zigzag(field.id)
            if kind not in (BOOL_TRUE, BOOL_FALSE):
                self.value(kind, field.value)
            last = field.id
        self.out.append(0)


def write_struct(fields: list[Field]) -> bytes:
    writer = _Writer()
    writer.fields(fields)
    return bytes(writer.out)
