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
    skipped_bytes: int = 0
    lost_pages: int = 0
    header_from_copy: bool = False
    truncated: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def damaged(self) -> bool:
        return bool(self.concealed or self.rejected or self.skipped_bytes or self.truncated
                    or self.header_from_copy)


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


def iter_decode(data: bytes | memoryview | mmap.mmap, report: DecodeReport | None = None
                ) -> Iterator[NDArray[np.float32]]:
    """Decode AQC bytes piece by piece, recovering from damage (see :func:`decode`)."""
    rep = report if report is not None else DecodeReport()
    stats = reader.ReadStats()
    header, start = reader.locate_header(data, stats)
    dec = Decoder(header)
    rep.sample_rate, rep.channels = header.sample_rate, header.channels
    try:
        for packet in reader.read_packets(header, data, start, stats):
            try:
                y = dec.decode(packet)
            except FrameError as e:
                stats.note(str(e))
                y = dec.decode(None)  # keep the timeline
            rep.samples += y.shape[0]
            yield y
            if dec.ended:
                break
        if not dec.ended:
            rep.truncated = True
            yield from _conceal_tail(dec, header, rep)
    finally:
        rep.frames = dec.frames_decoded
        rep.concealed = dec.frames_concealed
        rep.rejected = dec.frames_rejected
        rep.skipped_bytes = stats.skipped_bytes
        rep.lost_pages = stats.lost_pages
        rep.header_from_copy = stats.header_from_copy
        rep.notes.extend(stats.notes)


def _conceal_tail(dec: Decoder, header: bs.StreamHeader, rep: DecodeReport
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
        if rep.samples >= total:
            return
        y = dec.decode(None)
        rep.samples += y.shape[0]
        yield y
    if rep.samples < total:
        rep.notes.append(f"stream ends {total - rep.samples} samples early "
                         f"(more than {MAX_GAP_CONCEAL} packets of {n}); tail not concealed")


def decode(data: bytes | memoryview, *, report: DecodeReport | None = None
           ) -> tuple[NDArray[np.float32], int]:
    """Decode AQC bytes to ``(pcm (frames, channels) float32, sample_rate)``.

    Damaged pages are concealed and decoding resumes at the next good page;
    a damaged stream header is replaced by its first intact copy. Pass a
    :class:`DecodeReport` to learn what was lost. Raises :class:`HeaderError`
    when no usable stream header is found (or the stream is version 1).
    """
    rep = report if report is not None else DecodeReport()
    pieces = list(iter_decode(data, rep))
    if pieces:
        pcm = np.concatenate(pieces)
    else:
        pcm = np.zeros((0, rep.channels), dtype=np.float32)
    if report is None and rep.damaged:
        warnings.warn(CodecWarning(
            f"damaged stream decoded: {rep.concealed} frames concealed, {rep.skipped_bytes} bytes "
            f"skipped{', truncated' if rep.truncated else ''} (pass report= for the details)"),
            stacklevel=2)
    return pcm, rep.sample_rate
