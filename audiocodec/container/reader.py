"""Reading a ``.aqc`` file: find a usable stream header, then its packets and losses, in order.

The rules are the spec's (:mod:`.pages`, "Reading"); this module applies them
to bytes, memory-mapped files included, and decodes nothing: it hands codec
packets (and ``None`` for each lost one) to whoever decodes them.
"""

from __future__ import annotations

import mmap
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field

from ..errors import FrameError, HeaderError
from . import aqc, pages

MAX_NOTES = 20


@dataclass
class ReadStats:
    """What the reader found besides packets."""

    pages: int = 0
    header_pages: int = 0
    lost_pages: int = 0
    lost_packets: int = 0  # concealed for page gaps
    skipped_bytes: int = 0
    header_from_copy: bool = False
    notes: list[str] = field(default_factory=list)

    def note(self, text: str) -> None:
        if len(self.notes) < MAX_NOTES:
            self.notes.append(text)


def _is_v1(data: bytes | memoryview | mmap.mmap) -> bool:
    """A version-1 header that is intact (its CRC-16 matches): refused, not treated as damage."""
    return (len(data) >= 40 and bytes(data[:4]) == b"AQC\x01"
            and aqc.crc16(bytes(data[:38])) == struct.unpack_from("<H", data, 38)[0])


def locate_header(data: bytes | memoryview | mmap.mmap, stats: ReadStats | None = None
                  ) -> tuple[aqc.StreamHeader, int]:
    """``(header, offset where pages start)``.

    The leading header when it is intact; else the first header copy in a
    HEADER page (pages then start at 0: the damaged header's bytes are
    skipped like any damage). Raises the leading header's :class:`HeaderError`
    when there is no usable copy, or at once for a version-1 stream.
    """
    mv = memoryview(data)
    try:
        h = aqc.StreamHeader.unpack(mv[: aqc.MAX_HEADER_SIZE])
        return h, h.size
    except HeaderError as err:
        if _is_v1(mv):
            raise
        copy = find_header_copy(data)
        if copy is None:
            raise err from None
        if stats is not None:
            stats.header_from_copy = True
            stats.note(f"stream header damaged ({err}); using the copy in a header page")
        return copy, 0


def find_header_copy(data: bytes | memoryview | mmap.mmap) -> aqc.StreamHeader | None:
    """The first valid stream header inside a HEADER page, or None.

    A candidate is checked (flags, count, the length field) before its CRC,
    and a header page is at most ``MAX_HEADER_SIZE + 24`` bytes, so the work
    is bounded by ``len(data) * that`` in the worst case and is a
    ``bytes.find`` per sync word in practice.
    """
    raw = data if isinstance(data, bytes | mmap.mmap) else bytes(data)
    mv = memoryview(data)
    limit = pages.FIXED_SIZE + 2 + aqc.MAX_HEADER_SIZE + pages.CRC_SIZE
    budget = pages.CRC_BUDGET_FACTOR * len(mv) + (1 << 20)
    pos = raw.find(pages.SYNC)
    while 0 <= pos and pos + pages.MIN_PAGE <= len(mv):
        if mv[pos + 2] & pages.FLAG_HEADER and mv[pos + 3] == 1:
            end = min(len(mv), pos + limit)
            budget -= end - pos
            if budget < 0:
                return None
            try:
                page, _ = pages.parse_page(0, mv, pos, end)
                return aqc.StreamHeader.unpack(page.packets[0])
            except (FrameError, HeaderError):
                pass
        pos = raw.find(pages.SYNC, pos + 1)
    return None


#: Bisection stops when the bracket is this small and walks the pages left (about a second of
#: audio at 64 kbit/s).
SEEK_WALK_BYTES = 8192
#: How far past a bisection point the next page is looked for before the half counts as empty.
SEEK_PROBE_BYTES = 4 << 20


def _first_data_page(header: aqc.StreamHeader, data: bytes | memoryview | mmap.mmap, pos: int,
                     limit: int) -> tuple[int, int, int] | None:
    """``(offset, index of its first packet, size)`` of the first good RESET data page in
    ``data[pos:limit]``, or None."""
    n = header.frame_size
    for off, page, _ in pages.scan_pages(header.serial, memoryview(data)[:limit], pos):
        if page is None:
            return None
        if not page.is_header and page.flags & pages.FLAG_RESET:
            return off, page.granule // n - len(page.packets), page.size
    return None


def seek_page(header: aqc.StreamHeader, data: bytes | memoryview | mmap.mmap, start: int,
              packet: int) -> tuple[int, int]:
    """``(offset, first packet index)`` of the last RESET data page whose first packet is at
    or before ``packet``: decoding may start there (``start`` is where pages begin).

    Pages record their granules, so no index is needed: bisection over byte offsets (each
    probe scans to the next page that passes its CRC, as the reader does, so damage only
    moves a probe), then a walk over the last few pages. ``log2(size / SEEK_WALK_BYTES)``
    probes: about 15 for a 10-minute file.
    """
    best = _first_data_page(header, data, start, len(data))  # at or before the answer
    if best is None or best[1] > packet:
        return start, 0
    hi = len(data)
    while hi - best[0] > SEEK_WALK_BYTES:
        mid = (best[0] + hi) // 2
        found = _first_data_page(header, data, mid, min(len(data), mid + SEEK_PROBE_BYTES))
        if found is None or found[1] > packet or found[0] >= hi:
            hi = mid
        else:
            best = found
    while True:
        found = _first_data_page(header, data, best[0] + best[2], len(data))
        if found is None or found[1] > packet:
            return best[0], best[1]
        best = found


def read_packets(header: aqc.StreamHeader, data: bytes | memoryview | mmap.mmap, start: int,
                 stats: ReadStats, first_packet: int = 0) -> Iterator[memoryview | None]:
    """Every packet of the stream in order, ``None`` for each lost one (bounded, see pages.py).

    Header pages are checked and skipped; a data page whose granule does not
    move forward (a repeated or stale page) is skipped with a note. ``first_packet``:
    the index of the first packet at ``start`` (after :func:`seek_page`).
    """
    n = header.frame_size
    granule = first_packet * n  # codec samples complete at the end of the last good page
    expect: int | None = None
    read = concealed = 0
    for _off, page, skipped in pages.scan_pages(header.serial, data, start):
        stats.skipped_bytes += skipped
        if page is None:
            break
        stats.pages += 1
        if expect is not None and page.seq != expect:
            stats.lost_pages += min((page.seq - expect) & 0xFFFFFFFF, 1 << 20)
        expect = (page.seq + 1) & 0xFFFFFFFF
        k = 0 if page.is_header else len(page.packets)
        stats.header_pages += page.is_header
        if page.granule < granule + k * n:
            if not page.is_header:
                stats.note(f"page {page.seq}: granule {page.granule} does not move forward; skipped")
            continue
        lost = (page.granule - granule) // n - k
        granule = page.granule
        if lost > 0:
            allowed = max(0, min(lost, aqc.MAX_GAP_CONCEAL, read + aqc.MAX_GAP_CONCEAL - concealed))
            if allowed < lost:
                stats.note(f"page {page.seq}: {lost} packets lost, {allowed} concealed")
            concealed += allowed
            stats.lost_packets += allowed
            for _ in range(allowed):
                yield None
        if page.is_header:
            continue
        read += k
        yield from page.packets
