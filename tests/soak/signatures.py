"""Signed payloads: every 64-byte block names its connection and its offset.

A soak stream is ``signed_bytes(token, length)``: blocks of ``BLOCK`` bytes,
each ``MARK``, the 6-byte connection token, the 8-byte offset of the block,
then random bytes drawn from the token.  When a byte differs from what was
expected, ``classify`` reads the blocks around it and tells the three
failures apart:

* ``misdelivered``: the bytes carry another connection's token;
* ``hole``: this connection's bytes, from further on (bytes went missing);
* ``corrupted``: anything else (shifted, altered or duplicated bytes).

A mark can occur by chance inside the random part: ``classify`` trusts a
block only if its offset is a multiple of ``BLOCK`` below 2**40 (a chance
match of about one in 10**12), and says ``corrupted`` otherwise, the
conservative answer.
"""

from __future__ import annotations

import random
import struct

BLOCK = 64
MARK = b"\xa5S"
_HEAD = struct.Struct(">2s6sQ")  # mark, token (48 bits), offset
_CACHE: dict[int, bytes] = {}


def signed_bytes(token: int, length: int) -> bytes:
    """The ``length`` bytes connection ``token`` sends (the same every call)."""
    cached = _CACHE.get(token)
    if cached is not None and len(cached) >= length:
        return cached[:length]
    blocks = -(-length // BLOCK)
    data = bytearray(random.Random(token).randbytes(blocks * BLOCK))
    tag = token.to_bytes(6, "big")
    for i in range(blocks):
        _HEAD.pack_into(data, i * BLOCK, MARK, tag, i * BLOCK)
    out = bytes(data[:length])
    if len(_CACHE) > 64:
        _CACHE.clear()
    _CACHE[token] = out
    return out


def first_difference(got: bytes, expected: bytes) -> int:
    """The index of the first byte of ``got`` that differs from ``expected``."""
    for i, (a, b) in enumerate(zip(got, expected, strict=False)):
        if a != b:
            return i
    return min(len(got), len(expected))


def classify(got: bytes, at: int, token: int) -> tuple[str, str]:
    """Outcome and message for ``got``, which should be ``token``'s bytes from
    offset ``at`` and is not."""
    expected = signed_bytes(token, at + len(got))[at:]
    bad = first_difference(got, expected)
    where = f"at offset {at + bad}"
    search_from = max(0, bad - BLOCK + 1)
    index = got.find(MARK, search_from)
    while index != -1 and index + _HEAD.size <= len(got):
        _, tag, offset = _HEAD.unpack_from(got, index)
        owner = int.from_bytes(tag, "big")
        expected_offset = at + index
        trusted = owner >= 1 and offset % BLOCK == 0 and offset < 1 << 40
        if trusted and owner != token:
            return "misdelivered", (f"bytes of connection {owner} (its offset {offset}) "
                                    f"{where}")
        if trusted and offset > expected_offset:
            return "hole", (f"{offset - expected_offset} bytes missing {where} (the block "
                            f"of offset {offset} came where {expected_offset} belonged)")
        if trusted and offset < expected_offset:
            break  # bytes again: duplicated
        index = got.find(MARK, index + 1)
    return "corrupted", f"bytes differ {where}"
