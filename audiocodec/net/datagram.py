"""The datagram format of ``audiocodec send``/``receive``: pack and parse, nothing else.

One codec packet per datagram, all integers big-endian::

    offset size field
    0      2    magic      b"AQ"
    2      1    version    1
    3      1    type       b"H" header, b"D" data, b"E" end of stream
    4      4    stream_id  u32, random per sender run; a receiver locks onto the
                           first stream_id it sees and ignores all others
    -- type H (stream header, resent periodically so a late or unlucky
       receiver still gets it) --
    8      4    next_seq   u32, sequence number of the next data datagram
    12     ...  header     the Encoder's stream-header packet (``Encoder.header``)
    -- type D (one codec packet) --
    8      4    seq        u32, 0 for the first packet, +1 per packet (mod 2**32)
    12     ...  packet     one codec packet (``Encoder.encode`` output)
    -- type E (end of stream, sent a few times) --
    8      4    packets    u32, number of data packets sent
    12     8    frames     u64, frames of audio that went into the encoder

A datagram is valid if it is at least as long as its fixed fields and its magic
and version match; anything else is counted and ignored. The receiver trusts
nothing else about the sender: the codec validates the header and the packets.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from ..errors import StreamError

__all__ = [
    "MAGIC",
    "MAX_DATAGRAM",
    "PREFIX_SIZE",
    "SEQ_SIZE",
    "TYPE_DATA",
    "TYPE_END",
    "TYPE_HEADER",
    "VERSION",
    "Datagram",
    "pack_data",
    "pack_end",
    "pack_header",
    "parse_datagram",
    "unwrap_seq",
]

MAGIC = b"AQ"
VERSION = 1
TYPE_HEADER = ord("H")
TYPE_DATA = ord("D")
TYPE_END = ord("E")
_PREFIX = struct.Struct(">2sBBI")  # magic, version, type, stream_id
_SEQ = struct.Struct(">I")
_END = struct.Struct(">IQ")
PREFIX_SIZE = _PREFIX.size  # 8
SEQ_SIZE = _SEQ.size  # 4
MAX_DATAGRAM = 65507  # largest UDP payload over IPv4
_SEQ_MOD = 1 << 32


def pack_header(stream_id: int, next_seq: int, header: bytes) -> bytes:
    return _PREFIX.pack(MAGIC, VERSION, TYPE_HEADER, stream_id) + _SEQ.pack(next_seq % _SEQ_MOD) + header


def pack_data(stream_id: int, seq: int, packet: bytes) -> bytes:
    return _PREFIX.pack(MAGIC, VERSION, TYPE_DATA, stream_id) + _SEQ.pack(seq % _SEQ_MOD) + packet


def pack_end(stream_id: int, packets: int, frames: int) -> bytes:
    return _PREFIX.pack(MAGIC, VERSION, TYPE_END, stream_id) + _END.pack(packets % _SEQ_MOD, frames)


@dataclass(frozen=True)
class Datagram:
    kind: int  # TYPE_HEADER, TYPE_DATA or TYPE_END
    stream_id: int
    seq: int  # H: next_seq, D: seq, E: packet count (all mod 2**32)
    payload: bytes = b""  # H: stream header, D: codec packet
    frames: int = 0  # E only


def parse_datagram(data: bytes) -> Datagram:
    """Split one datagram into its fields; raise StreamError if it is not ours."""
    if len(data) < PREFIX_SIZE + _SEQ.size:
        raise StreamError(
            f"datagram of {len(data)} bytes is shorter than the {PREFIX_SIZE + _SEQ.size}-byte minimum"
        )
    magic, version, kind, stream_id = _PREFIX.unpack_from(data)
    if magic != MAGIC:
        raise StreamError(f"datagram magic is {magic!r}, expected {MAGIC!r}")
    if version != VERSION:
        raise StreamError(f"datagram version is {version}, expected {VERSION}")
    if kind == TYPE_END:
        if len(data) < PREFIX_SIZE + _END.size:
            raise StreamError(f"end datagram of {len(data)} bytes, expected {PREFIX_SIZE + 12}")
        packets, frames = _END.unpack_from(data, PREFIX_SIZE)
        return Datagram(kind, stream_id, packets, b"", frames)
    if kind not in (TYPE_HEADER, TYPE_DATA):
        raise StreamError(f"datagram type is {kind}, expected one of H, D, E")
    (seq,) = _SEQ.unpack_from(data, PREFIX_SIZE)
    return Datagram(kind, stream_id, seq, bytes(data[PREFIX_SIZE + _SEQ.size :]))


def unwrap_seq(seq32: int, reference: int) -> int:
    """Map a 32-bit sequence number to the unwrapped value nearest ``reference``."""
    delta = (seq32 - reference) % _SEQ_MOD
    if delta >= _SEQ_MOD // 2:
        delta -= _SEQ_MOD
    return reference + delta
