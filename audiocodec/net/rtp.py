"""RTP (RFC 3550) for ``audiocodec send``/``receive``: pack and parse, nothing else.

One RTP packet per UDP datagram. The 12-byte fixed header, network byte
order (big-endian)::

    bits  field
    2     V = 2
    1     P, padding (a receiver strips it; senders write 0)
    1     X, header extension (a receiver skips it; senders write 0)
    4     CC, CSRC count (a receiver skips 4*CC bytes; senders write 0)
    1     M, marker: set on the stream's first audio packet
    7     PT, payload type: dynamic, 96 audio and 97 control by default
    16    sequence number, +1 per RTP packet of the stream (audio and
          control share it), random start, modulo 2**16
    32    timestamp, in samples at the stream rate: an audio packet's is
          that of its first sample (random start + index * frame_size); a
          control packet's is that of the next audio packet
    32    SSRC = the stream serial (stream header bytes 32..35)

Audio payload (PT 96): exactly one codec packet (:mod:`audiocodec.container.aqc`).

Control payload (PT 97), first byte the kind::

    "H" (0x48)  u32 first_ts, u16 first_seq (the first audio packet's RTP
                timestamp and sequence number), then the stream header: sent
                three times at the start and every ~0.5 s, so a receiver that
                starts late or has no SDP still joins
    "E" (0x45)  u64 frames the sender encoded (per channel): the end of the
                stream, sent three times

Out of band, ``send --sdp FILE`` writes the description (:mod:`.sdp`):
``m=audio PORT RTP/AVP 96``, ``a=rtpmap:96 AQC/RATE/CHANNELS``,
``a=fmtp:96 config=<base64 of the stream header>``.

Losses, reordering and duplicates come from the sequence number; how many
audio packets a gap held comes from the timestamps around it, so a lost
control packet is not concealed as audio. A datagram that is not valid RTP
(version, lengths), of another SSRC, or of an unknown payload type is counted
and ignored.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from ..errors import StreamError

__all__ = ["CONTROL_END", "CONTROL_HEADER", "DEFAULT_CONTROL_PT", "DEFAULT_PT", "HEADER_SIZE",
           "MAX_DATAGRAM", "RtpPacket", "pack_rtp", "parse_rtp", "pack_control_header",
           "pack_control_end", "parse_control", "unwrap"]

HEADER_SIZE = 12
DEFAULT_PT = 96
DEFAULT_CONTROL_PT = 97
CONTROL_HEADER = ord("H")
CONTROL_END = ord("E")
MAX_DATAGRAM = 65507  # largest UDP payload over IPv4
_FIXED = struct.Struct(">BBHII")
_HSTART = struct.Struct(">BIH")
_END = struct.Struct(">BQ")


@dataclass(frozen=True)
class RtpPacket:
    marker: bool
    pt: int
    seq: int
    timestamp: int
    ssrc: int
    payload: bytes


def pack_rtp(pt: int, seq: int, timestamp: int, ssrc: int, payload: bytes, *, marker: bool = False
             ) -> bytes:
    return _FIXED.pack(0x80, (0x80 if marker else 0) | (pt & 0x7F), seq & 0xFFFF,
                       timestamp & 0xFFFFFFFF, ssrc & 0xFFFFFFFF) + payload


def parse_rtp(data: bytes) -> RtpPacket:
    """Split one datagram; StreamError if it is not RTP version 2 with consistent lengths."""
    if len(data) < HEADER_SIZE:
        raise StreamError(f"datagram of {len(data)} bytes is shorter than the 12-byte RTP header")
    b0, b1, seq, ts, ssrc = _FIXED.unpack_from(data)
    if b0 >> 6 != 2:
        raise StreamError(f"RTP version is {b0 >> 6}, expected 2")
    pos = HEADER_SIZE + 4 * (b0 & 0x0F)
    end = len(data)
    if b0 & 0x10:  # header extension: 16-bit profile, 16-bit length in words
        if pos + 4 > end:
            raise StreamError("RTP header extension is cut off")
        pos += 4 + 4 * struct.unpack_from(">H", data, pos + 2)[0]
    if b0 & 0x20:
        pad = data[-1] if end else 0
        if pad == 0 or pad > end - pos:
            raise StreamError(f"RTP padding of {pad} bytes does not fit")
        end -= pad
    if pos > end:
        raise StreamError("RTP CSRC list or extension overruns the datagram")
    return RtpPacket(bool(b1 & 0x80), b1 & 0x7F, seq, ts, ssrc, bytes(data[pos:end]))


def pack_control_header(first_ts: int, first_seq: int, header: bytes) -> bytes:
    return _HSTART.pack(CONTROL_HEADER, first_ts & 0xFFFFFFFF, first_seq & 0xFFFF) + header


def pack_control_end(frames: int) -> bytes:
    return _END.pack(CONTROL_END, frames)


def parse_control(payload: bytes) -> tuple[int, int, int, bytes]:
    """``(kind, a, b, rest)``: H -> (first_ts, first_seq, header); E -> (frames, 0, b"")."""
    if payload[:1] == bytes([CONTROL_HEADER]) and len(payload) >= _HSTART.size:
        _, ts, seq = _HSTART.unpack_from(payload)
        return CONTROL_HEADER, ts, seq, payload[_HSTART.size :]
    if payload[:1] == bytes([CONTROL_END]) and len(payload) >= _END.size:
        return CONTROL_END, _END.unpack_from(payload)[1], 0, b""
    raise StreamError(f"control payload of {len(payload)} bytes is neither H nor E")


def unwrap(value: int, reference: int, bits: int) -> int:
    """Map a ``bits``-bit counter to the unwrapped value nearest ``reference``."""
    mod = 1 << bits
    delta = (value - reference) % mod
    if delta >= mod // 2:
        delta -= mod
    return reference + delta
