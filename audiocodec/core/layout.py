"""The MDCT mode's tables and rules that encoder and decoder must agree on.

MDCT frame payload (after the container of :mod:`audiocodec.container.aqc`)::

    byte 0   info: bit 0 left slope short, bit 1 right slope short,
             bit 2 short blocks (S interleaved, below), bit 3 power-law quantizer,
             bit 4 per-band M/S flags present, bit 5 coarse scale factors
             (band-to-band steps coded in 3 dB units), bit 6 pitch post-filter
             parameters present (only in a stream with the ``pitch_filter`` header
             record, :mod:`.postfilter`), bit 7 last frame
    [8 bytes total_samples u64 LE, only in the last frame]
    rest     range-coded data, layout in :mod:`audiocodec.core.entropy`

In-band FEC (a stream with the ``fec`` header record): the range-coded data is followed by
a redundant section and one byte holding the section's length ``K`` (0..255)::

    body     range-coded data of this frame (its end: K + 1 bytes before the packet's)
    K bytes  empty, or the previous frame again, coded coarser: its info byte (bit 7
             clear) and its range-coded data, as this table describes for a packet
    1 byte   K

A decoder decodes the body; when a packet is lost and the next one has arrived, it may decode
that packet's section in the lost packet's place (same packet index, same post-filter rules)
instead of concealing it. The first packet's section is empty; the last frame has no copy.

Timing: the encoder conceptually prepends ``D = (N + L) / 2`` zeros to the
input (``N`` hop, ``L`` overlap) and frame ``t`` windows padded samples
``[tN, tN + 2N)``. After frame ``t`` the decoder has final samples up to
``tN + 3N/2 - L/2``; it emits ``N`` samples per frame and drops the first
``L`` it emits (the header's ``delay``), so decoded output is the input,
sample-aligned, with the stream's exact length. Algorithmic delay is ``N + L``
samples (framing plus overlap).

Short-block frames (info bit 2; only in a stream whose header sets the block-switching
flag). In a full-overlap layout (``L = N``) a short frame holds ``S = 8`` blocks of ``N/8``;
the long frames beside it take a short slope on that side (info bits 0 and 1), so an
encoder decides a frame ahead. In a low-overlap layout (``L < N``, ``N`` a multiple of
``L``) it holds ``S = N / L`` blocks of ``L`` (4 of 96 samples at 48 kHz in low delay), each
block's slopes the long overlap, as CELT's transient frames: no transition window, no
look-ahead, and info bits 0 and 1 change nothing (an encoder writes them 0). Short frames
use the band table of ``band_edges(rate, N, S, L < N)`` (:mod:`.bands`). Their noise fill takes the
time envelope of what the frame coded (:func:`audiocodec.core.quant.fill_gains`). Streams
written before the tenth session had no low-overlap short frames (their headers never set
the flag) and no noise fill in any short frame.

This module is the one home of: the info bits, the frame-size and overlap
rules, the window and short-block layout, the band edges (via
:mod:`.bands`) and the first bin that may be noise filled (the header's ``noise_fill_from``
record, or the rule of the streams without it).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numpy.typing import NDArray

from ..container import aqc
from ..errors import InputError
from . import mdct
from .bands import band_edges
from .quant import NF_MIN_HZ

SHORT_BLOCKS = 8
INFO_LEFT_SHORT = 0x01
INFO_RIGHT_SHORT = 0x02
INFO_SHORT = 0x04
INFO_POWER_LAW = 0x08
INFO_MS = 0x10
INFO_COARSE_SF = 0x20
INFO_PITCH = 0x40


def default_frame_size(sample_rate: int, low_delay: bool) -> tuple[int, int]:
    """(hop N, overlap L) for a rate: 1024/1024 (512 below 32 kHz); low delay uses 8 ms hops
    (a multiple of 8 samples) with quarter-hop overlap: 384/96 at 48 kHz, 10 ms of algorithmic
    delay (N + L). Against the earlier 256/128 (8 ms), same run, 48 kHz, actual rate within 2 %:
    speech PESQ-WB 1.58/1.99/2.80 -> 1.92/2.49/3.12 at 24/32/48 kbit/s, music (SQAM items) ViSQOL
    per channel 3.98/4.34/4.56 -> 4.26/4.46/4.61 and Zimtohrli 2.74/3.47/4.27 -> 3.40/3.87/4.42
    at 48/64/96 kbit/s: a third fewer packets to pay side information for, 62.5 Hz bins."""
    if low_delay:
        n = max(64, int(round(sample_rate * 0.008 / 8.0)) * 8)
        return n, n // 4 // 2 * 2
    n = 1024 if sample_rate >= 32000 else 512
    return n, n


def frame_layout(sample_rate: int, low_delay: bool, frame_size: int | None) -> tuple[int, int]:
    """(hop, overlap) an encoder uses: the default, or ``frame_size`` checked against the
    format (with a frame size given, low delay keeps a half-hop overlap, so ``--frame-size 256``
    is the 8 ms layout of 256/128; the default mode a full one)."""
    n, ovl = default_frame_size(sample_rate, low_delay)
    if frame_size is not None:
        n = int(frame_size)
        if not aqc.mdct_frame_size_ok(n):
            raise InputError(f"frame size must be a multiple of {aqc.MDCT_FRAME_MULTIPLE} in "
                             f"{aqc.MDCT_FRAME_MIN}..{aqc.MDCT_FRAME_MAX}, got {n}")
        ovl = n // 2 // 2 * 2 if low_delay else n
    return n, ovl


def noise_fill_start(sample_rate: int, n: int) -> int:
    """First bin that may be noise filled in a frame of ``n`` bins of a stream without the
    ``noise_fill_from`` record (``NF_MIN_HZ``, in float64 as written)."""
    return int(NF_MIN_HZ / (sample_rate / 2.0) * n)


@dataclass(frozen=True)
class FrameStats:
    """What one MDCT frame carried, for observers (eval, benchmarks, plots).

    Passed to the ``observer`` of :class:`audiocodec.Encoder` and
    :class:`audiocodec.Decoder` after every coded or decoded frame. The arrays
    are views of the coder's buffers, valid only during the call: copy what you keep.
    ``bits`` is the codec packet, TOC byte included (0 on the decoder side).
    """

    index: int
    bits: int
    info: int
    short: bool
    edges: NDArray[np.int32]
    coded_bands: NDArray[np.int32]  # (C,)
    scale_factors: NDArray[np.int32]  # (C, nb)
    q: NDArray[np.int32]  # (C, N)


@dataclass(frozen=True)
class MdctConfig:
    """Immutable MDCT coding configuration; builds the tables both sides share."""

    sample_rate: int
    channels: int
    frame_size: int
    overlap: int
    window: str = "kbd"
    block_switching: bool = True
    nf_bin: int | None = None  # the noise_fill_from record's bin (None: no record)

    @property
    def delay(self) -> int:
        return self.overlap

    @property
    def pad(self) -> int:
        return (self.frame_size + self.overlap) // 2

    @property
    def short_blocks(self) -> int:
        """Short blocks in a short-block frame: ``SHORT_BLOCKS`` in a full-overlap layout; in
        a low-overlap one ``N / L`` blocks of ``L``, each block's slopes the long overlap's, so
        a short frame needs no transition windows and no look-ahead (as CELT's transient
        frames)."""
        if self.overlap < self.frame_size and aqc.mdct_blocks_tile(self.frame_size, self.overlap):
            return self.frame_size // self.overlap
        return SHORT_BLOCKS  # (a low-overlap layout that does not tile cannot switch: header check)

    @property
    def switch_lookahead(self) -> bool:
        """A full-overlap layout: a long frame beside a short one takes a short slope, so the
        encoder decides a frame ahead."""
        return self.overlap == self.frame_size

    @property
    def short_size(self) -> int:
        return self.frame_size // self.short_blocks

    @cached_property
    def edges_long(self) -> NDArray[np.int32]:
        return band_edges(self.sample_rate, self.frame_size)

    @cached_property
    def edges_short(self) -> NDArray[np.int32]:
        return band_edges(self.sample_rate, self.frame_size, self.short_blocks, not self.switch_lookahead)

    @property
    def max_bands(self) -> int:
        return max(len(self.edges_long), len(self.edges_short)) - 1

    @cached_property
    def nf_start(self) -> int:
        """First bin a zero band may be noise filled from: the ``noise_fill_from`` record's,
        else the rule of the streams without it (:func:`noise_fill_start`)."""
        if self.nf_bin is not None:
            return self.nf_bin
        return noise_fill_start(self.sample_rate, self.frame_size)

    def edges(self, short: bool) -> NDArray[np.int32]:
        return self.edges_short if short else self.edges_long

    def long_window(self, left_short: bool, right_short: bool) -> NDArray[np.float64]:
        n, s = self.frame_size, self.short_size
        return mdct.window(n, s if left_short else self.overlap, s if right_short else self.overlap,
                           self.window)

    @cached_property
    def short_window(self) -> NDArray[np.float64]:
        m = self.short_size
        return mdct.window(m, m, m, self.window)

    @cached_property
    def short_index(self) -> NDArray[np.intp]:
        """Index array (S, 2M) picking the short blocks out of a 2N frame."""
        n, m = self.frame_size, self.short_size
        start = n // 2 - m // 2
        return start + np.arange(self.short_blocks)[:, None] * m + np.arange(2 * m)[None, :]

    def analyze(self, seg: NDArray[np.float64], info: int) -> NDArray[np.float64]:
        """MDCT of one frame. seg (C, 2N) -> coefs (C, N), short blocks interleaved."""
        if info & INFO_SHORT:
            blocks = seg[:, self.short_index]  # (C, S, 2M)
            co = mdct.mdct(blocks, self.short_window)  # (C, S, M)
            return np.ascontiguousarray(co.transpose(0, 2, 1).reshape(seg.shape[0], -1))
        w = self.long_window(bool(info & INFO_LEFT_SHORT), bool(info & INFO_RIGHT_SHORT))
        return mdct.mdct(seg, w)

    def synthesize(self, coefs: NDArray[np.float64], info: int) -> NDArray[np.float64]:
        """Inverse of :meth:`analyze`: (C, N) -> windowed (C, 2N) for overlap-add."""
        nch, n = coefs.shape
        if info & INFO_SHORT:
            m = self.short_size
            nsb = self.short_blocks
            co = coefs.reshape(nch, m, nsb).transpose(0, 2, 1)
            y = mdct.imdct(co, self.short_window)  # (C, S, 2M)
            out = np.zeros((nch, 2 * n))
            start = n // 2 - m // 2
            for j in range(nsb):
                out[:, start + j * m : start + j * m + 2 * m] += y[:, j]
            return out
        w = self.long_window(bool(info & INFO_LEFT_SHORT), bool(info & INFO_RIGHT_SHORT))
        return mdct.imdct(coefs, w)

    def synthesize_add(self, coefs: NDArray[np.float64], info: int, out: NDArray[np.float64]) -> None:
        """``out += self.synthesize(coefs, info)`` (out (C, 2N)), a long frame in one pass."""
        if info & INFO_SHORT:
            out += self.synthesize(coefs, info)
            return
        w = self.long_window(bool(info & INFO_LEFT_SHORT), bool(info & INFO_RIGHT_SHORT))
        mdct.imdct_add(coefs, w, out)
