"""Tiny, valid, deterministic PNG images for the emulated image models."""

from __future__ import annotations

import base64
import functools
import hashlib
import struct
import zlib

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_RGB_8_BIT = (8, 2)  # bit depth 8, colour type 2 (truecolour, no alpha)


def colour_for(*parts: object) -> tuple[int, int, int]:
    """Return an RGB colour derived from `parts` (e.g. prompt and seed): same parts, same colour."""
    digest = hashlib.sha256("\0".join(str(part) for part in parts).encode()).digest()
    return digest[0], digest[1], digest[2]


@functools.lru_cache(maxsize=1024)
def solid_png_base64(colour: tuple[int, int, int], width: int, height: int) -> str:
    """Return a base64 PNG of `width` x `height` pixels of one colour (cached: PNGs repeat)."""
    return base64.b64encode(solid_png(colour, width, height)).decode()


def solid_png(colour: tuple[int, int, int], width: int, height: int) -> bytes:
    """Encode a `width` x `height` image of one RGB colour as PNG bytes."""
    if not (0 < width <= 4096 and 0 < height <= 4096):
        raise ValueError(f"unsupported PNG size {width}x{height}")
    header = struct.pack(">IIBBBBB", width, height, *_RGB_8_BIT, 0, 0, 0)
    row = b"\x00" + bytes(colour) * width  # filter type 0 (None), then the pixels
    return b"".join(
        (
            PNG_SIGNATURE,
            _chunk(b"IHDR", header),
            _chunk(b"IDAT", zlib.compress(row * height)),
            _chunk(b"IEND", b""),
        )
    )


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
