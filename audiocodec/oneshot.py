"""Whole-buffer encode and decode over the streaming :class:`Encoder`/:class:`Decoder`."""

from __future__ import annotations

import mmap
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .container import aqc as bs
from .errors import CodecWarning, FrameError, InputError
from .stream import MAX_GAP_CONCEAL, Decoder, Encoder


@dataclass
class DecodeReport:
    """What a decode found: frames decoded, concealed, damaged bytes skipped."""

    sample_rate: int = 0
    channels: int = 0
    samples: int = 0
    frames: int = 0
    concealed: int = 0
    rejected: int = 0
    skipped_bytes: int = 0
    truncated: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def damaged(self) -> bool:
        return bool(self.concealed or self.rejected or self.skipped_bytes or self.truncated)


def encode(pcm: Any, sample_rate: int, **options: Any) -> bytes:
    """Encode a whole signal to AQC bytes.

    Parameters
    ----------
    pcm : ndarray, shape (frames, channels) or (frames,)
        Float samples in -1..1.
    sample_rate : int
    **options
        Passed to :class:`Encoder` (``bitrate``, ``mode``, ``quantizer`` ...).

    The bytes equal the streaming :class:`Encoder`'s header plus its packets, fed in blocks
    of any size, when both use the same ``serial`` and ``total_samples`` (this function sets
    the length). Without ``serial=`` each stream draws a random one; it seeds the frame CRCs
    and the decoder's noise-fill generator, so two encodes of the same audio then decode to
    slightly different noise in noise-filled bands (about 0.05 at 32 kbit/s, peak).
    """
    a = np.asarray(pcm)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2:
        raise InputError(f"pcm must have shape (frames, channels), got {a.shape}")
    options.setdefault("total_samples", a.shape[0])
    enc = Encoder(sample_rate, a.shape[1], **options)
    parts = [enc.header]
    parts += enc.encode(a)
    parts += enc.flush()
    return b"".join(parts)


def iter_decode(data: bytes | memoryview | mmap.mmap, report: DecodeReport | None = None
                ) -> Iterator[NDArray[np.float32]]:
    """Decode AQC bytes piece by piece, recovering from damage (see :func:`decode`)."""
    rep = report if report is not None else DecodeReport()
    mv = memoryview(data)
    header = bs.StreamHeader.unpack(mv[: bs.HEADER_SIZE])
    dec = Decoder(header)
    rep.sample_rate, rep.channels = header.sample_rate, header.channels
    for _off, seq, payload, skipped in bs.scan_frames(header.serial, mv, bs.HEADER_SIZE):
        rep.skipped_bytes += skipped
        if seq < 0:
            break
        try:
            y = dec.decode_payload(seq, payload)
        except FrameError as e:
            rep.notes.append(str(e))
            continue
        rep.samples += y.shape[0]
        yield y
        if dec.ended:
            break
    if not dec.ended:
        rep.truncated = True
        yield from _conceal_tail(dec, header, rep)
    rep.frames = dec.frames_decoded
    rep.concealed = dec.frames_concealed
    rep.rejected = dec.frames_rejected


def _conceal_tail(dec: Decoder, header: bs.StreamHeader, rep: DecodeReport
                  ) -> Iterator[NDArray[np.float32]]:
    """Conceal a lost tail (modes that conceal, i.e. MDCT), at most MAX_GAP_CONCEAL + 1 frames.

    Like :meth:`Decoder.finish`, bounded whatever the header claims, but it stops
    as soon as the stream's length is reached, so the report counts only the
    frames that produced samples, and it notes a tail beyond the bound as
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
                         f"(more than {MAX_GAP_CONCEAL} frames of {n}); tail not concealed")


def decode(data: bytes | memoryview, *, report: DecodeReport | None = None
           ) -> tuple[NDArray[np.float32], int]:
    """Decode AQC bytes to ``(pcm (frames, channels) float32, sample_rate)``.

    Damaged frames are concealed and decoding resumes at the next good frame;
    pass a :class:`DecodeReport` to learn what was lost. Raises
    :class:`HeaderError` when the stream header itself is unusable.
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
