"""Whole-buffer encode and decode over the streaming :class:`Encoder`/:class:`Decoder`.

Bytes here are a ``.aqc`` stream: the stream header, then pages of codec
packets (:mod:`audiocodec.container.pages`).
"""

from __future__ import annotations

import mmap
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .container import aqc as bs
from .container import pages, reader
from .core import postfilter
from .errors import CodecWarning, FrameError, InputError
from .stream import MAX_GAP_CONCEAL, Decoder, Encoder


@dataclass
class DecodeReport:
    """What a decode found: packets decoded, concealed, damaged bytes skipped."""

    sample_rate: int = 0
    channels: int = 0
    samples: int = 0
    frames: int = 0
    concealed: int = 0
    rejected: int = 0
    recovered: int = 0  # lost packets decoded from the next packet's redundant copy (FEC)
    # frames that predicted their scale factors from a frame lost before them, of the other
    # block type, and were concealed (counted in ``frames``; sf_predict streams, after damage)
    waiting: int = 0
    skipped_bytes: int = 0
    lost_pages: int = 0
    header_from_copy: bool = False
    truncated: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def damaged(self) -> bool:
        return bool(self.concealed or self.rejected or self.recovered or self.skipped_bytes
                    or self.truncated or self.header_from_copy or self.waiting)


def encode(pcm: Any, sample_rate: int, **options: Any) -> bytes:
    """Encode a whole signal to AQC bytes.

    Parameters
    ----------
    pcm : ndarray, shape (frames, channels) or (frames,)
        Float samples in -1..1.
    sample_rate : int
    **options
        Passed to :class:`Encoder` (``bitrate``, ``mode``, ``quantizer`` ...).
    """
    a = np.asarray(pcm)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2:
        raise InputError(f"pcm must have shape (frames, channels), got {a.shape}")
    options.setdefault("total_samples", a.shape[0])
    enc = Encoder(sample_rate, a.shape[1], **options)
    return pack_stream(enc.header, enc.encode(a) + enc.flush())


def pack_stream(header: bytes, packets: list[bytes]) -> bytes:
    """A stream header and its codec packets as ``.aqc`` bytes (pages, header copies)."""
    w = pages.PageWriter(bs.StreamHeader.unpack(header))
    return w.start() + b"".join(w.add(p) for p in packets) + w.finish()


def iter_decode(data: bytes | memoryview | mmap.mmap, report: DecodeReport | None = None, *,
                start: int = 0, stop: int | None = None) -> Iterator[NDArray[np.float32]]:
    """Decode AQC bytes piece by piece, recovering from damage (see :func:`decode`).

    ``start``/``stop``: only output samples ``start .. stop`` (at the stream's rate), the same
    samples a whole decode gives there. Decoding starts at the reset point (page) before
    ``start`` less one packet of pre-roll (:func:`audiocodec.container.reader.seek_page`), so
    what comes before it is not decoded; ``report.samples`` counts the slice.
    """
    rep = report if report is not None else DecodeReport()
    stats = reader.ReadStats()
    header, offset = reader.locate_header(data, stats)
    if start < 0 or (stop is not None and stop < start):
        raise InputError(f"slice {start}..{stop} is not a range of samples")
    dec = Decoder(header)
    rep.sample_rate, rep.channels = header.sample_rate, header.channels
    first = 0
    if start > 0:
        n = header.frame_size
        # packet p's output covers p*N - delay .. (p+1)*N - delay, and the first packet
        # decoded after a reset is pre-roll: begin one packet before the one holding start
        target = max(0, (start + dec.delay) // n - 1)
        interval = bs.pitch_filter_interval(header)
        if interval is not None:  # the post-filter's memory is clear only after a reset point
            target = postfilter.seek_packet(target + 1, interval)
        intra = bs.reset_interval(header)
        if intra is not None:  # the scale factors predict nothing at an intra frame, LFE groups start
            target = target // intra * intra
        offset, first = reader.seek_page(header, data, offset, target)
        if first > 0:
            dec.start_at(first * n)
    pos = max(0, first * header.frame_size - dec.delay)  # output sample of the next piece
    try:
        for y in _decode_packets(dec, header, data, offset, first, stats, rep):
            lo, hi = max(start - pos, 0), y.shape[0] if stop is None else min(y.shape[0], stop - pos)
            pos += y.shape[0]
            if hi > lo:
                rep.samples += hi - lo
                yield y[lo:hi] if (lo, hi) != (0, y.shape[0]) else y
            if stop is not None and pos >= stop:
                break
    finally:
        rep.frames = dec.frames_decoded
        rep.concealed = dec.frames_concealed
        rep.rejected = dec.frames_rejected
        rep.recovered = dec.frames_recovered
        rep.waiting = dec.frames_waiting
        rep.skipped_bytes = stats.skipped_bytes
        rep.lost_pages = stats.lost_pages
        rep.header_from_copy = stats.header_from_copy
        rep.notes.extend(stats.notes)


def slice_samples(start: float, duration: float | None, rate: int) -> tuple[int, int | None]:
    """Seconds -> ``(start, stop)`` samples at ``rate`` (``stop`` None: to the end)."""
    if not (start >= 0 and (duration is None or duration >= 0)):  # NaN fails too
        raise InputError(f"start {start} s and duration {duration} s must be 0 or more")
    first = int(round(start * rate))
    return first, (None if duration is None else first + int(round(duration * rate)))


def _decode_packets(dec: Decoder, header: bs.StreamHeader, data: bytes | memoryview | mmap.mmap,
                    offset: int, first: int, stats: reader.ReadStats, rep: DecodeReport
                    ) -> Iterator[NDArray[np.float32]]:
    """Every piece the decoder gives from the page at ``offset`` on, lost tail concealed."""
    pos = max(0, first * header.frame_size - dec.delay)
    lost = 0  # packets lost just before this one: concealed once the next one is known (FEC)
    for packet in reader.read_packets(header, data, offset, stats, first):
        if packet is None:
            lost += 1
            continue
        # the last may come back from this packet's redundant copy (not after a gap longer than
        # the reader reports: its last None is then not the packet before this one)
        whole = lost < MAX_GAP_CONCEAL
        for i in range(lost):
            y = dec.decode(None, next_packet=packet if whole and i == lost - 1 else None)
            pos += y.shape[0]
            yield y
        lost = 0
        try:
            y = dec.decode(packet)
        except FrameError as e:
            stats.note(str(e))
            if dec.ended:  # the stream's last packet: nothing follows to recover it from
                y = dec.decode(None)
                pos += y.shape[0]
                yield y
                return
            lost = 1  # keep the timeline: concealed (or recovered) with the next packet
            continue
        pos += y.shape[0]
        yield y
        if dec.ended:
            return
    for _ in range(lost):
        y = dec.decode(None)
        pos += y.shape[0]
        yield y
    rep.truncated = True
    yield from _conceal_tail(dec, header, rep, pos)


def _conceal_tail(dec: Decoder, header: bs.StreamHeader, rep: DecodeReport, pos: int
                  ) -> Iterator[NDArray[np.float32]]:
    """Conceal a lost tail (modes that conceal, i.e. MDCT), at most MAX_GAP_CONCEAL + 1 packets.

    Like :meth:`Decoder.finish`, bounded whatever the header claims, but it stops
    as soon as the stream's length is reached, so the report counts only the
    packets that produced samples, and it notes a tail beyond the bound as
    missing instead of synthesising it.
    """
    total = header.total_samples
    if not dec.conceals_tail or total == bs.UNKNOWN_LENGTH:
        return
    n = header.frame_size
    for _ in range(MAX_GAP_CONCEAL + 1):
        if pos >= total:
            return
        y = dec.decode(None)
        pos += y.shape[0]
        yield y
    if pos < total:
        rep.notes.append(f"stream ends {total - pos} samples early "
                         f"(more than {MAX_GAP_CONCEAL} packets of {n}); tail not concealed")


def decode(data: bytes | memoryview, *, report: DecodeReport | None = None, start: float = 0.0,
           duration: float | None = None) -> tuple[NDArray[np.float32], int]:
    """Decode AQC bytes to ``(pcm (frames, channels) float32, sample_rate)``.

    Damaged pages are concealed and decoding resumes at the next good page;
    a damaged stream header is replaced by its first intact copy. Pass a
    :class:`DecodeReport` to learn what was lost. Raises :class:`HeaderError`
    when no usable stream header is found (or the stream is version 1).
    ``start`` and ``duration`` (seconds) decode only that slice, sample for sample what a
    whole decode holds there, without decoding what comes before (see :func:`iter_decode`).
    """
    rep = report if report is not None else DecodeReport()
    rate = reader.locate_header(data)[0].sample_rate if (start or duration is not None) else 0
    first, stop = slice_samples(start, duration, rate)
    pieces = list(iter_decode(data, rep, start=first, stop=stop))
    if pieces:
        pcm = np.concatenate(pieces)
    else:
        pcm = np.zeros((0, rep.channels), dtype=np.float32)
    if report is None and rep.damaged:
        warnings.warn(CodecWarning(
            f"damaged stream decoded: {rep.concealed} frames concealed"
            + (f", {rep.recovered} recovered (FEC)" if rep.recovered else "")
            + (f", {rep.waiting} more waiting for an intra frame" if rep.waiting else "")
            + f", {rep.skipped_bytes} bytes skipped{', truncated' if rep.truncated else ''}"
            " (pass report= for the details)"),
            stacklevel=2)
    return pcm, rep.sample_rate
