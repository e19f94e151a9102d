"""The AQC bitstream: stream header and frame container.

Specification (version 1). All integers little-endian unless noted.

Stream header (the first packet of a stream, the first 40 bytes of a file)::

    offset size field
    0      3    magic            b"AQC"
    3      1    version          1
    4      1    mode             0 = MDCT, 1 = IMA ADPCM
    5      1    channels         1 or 2
    6      1    window           0 = sine, 1 = KBD (MDCT); 0 for ADPCM
    7      1    flags            bit 0: block switching may occur; others 0 (*)
    8      4    sample_rate      8000 .. 48000
    12     2    frame_size       MDCT hop N (64..2048, multiple of 8) or
                                 ADPCM samples per packet (32..8192)
    14     2    overlap          MDCT window slope L (8..N, even); 0 for ADPCM
    16     4    delay            samples the decoder drops at the start
                                 (MDCT: equals overlap; ADPCM: 0)
    20     4    bitrate          nominal bits per second (0 = VBR/unknown)
    24     8    total_samples    per channel; 2**64-1 = unknown (live stream)
    32     4    serial           random stream id, seeds every frame CRC
    36     2    reserved         0 (*)
    38     2    header_crc       CRC-16/CCITT-FALSE of bytes 0..37

(*) A version-1 decoder rejects a header whose undefined flag bits or reserved
field are not zero; a writer that needs them must raise the version.

Frame (one packet)::

    offset size field
    0      2    sync             0xA5 0x51 (bytes in this order)
    2      2    length           payload bytes P (1 .. MAX_PAYLOAD)
    4      1    seq              frame counter modulo 256
    5      2    crc              CRC-16/CCITT-FALSE over serial (4 bytes LE),
                                 length, seq and the payload
    7      P    payload          first byte: info, see below

Payload info byte: bit 7 = last frame of the stream; when set, the next 8
bytes hold the stream's total sample count (u64), so live streams whose
header said "unknown" still end sample-exactly. The rest of the info byte
and of the payload belong to the mode (:mod:`audiocodec.core.layout` for MDCT,
:mod:`audiocodec.adpcm` for ADPCM).

A valid stream is a header followed by frames with consecutive ``seq``. A
decoder resynchronises after damage by scanning for the sync word and
accepting a frame only when its CRC matches; a ``seq`` gap tells it how many
frames to conceal. Because the CRC is seeded with the stream serial, a frame
of another stream is rejected like a damaged one. The CRC work spent on false
sync words is capped in proportion to the input (see :func:`scan_frames`).
"""

from __future__ import annotations

import binascii
import mmap
import struct
from dataclasses import dataclass

from ..errors import FrameError, HeaderError

MAGIC = b"AQC"
VERSION = 1
HEADER_SIZE = 40
FRAME_HEADER_SIZE = 7
SYNC = b"\xa5\x51"
MAX_PAYLOAD = 65535
UNKNOWN_LENGTH = (1 << 64) - 1

MODE_MDCT = 0
MODE_ADPCM = 1
MODE_NAMES = {MODE_MDCT: "mdct", MODE_ADPCM: "adpcm"}
WINDOW_NAMES = {0: "sine", 1: "kbd"}
FLAG_BLOCK_SWITCHING = 1

INFO_LAST = 0x80
CONCEAL_FADE = 0.7  # decoders: gain per concealed frame (about -3 dB)
MAX_GAP_CONCEAL = 32  # decoders: frames concealed for one seq gap before resync instead

# frame-size field ranges (the one home of these rules; encoders check against them)
MDCT_FRAME_MIN, MDCT_FRAME_MAX, MDCT_FRAME_MULTIPLE = 64, 2048, 8
ADPCM_PACKET_MIN, ADPCM_PACKET_MAX = 32, 8192


def mdct_frame_size_ok(n: int) -> bool:
    """True for an MDCT hop the format allows (64..2048, a multiple of 8)."""
    return MDCT_FRAME_MIN <= n <= MDCT_FRAME_MAX and n % MDCT_FRAME_MULTIPLE == 0
CRC_BUDGET_FACTOR = 64  # scan_frames: CRC bytes on rejected candidates per input byte

MIN_RATE, MAX_RATE = 8000, 48000

_HEADER = struct.Struct("<3sBBBBBIHHIIQIH")
assert _HEADER.size == HEADER_SIZE - 2


def crc16(data: bytes | memoryview, seed: int = 0xFFFF) -> int:
    """CRC-16/CCITT-FALSE (poly 0x1021), computed in C by binascii."""
    return binascii.crc_hqx(data, seed)


@dataclass(frozen=True)
class StreamHeader:
    """Parsed stream header. Field meanings: see the module docstring."""

    mode: int
    channels: int
    sample_rate: int
    frame_size: int
    overlap: int
    delay: int
    bitrate: int
    total_samples: int
    serial: int
    window: int = 0
    flags: int = 0

    def pack(self) -> bytes:
        body = _HEADER.pack(
            MAGIC, VERSION, self.mode, self.channels, self.window, self.flags,
            self.sample_rate, self.frame_size, self.overlap, self.delay, self.bitrate,
            self.total_samples, self.serial, 0,
        )
        return body + struct.pack("<H", crc16(body))

    @classmethod
    def unpack(cls, data: bytes | memoryview) -> StreamHeader:
        """Parse and validate; raises :class:`HeaderError` on any defect."""
        if len(data) < HEADER_SIZE:
            raise HeaderError(f"stream header needs {HEADER_SIZE} bytes, got {len(data)}")
        if data[:3] != MAGIC:
            raise HeaderError(f"not an AQC stream: magic is {bytes(data[:3])!r}, expected {MAGIC!r}")
        body = bytes(data[: HEADER_SIZE - 2])
        (crc,) = struct.unpack_from("<H", data, HEADER_SIZE - 2)
        if data[3] != VERSION:
            raise HeaderError(f"unsupported AQC version {data[3]} (this decoder reads {VERSION})")
        if crc16(body) != crc:
            raise HeaderError("stream header CRC mismatch (damaged header)")
        (_, _, mode, ch, win, flags, rate, n, ovl, delay, br, total, serial, reserved) = _HEADER.unpack(body)
        if reserved != 0:
            raise HeaderError(f"header reserved field is {reserved}: version 1 does not define it")
        h = cls(mode, ch, rate, n, ovl, delay, br, total, serial, win, flags)
        h.validate()
        return h

    def validate(self) -> None:
        if self.flags & ~FLAG_BLOCK_SWITCHING:
            raise HeaderError(f"header flags {self.flags:#04x} use bits version 1 does not define")
        if self.mode not in MODE_NAMES:
            raise HeaderError(f"unknown mode {self.mode}")
        if self.channels not in (1, 2):
            raise HeaderError(f"channels must be 1 or 2, header says {self.channels}")
        if not MIN_RATE <= self.sample_rate <= MAX_RATE:
            raise HeaderError(f"sample rate {self.sample_rate} outside {MIN_RATE}..{MAX_RATE}")
        if self.mode == MODE_MDCT:
            n, ovl = self.frame_size, self.overlap
            if not mdct_frame_size_ok(n):
                raise HeaderError(f"MDCT frame size {n} not in {MDCT_FRAME_MIN}..{MDCT_FRAME_MAX} "
                                  f"or not a multiple of {MDCT_FRAME_MULTIPLE}")
            if not (8 <= ovl <= n and ovl % 2 == 0):
                raise HeaderError(f"MDCT overlap {ovl} not an even number in 8..{n}")
            if self.window not in WINDOW_NAMES:
                raise HeaderError(f"unknown window shape {self.window}")
            if self.delay != ovl:
                raise HeaderError(f"delay {self.delay} does not match the overlap ({ovl})")
        else:
            if not ADPCM_PACKET_MIN <= self.frame_size <= ADPCM_PACKET_MAX:
                raise HeaderError(f"ADPCM packet size {self.frame_size} not in "
                                  f"{ADPCM_PACKET_MIN}..{ADPCM_PACKET_MAX}")
            if self.delay != 0:
                raise HeaderError(f"ADPCM delay must be 0, header says {self.delay}")

    @property
    def mode_name(self) -> str:
        return MODE_NAMES[self.mode]


def _frame_crc(serial: int, length: int, seq: int, payload: bytes | memoryview) -> int:
    c = crc16(struct.pack("<IHB", serial, length, seq))
    return crc16(payload, c)


def pack_frame(serial: int, seq: int, payload: bytes) -> bytes:
    """Wrap a payload in the frame container."""
    n = len(payload)
    if not 1 <= n <= MAX_PAYLOAD:
        raise FrameError(f"frame payload must be 1..{MAX_PAYLOAD} bytes, got {n}")
    seq &= 0xFF
    return SYNC + struct.pack("<HBH", n, seq, _frame_crc(serial, n, seq, payload)) + payload


def unpack_frame(serial: int, packet: bytes | memoryview) -> tuple[int, memoryview]:
    """Check one whole packet; returns ``(seq, payload)`` or raises :class:`FrameError`."""
    mv = memoryview(packet)
    if len(mv) < FRAME_HEADER_SIZE + 1:
        raise FrameError(f"packet of {len(mv)} bytes is shorter than the smallest frame")
    if bytes(mv[:2]) != SYNC:
        raise FrameError("packet does not start with the AQC frame sync word")
    n, seq, crc = struct.unpack_from("<HBH", mv, 2)
    if n == 0 or len(mv) != FRAME_HEADER_SIZE + n:
        raise FrameError(f"frame says {n} payload bytes, packet holds {len(mv) - FRAME_HEADER_SIZE}")
    payload = mv[FRAME_HEADER_SIZE:]
    if _frame_crc(serial, n, seq, payload) != crc:
        raise FrameError(f"frame {seq} fails its CRC (damaged, or from another stream)")
    return seq, payload


def scan_frames(serial: int, data: bytes | memoryview | mmap.mmap, start: int = 0):  # noqa: ANN201
    """Yield ``(offset, seq, payload, skipped_bytes)`` for every valid frame in ``data``.

    Damaged regions are skipped by searching for the next sync word whose
    frame passes its CRC. The loop advances at least one byte per step, so it
    ends after at most ``len(data)`` steps.

    Each false sync costs a CRC over the length it claims (up to 64 KiB), so
    bytes made of sync words claiming long frames would cost ``len * 65535``
    (minutes for one hostile megabyte). The CRC work spent on rejected
    candidates is therefore capped at ``CRC_BUDGET_FACTOR * len + 1 MiB`` bytes,
    far above what natural damage needs (a false sync every ~64 KiB); past the
    cap the rest of the input is counted as skipped.
    """
    mv = memoryview(data)
    raw = data if isinstance(data, bytes | mmap.mmap) else bytes(data)  # .find() without a copy
    pos = start
    end = len(mv)
    skipped = 0
    budget = CRC_BUDGET_FACTOR * max(0, end - start) + (1 << 20)
    while pos + FRAME_HEADER_SIZE < end:
        if raw[pos : pos + 2] != SYNC:
            nxt = raw.find(SYNC, pos + 1)
            if nxt < 0:  # report the damaged tail below (a bare return dropped it)
                break
            skipped += nxt - pos
            pos = nxt
            continue
        n, seq, crc = struct.unpack_from("<HBH", mv, pos + 2)
        stop = pos + FRAME_HEADER_SIZE + n
        if n == 0 or stop > end or _frame_crc(serial, n, seq, mv[pos + FRAME_HEADER_SIZE : stop]) != crc:
            if 0 < n and stop <= end:
                budget -= n
                if budget < 0:
                    break
            pos += 1
            skipped += 1
            continue
        yield pos, seq, mv[pos + FRAME_HEADER_SIZE : stop], skipped
        skipped = 0
        pos = stop
    if pos < end:
        skipped += end - pos
    if skipped:
        yield end, -1, memoryview(b""), skipped


def pack_info(info: int, last: bool, total: int) -> bytes:
    """The payload's leading info byte, with the last-frame bit and sample count when ``last``."""
    if last:
        return bytes([info | INFO_LAST]) + struct.pack("<Q", total)
    return bytes([info])


def read_info(payload: bytes | memoryview) -> tuple[int, int, int | None]:
    """Mirror of :func:`pack_info`: ``(info, offset of the mode's bytes, total or None)``."""
    if len(payload) < 1:
        raise FrameError("empty payload")
    info = payload[0]
    if not info & INFO_LAST:
        return info, 1, None
    if len(payload) < 9:
        raise FrameError("last frame too short for its sample count")
    (total,) = struct.unpack_from("<Q", payload, 1)
    return info, 9, int(total)
