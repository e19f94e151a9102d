"""The ``.aqc`` file container, version 2: codec packets grouped into CRC-checked pages.

Specification. All integers little-endian.

A file is the stream header (:mod:`.aqc`, ``42 + E`` bytes) followed by
pages. Page::

    offset size field
    0      2    sync      0xA5 0x52 (bytes in this order)
    2      1    flags     bit 0 HEADER: the page's one packet is a copy of the
                          stream header; bit 1 RESET: decoding may start at
                          the page's first packet (a reset point, see aqc.py);
                          bits 2..7 are 0
    3      1    count     K, packets in the page, 1..255 (1 for HEADER)
    4      4    seq       page sequence number: 0 for the first page after the
                          leading stream header, +1 per page (HEADER pages
                          too), modulo 2**32
    8      8    granule   codec samples per channel complete at the end of the
                          page: (packets in this and all earlier pages) * N
                          (N = frame_size); a HEADER page repeats the granule
                          of the data page before it (0 if none)
    16     ...  lengths   K packet lengths, each unsigned LEB128 (7 bits a
                          byte, low group first, bit 7 = more), 1..3 bytes,
                          minimal (no trailing 0x80 group), value 1..65535
    16+S   ...  packets   the K packets, back to back (their sum <= 1 MiB)
    end-4  4    crc       CRC-32 (ISO-HDLC, as zlib) of the stream serial
                          (u32 LE) followed by every page byte before the crc;
                          a HEADER page's CRC covers its bytes without the
                          serial, so it is found when the first header is lost

A HEADER page's packet is a stream header (magic, version, CRC of its own)
with the same serial; it is a copy, not a packet to decode. A writer puts one
after the first data page, then every ~``HEADER_REPEAT_S`` seconds of audio,
and one after the last data page, so one damaged header does not lose the file.

A valid file is a valid stream header followed by pages of consecutive
``seq`` whose granules grow by ``K * N`` per data page (by 0 per HEADER page),
ending with the page holding the packet whose TOC has the last-packet bit.
The writer's rule (not normative) closes a page after the packet that brings
it to ``PAGE_MS`` of audio and ``PAGE_MIN_PACKETS`` packets, at 255 packets,
at ``PAGE_WRITE_BODY`` bytes of packets, or at the end of the stream; in a stream
with the ``sf_predict`` and/or ``lfe_group`` records the page length is a multiple or a divisor
of their reset interval K (:func:`audiocodec.container.aqc.reset_interval`) and pages end at
multiples of it (:func:`page_packets`). A data page is a RESET page when decoding can start at
its first packet: always without those records (the packets need no state but the MDCT
overlap), else when that packet's index is a multiple of K (it predicts nothing and starts an
LFE group).

Reading. A reader takes the leading header if it is intact, else the first
HEADER page whose header is valid (scanning from the start of the file). It
scans for the sync word and accepts a page only when its CRC matches (a page
of another stream fails: its CRC is seeded with another serial); bytes that
are no page are counted as skipped. A ``seq`` gap is a lost page; the
packets lost in it are ``(granule - granule of the previous good page) / N - K``
(at most ``aqc.MAX_GAP_CONCEAL`` a gap, and over a file at most as many as
were read plus that bound), which the decoder conceals. The CRC work spent on
false sync words is capped in proportion to the input (:func:`scan_pages`).

Seeking. Every page records its granule, so the pages are their own index (as
Ogg's are): to output samples from ``T`` on, a reader finds by bisection over
byte offsets the last RESET data page whose first packet (``granule / N - K``)
is at or before packet ``floor((T + delay) / N) - 1``, decodes from there
(the first packet after a reset is pre-roll: it lacks its overlap half; with
the ``pitch_filter`` record, at or before the reset point that aqc.py names) and
drops the output before ``T`` (:func:`audiocodec.container.reader.seek_page`).
The decoder is told that packet's index: the noise fill seeds every packet
from it (:mod:`audiocodec.core.quant`), so the slice equals the same samples of
a decode from the start.
"""

from __future__ import annotations

import dataclasses
import math
import mmap
import struct
from collections.abc import Iterator
from dataclasses import dataclass

from ..errors import FrameError
from . import aqc

SYNC = b"\xa5\x52"
FLAG_HEADER = 0x01
FLAG_RESET = 0x02
FIXED_SIZE = 16  # sync .. granule
CRC_SIZE = 4
MIN_PAGE = FIXED_SIZE + 1 + 1 + CRC_SIZE  # one 1-byte packet
MAX_COUNT = 255
PAGE_MAX_BODY = 1 << 20  # readers: packet bytes in one page
CRC_BUDGET_FACTOR = 64  # scan_pages: CRC bytes on rejected candidates per input byte

# the writer's page rule (a reader accepts any page within the limits above)
PAGE_MS = 200  # ~1.5 kbit/s of framing at 187.5 packets/s (0.6 at 46.9), ~0.2 s per reset point
PAGE_MIN_PACKETS = 4
PAGE_WRITE_BODY = 16384
HEADER_REPEAT_S = 5.0

_FIXED = struct.Struct("<2sBBIQ")
assert _FIXED.size == FIXED_SIZE


@dataclass(frozen=True)
class Page:
    """One checked page: ``packets`` are views into the scanned data."""

    flags: int
    seq: int
    granule: int
    packets: tuple[memoryview, ...]
    size: int  # bytes of the whole page

    @property
    def is_header(self) -> bool:
        return bool(self.flags & FLAG_HEADER)


def _leb128(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _read_leb128(mv: memoryview, pos: int, end: int) -> tuple[int, int]:
    """``(value, next position)``; FrameError if it is not minimal, over 3 bytes or past ``end``."""
    value = shift = 0
    for i in range(3):
        if pos + i >= end:
            raise FrameError("page ends inside a packet length")
        b = mv[pos + i]
        value |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            if (b == 0 and i) or not 1 <= value <= aqc.MAX_PACKET:
                raise FrameError(f"packet length {value} not minimal or outside 1..{aqc.MAX_PACKET}")
            return value, pos + i + 1
    raise FrameError("packet length longer than 3 bytes")


def pack_page(serial: int, flags: int, seq: int, granule: int, packets: list[bytes]) -> bytes:
    """One page around ``packets`` (1..255 of 1..65535 bytes)."""
    if not 1 <= len(packets) <= MAX_COUNT:
        raise FrameError(f"a page holds 1..{MAX_COUNT} packets, got {len(packets)}")
    if flags & ~(FLAG_HEADER | FLAG_RESET):
        raise FrameError(f"page flags {flags:#04x} use undefined bits")
    for p in packets:
        if not 1 <= len(p) <= aqc.MAX_PACKET:
            raise FrameError(f"packet must be 1..{aqc.MAX_PACKET} bytes, got {len(p)}")
    body = (_FIXED.pack(SYNC, flags, len(packets), seq & 0xFFFFFFFF, granule)
            + b"".join(_leb128(len(p)) for p in packets) + b"".join(packets))
    seed = 0 if flags & FLAG_HEADER else aqc.crc32(struct.pack("<I", serial))
    return body + struct.pack("<I", aqc.crc32(body, seed))


def header_page(header: aqc.StreamHeader, seq: int, granule: int) -> bytes:
    """A HEADER page holding a copy of ``header``."""
    return pack_page(header.serial, FLAG_HEADER, seq, granule, [header.pack()])


def parse_page(serial: int, mv: memoryview, pos: int, end: int) -> tuple[Page, int]:
    """Check the page at ``pos``; returns ``(page, bytes of CRC work)`` or raises FrameError.

    Every length is checked against ``end`` before the CRC runs or a packet is
    sliced; the CRC work is the page's size (the scanner budgets it).
    """
    if end - pos < MIN_PAGE:
        raise FrameError("too few bytes left for a page")
    _, flags, count, seq, granule = _FIXED.unpack_from(mv, pos)
    if flags & ~(FLAG_HEADER | FLAG_RESET) or count == 0 or (flags & FLAG_HEADER and count != 1):
        raise FrameError(f"page flags {flags:#04x} / count {count} invalid")
    q = pos + FIXED_SIZE
    lengths = []
    for _ in range(count):
        n, q = _read_leb128(mv, q, end)
        lengths.append(n)
    body = sum(lengths)
    stop = q + body + CRC_SIZE
    if body > PAGE_MAX_BODY or stop > end:
        raise FrameError(f"page claims {body} packet bytes, {max(0, end - q - CRC_SIZE)} remain")
    seed = 0 if flags & FLAG_HEADER else aqc.crc32(struct.pack("<I", serial))
    (crc,) = struct.unpack_from("<I", mv, stop - CRC_SIZE)
    if aqc.crc32(mv[pos : stop - CRC_SIZE], seed) != crc:
        raise FrameError(f"page {seq} fails its CRC (damaged, or from another stream)")
    packets = []
    for n in lengths:
        packets.append(mv[q : q + n])
        q += n
    return Page(flags, seq, granule, tuple(packets), stop - pos), stop - pos


def scan_pages(serial: int, data: bytes | memoryview | mmap.mmap, start: int = 0
               ) -> Iterator[tuple[int, Page | None, int]]:
    """Yield ``(offset, page, skipped_bytes)`` for every valid page in ``data[start:]``.

    Damaged regions are skipped by searching for the next sync word whose page
    passes its CRC; the last item is ``(len, None, skipped)`` when a damaged
    tail remains. The loop advances at least one byte per step.

    Each false sync costs a CRC over the length its page claims (up to 1 MiB),
    so the CRC work spent on rejected candidates is capped at
    ``CRC_BUDGET_FACTOR * len + 1 MiB`` bytes, far above what natural damage
    needs; past the cap the rest of the input is counted as skipped.
    """
    mv = memoryview(data)
    raw = data if isinstance(data, bytes | mmap.mmap) else bytes(data)  # .find() without a copy
    pos, end, skipped = start, len(mv), 0
    budget = CRC_BUDGET_FACTOR * max(0, end - start) + (1 << 20)
    while pos + MIN_PAGE <= end:
        if raw[pos : pos + 2] != SYNC:
            nxt = raw.find(SYNC, pos + 1)
            if nxt < 0:
                break
            skipped += nxt - pos
            pos = nxt
            continue
        try:
            page, _ = parse_page(serial, mv, pos, end)
        except FrameError:
            budget -= _claimed_size(mv, pos, end)
            if budget < 0:
                break
            pos += 1
            skipped += 1
            continue
        yield pos, page, skipped
        skipped = 0
        pos += page.size
    skipped += end - pos
    if skipped:
        yield end, None, skipped


def _claimed_size(mv: memoryview, pos: int, end: int) -> int:
    """What a rejected candidate's CRC could have cost (its claimed size, clipped to the input)."""
    count = mv[pos + 3] if pos + 3 < end else 0
    return min(end - pos, FIXED_SIZE + 3 * count + count * aqc.MAX_PACKET + CRC_SIZE)


class PageWriter:
    """Packets in, file bytes out: the leading header, data pages and header copies.

    ``start()`` returns the stream header; ``add(packet)`` the bytes of pages it
    completed (often ``b""``); ``finish()`` the rest. ``header_copies`` holds
    ``(offset, seq, granule)`` of every header copy's page, for :meth:`patch_total`.
    """

    def __init__(self, header: aqc.StreamHeader, *, page_ms: float = PAGE_MS,
                 min_packets: int = PAGE_MIN_PACKETS, header_repeat_s: float = HEADER_REPEAT_S) -> None:
        self.header = header
        n, rate = header.frame_size, header.sample_rate
        # with scale-factor prediction a page starts at an intra packet, with LFE groups at a
        # group's first packet, so it can be a RESET page
        self._align = aqc.reset_interval(header)
        self._page_packets = page_packets(n, rate, self._align, page_ms, min_packets)
        self._repeat = max(1, round(header_repeat_s * rate / n))  # packets between header copies
        self._pending: list[bytes] = []
        self._bytes = 0
        self._seq = 0
        self._packets = 0
        self._last_copy = 0  # packet count at the last header copy
        self.offset = 0
        self.header_copies: list[tuple[int, int, int]] = []

    def start(self) -> bytes:
        data = self.header.pack()
        self.offset = len(data)
        return data

    def add(self, packet: bytes) -> bytes:
        self._pending.append(packet)
        self._bytes += len(packet)
        # with sf_predict pages end at multiples of the page length (after a page cut short by
        # its size the next ends there too, so the pages keep starting at intra packets)
        full = ((self._packets + len(self._pending)) % self._page_packets == 0 if self._align is not None
                else len(self._pending) >= self._page_packets)
        if full or self._bytes >= PAGE_WRITE_BODY:
            return self._close()
        return b""

    def finish(self) -> bytes:
        out = self._close() if self._pending else b""
        return out + self._copy()

    def _close(self) -> bytes:
        reset = self._align is None or self._packets % self._align == 0
        self._packets += len(self._pending)
        page = pack_page(self.header.serial, FLAG_RESET if reset else 0, self._seq,
                         self._packets * self.header.frame_size, self._pending)
        self._pending, self._bytes = [], 0
        self._seq += 1
        self.offset += len(page)
        first = not self.header_copies
        if first or self._packets - self._last_copy >= self._repeat:
            return page + self._copy()
        return page

    def _copy(self) -> bytes:
        self._last_copy = self._packets
        granule = self._packets * self.header.frame_size
        self.header_copies.append((self.offset, self._seq, granule))
        page = header_page(self.header, self._seq, granule)
        self._seq += 1
        self.offset += len(page)
        return page

    def patch_total(self, total: int) -> list[tuple[int, bytes]]:
        """``(offset, bytes)`` rewrites that set ``total_samples`` in the header and every copy.

        The header's size does not change, so the rewrites fit in place.
        """
        self.header = dataclasses.replace(self.header, total_samples=total)
        return [(0, self.header.pack())] + [(off, header_page(self.header, seq, granule))
                                            for off, seq, granule in self.header_copies]


def page_packets(frame_size: int, sample_rate: int, align: int | None = None,
                 page_ms: float = PAGE_MS, min_packets: int = PAGE_MIN_PACKETS) -> int:
    """Packets in the writer's full page: ``page_ms`` of audio, at least ``min_packets``, at
    most 255; with ``align`` (a stream's ``sf_predict`` interval K) the nearest (in ratio,
    the longer on a tie) multiple or divisor of K, so that every K-th packet starts a page."""
    k = min(MAX_COUNT, max(min_packets, -(-int(page_ms * sample_rate) // (1000 * frame_size))))
    if align is None:
        return k
    cands = [align * m for m in range(1, MAX_COUNT // align + 1)]
    cands += [d for d in range(1, align) if align % d == 0 and d >= min_packets]
    if not cands:
        return k
    return min(cands, key=lambda c: (abs(math.log(c / k)), -c))


def framing_bits(frame_size: int, sample_rate: int, packet_bytes: float, align: int | None = None) -> float:
    """Average bits the writer's pages add per packet (page header and CRC shared by the
    page's packets, the packet's length field, the header copies), for encoders that aim
    the whole file at a bitrate; ``packet_bytes`` is the expected packet size, ``align`` as
    for :func:`page_packets`."""
    per_page = page_packets(frame_size, sample_rate, align)
    length_field = 1 if packet_bytes < 128 else 2
    copies = (FIXED_SIZE + 1 + CRC_SIZE + aqc.HEADER_SIZE) * frame_size / (HEADER_REPEAT_S * sample_rate)
    return 8.0 * ((FIXED_SIZE + CRC_SIZE) / per_page + length_field + copies)
