"""The C2SP tlog-tiles layout of an RFC 6962 log: paths, entry bundles, and proofs from tiles.

Pure functions with no Django import: the server writes tiles with them
(``registry.tiles``) and the stand-alone client reads them (``registry.client``).

The layout (c2sp.org/tlog-tiles):
- a tile at level ``L`` and index ``N`` holds up to 256 consecutive 32-byte hashes; hash
  ``i`` of tile ``(L, N)`` is the Merkle hash of the leaves
  ``[(N*256 + i) * 256**L, (N*256 + i + 1) * 256**L)``, so a level-0 tile holds leaf
  hashes and a level-L hash is a perfect subtree of height 8·L;
- a tile is *full* at 256 hashes; the rightmost tile of a level is *partial* and is served
  at ``tile/<L>/<N>.p/<W>`` with its width ``W``; a partial tile never changes either
  (a wider one is a new file);
- ``N`` is written in 3-digit groups, every group but the last prefixed ``x``:
  1234067 → ``x001/x234/067``;
- ``tile/entries/<N>[.p/<W>]`` holds the leaves of level-0 tile ``N``, each as a
  big-endian uint16 length and the leaf's bytes.

Any Merkle hash over a leaf range splits into aligned perfect subtrees
(``merkle.perfect_subtrees``); a subtree of height 8·L + r is the Merkle root of ``2**r``
consecutive hashes of one level-L tile, so roots and proofs need only tiles.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable

from registry import merkle

TILE_WIDTH = 256
TILE_HEIGHT = 8
_LENGTH = struct.Struct(">H")


def index_path(n: int) -> str:
    """``N`` as zero-padded 3-digit path elements, all but the last starting with ``x``."""
    if n < 0:
        raise ValueError(f"A tile index cannot be negative ({n}).")
    groups = []
    while True:
        groups.append(f"{n % 1000:03d}")
        n //= 1000
        if n == 0:
            break
    groups.reverse()
    return "/".join([*(f"x{g}" for g in groups[:-1]), groups[-1]])


def _suffix(width: int) -> str:
    if not 0 < width <= TILE_WIDTH:
        raise ValueError(f"A tile holds 1 to {TILE_WIDTH} hashes, not {width}.")
    return "" if width == TILE_WIDTH else f".p/{width}"


def tile_path(level: int, n: int, width: int = TILE_WIDTH) -> str:
    return f"tile/{level}/{index_path(n)}{_suffix(width)}"


def bundle_path(n: int, width: int = TILE_WIDTH) -> str:
    return f"tile/entries/{index_path(n)}{_suffix(width)}"


def hashes_at_level(size: int, level: int) -> int:
    """How many level-``level`` hashes a tree of ``size`` leaves has (each a full subtree)."""
    return size >> (TILE_HEIGHT * level)


def tile_width(size: int, level: int, n: int) -> int:
    """The width of tile ``(level, n)`` in a tree of ``size`` leaves (0: it does not exist)."""
    count = hashes_at_level(size, level)
    return max(0, min(TILE_WIDTH, count - n * TILE_WIDTH))


def tiles_of(size: int) -> Iterable[tuple[int, int, int]]:
    """Every ``(level, n, width)`` of a tree of ``size`` leaves, level by level."""
    level = 0
    while hashes_at_level(size, level):
        count = hashes_at_level(size, level)
        for n in range((count + TILE_WIDTH - 1) // TILE_WIDTH):
            yield level, n, tile_width(size, level, n)
        level += 1


def encode_bundle(leaves: Iterable[bytes]) -> bytes:
    parts = []
    for leaf in leaves:
        if len(leaf) > 0xFFFF:
            raise ValueError(f"A leaf of {len(leaf)} bytes does not fit an entry bundle.")
        parts.append(_LENGTH.pack(len(leaf)) + leaf)
    return b"".join(parts)


def decode_bundle(data: bytes) -> list[bytes]:
    leaves, offset = [], 0
    while offset < len(data):
        if offset + 2 > len(data):
            raise ValueError("An entry bundle ends inside a length prefix.")
        (length,) = _LENGTH.unpack_from(data, offset)
        offset += 2
        if offset + length > len(data):
            raise ValueError("An entry bundle ends inside an entry.")
        leaves.append(data[offset : offset + length])
        offset += length
    return leaves


def split_tile(data: bytes, width: int) -> list[bytes]:
    if len(data) != width * merkle.HASH_SIZE:
        raise ValueError(f"A tile of width {width} must be {width * 32} bytes, not {len(data)}.")
    return merkle.unpack_hashes(data)


class TileReader:
    """Merkle hashes of a tree of ``size`` leaves, computed from its tiles only.

    ``fetch(path)`` returns a tile's bytes (over HTTP, from disk…); each tile is fetched
    once. A tile of the wrong length raises ``ValueError``: a reader of a published
    tree never sees one.
    """

    def __init__(self, size: int, fetch: Callable[[str], bytes]) -> None:
        self.size = size
        self._fetch = fetch
        self._tiles: dict[tuple[int, int], list[bytes]] = {}

    def tile(self, level: int, n: int) -> list[bytes]:
        key = (level, n)
        if key not in self._tiles:
            width = tile_width(self.size, level, n)
            if width == 0:
                raise ValueError(f"Tile {level}/{n} is beyond a tree of {self.size} leaves.")
            self._tiles[key] = split_tile(self._fetch(tile_path(level, n, width)), width)
        return self._tiles[key]

    def _subtree(self, start: int, height: int) -> bytes:
        """The hash of the perfect subtree of ``2**height`` leaves from ``start``."""
        level, rest = divmod(height, TILE_HEIGHT)
        first = start >> (TILE_HEIGHT * level)  # its first hash at that tile level
        hashes = self.tile(level, first // TILE_WIDTH)
        offset = first % TILE_WIDTH
        return merkle.merkle_root(hashes[offset : offset + (1 << rest)])

    def range_hash(self, start: int, end: int) -> bytes:
        """MTH of the leaves ``[start, end)``, ``0 <= start < end <= size``."""
        if not 0 <= start < end <= self.size:
            raise ValueError(f"[{start}, {end}) is not a leaf range of a tree of {self.size}.")
        return merkle.fold_right(
            [self._subtree(s, h) for s, h in merkle.perfect_subtrees(start, end)]
        )

    def root(self) -> bytes:
        return merkle.EMPTY_ROOT if self.size == 0 else self.range_hash(0, self.size)

    def inclusion_proof(self, index: int) -> list[bytes]:
        return [self.range_hash(a, b) for a, b in merkle.inclusion_ranges(index, self.size)]

    def consistency_proof(self, first: int) -> list[bytes]:
        return [self.range_hash(a, b) for a, b in merkle.consistency_ranges(first, self.size)]
