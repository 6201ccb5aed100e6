"""The protobuf wire format of a remote-write ``TimeSeries``, written by hand.

Remote write 0.1.0 uses four messages (``promwire``): ``WriteRequest{1: repeated
TimeSeries}``, ``TimeSeries{1: repeated Label, 2: repeated Sample}``, ``Label{1: name,
2: value}`` and ``Sample{1: double value, 2: int64 timestamp}``. Building them with the
protobuf package costs a Python call per sample (``samples.add``) and about a
microsecond each; here a series' labels are written once and its samples in bulk.

A sample is ``0x12 <len> 0x09 <8-byte double> 0x10 <varint timestamp>``. Every
timestamp from 1971-02 to 2109 (2**35 <= ms < 2**42) is a 6-byte varint, so such a
sample is 18 bytes at fixed offsets: the doubles are packed at once, the varints are
made for all timestamps together by shifts and masks of one large integer holding
them all (``_stamp_slots``), and the columns are laid into place with slice
assignments: no Python step per sample. Other timestamps (0, negative, before 1971) take the
byte-by-byte path. Fields are always written, zero values too (protobuf's own writer
leaves a 0.0 out; both decode the same).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from functools import lru_cache

_FAST_LOW, _FAST_HIGH = 1 << 35, 1 << 42
_SAMPLE_SIZE = 18  # 0x12 0x10 0x09 <double> 0x10 <6-byte varint>
_DOUBLE = struct.Struct("<d")
_INT64_MASK = (1 << 64) - 1


def _slot(byte_pattern: int) -> bytes:
    return byte_pattern.to_bytes(8, "little")


# Each timestamp gets an 8-byte little-endian slot: 0x10 (the tag of Sample.timestamp),
# then its 6 varint bytes (7 bits each, the continuation bit on the first five), then 0.
_SLOT_START = _slot(0x10 | (0x8080808080 << 8))
_SLOT_GROUPS = tuple(_slot(0x7F << (8 * j + 8)) for j in range(6))


@lru_cache(maxsize=8)
def _repeated(count: int) -> tuple[int, tuple[int, ...]]:
    """The slot constants repeated over ``count`` slots, as integers (batch sizes recur)."""
    return (
        int.from_bytes(_SLOT_START * count, "little"),
        tuple(int.from_bytes(group * count, "little") for group in _SLOT_GROUPS),
    )


def _stamp_slots(ms: Sequence[int]) -> bytes:
    """Every timestamp's slot at once: the timestamps packed as one integer, 64 bits each,
    and each 7-bit group shifted into its byte by one shift and mask of that integer
    (no slot spills into the next: a timestamp is below 2**42, shifted at most 13 bits)."""
    count = len(ms)
    packed = int.from_bytes(struct.pack(f"<{count}Q", *ms), "little")
    slots, groups = _repeated(count)
    for j, group in enumerate(groups):
        slots |= (packed << (j + 8)) & group
    return slots.to_bytes(8 * count, "little")


def varint(number: int) -> bytes:
    """A protobuf varint; a negative int64 as its 10-byte two's complement."""
    number &= _INT64_MASK
    out = bytearray()
    while number > 0x7F:
        out.append((number & 0x7F) | 0x80)
        number >>= 7
    out.append(number)
    return bytes(out)


def _field(tag: int, payload: bytes) -> bytes:
    return bytes((tag,)) + varint(len(payload)) + payload


def labels_bytes(labels: Sequence[tuple[str, str]]) -> bytes:
    """The ``TimeSeries.labels`` fields of one label set (given sorted by name)."""
    return b"".join(
        _field(0x0A, _field(0x0A, name.encode()) + _field(0x12, value.encode()))
        for name, value in labels
    )


def samples_bytes(ms: Sequence[int], values: Sequence[float]) -> bytes:
    """The ``TimeSeries.samples`` fields, in the order given."""
    count = len(ms)
    if count != len(values):
        raise ValueError(f"{count} timestamps for {len(values)} values")
    if not count:
        return b""
    if min(ms) < _FAST_LOW or max(ms) >= _FAST_HIGH:
        return b"".join(_sample(when, value) for when, value in zip(ms, values, strict=True))
    stamps = _stamp_slots(ms)
    doubles = struct.pack(f"<{count}d", *values)
    out = bytearray(_SAMPLE_SIZE * count)
    out[0::_SAMPLE_SIZE] = b"\x12" * count
    out[1::_SAMPLE_SIZE] = b"\x10" * count  # the sample's length, 16
    out[2::_SAMPLE_SIZE] = b"\x09" * count
    for k in range(8):
        out[3 + k :: _SAMPLE_SIZE] = doubles[k::8]
    for k in range(7):  # 0x10, then the 6-byte varint (the slot's last byte is left out)
        out[11 + k :: _SAMPLE_SIZE] = stamps[k::8]
    return bytes(out)


def _sample(when: int, value: float) -> bytes:
    return _field(0x12, b"\x09" + _DOUBLE.pack(value) + b"\x10" + varint(when))


def timeseries(labels: Sequence[tuple[str, str]], ms: Sequence[int], values) -> bytes:
    """One ``WriteRequest.timeseries`` field: the series' labels, then its samples."""
    return _field(0x0A, labels_bytes(labels) + samples_bytes(ms, values))
