"""The tile layout's arithmetic, on the examples the C2SP tlog-tiles text gives."""

from __future__ import annotations

import pytest

from registry import tlog_tiles


def test_an_index_is_written_in_three_digit_groups() -> None:
    assert tlog_tiles.index_path(1234067) == "x001/x234/067"
    assert tlog_tiles.index_path(0) == "000"
    assert tlog_tiles.index_path(1000) == "x001/000"
    assert tlog_tiles.tile_path(2, 5) == "tile/2/005"
    assert tlog_tiles.tile_path(0, 5, 112) == "tile/0/005.p/112"
    assert tlog_tiles.bundle_path(1234067, 1) == "tile/entries/x001/x234/067.p/1"


def test_a_tree_of_70000_has_the_tiles_the_spec_lists() -> None:
    tiles = list(tlog_tiles.tiles_of(70_000))
    level0 = [w for lv, _, w in tiles if lv == 0]
    assert level0.count(256) == 273 and level0[-1] == 112 and len(level0) == 274
    assert [(lv, n, w) for lv, n, w in tiles if lv > 0] == [(1, 0, 256), (1, 1, 17), (2, 0, 1)]
    assert list(tlog_tiles.tiles_of(256)) == [(0, 0, 256), (1, 0, 1)]


def test_a_bundle_round_trips_and_a_truncated_one_is_refused() -> None:
    leaves = [b"a", b"", "ü\t2".encode()]
    data = tlog_tiles.encode_bundle(leaves)
    assert data[:3] == b"\x00\x01a"
    assert tlog_tiles.decode_bundle(data) == leaves
    with pytest.raises(ValueError, match="ends inside an entry"):
        tlog_tiles.decode_bundle(data[:-1])


def test_a_tile_of_the_wrong_length_is_refused() -> None:
    with pytest.raises(ValueError, match="must be 64 bytes"):
        tlog_tiles.split_tile(b"\x00" * 63, 2)
