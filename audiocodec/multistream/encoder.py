"""The multistream encoder: one :class:`audiocodec.encoder.mdct_encoder.MdctEncoder` per sub-stream.

Mirror of :class:`audiocodec.multistream.decoder.MultistreamDecoder`; the
channel mapping and the packet layout are in :mod:`audiocodec.multistream.layout`.

Bits are shared by need, frame by frame. Before a frame is coded, each
sub-stream's perceptual entropy (Johnston's PE of its long-window MDCT under
the masking threshold of :mod:`psychoacoustics`: the bits it needs for
transparency) is measured; the frame's budget, less the LFE's fixed share,
goes ``SHARE_FLOOR`` evenly per channel (side information) and the rest in
proportion to the PEs. A silent surround pair then lends its bits to the
front; each sub-stream's own bit reservoir still smooths its frames. The
LFE is low-passed at :data:`audiocodec.multistream.layout.LFE_CUTOFF_HZ`, coded in long
blocks with no bin above ``LFE_CODED_HZ``, and gets ``LFE_BITRATE``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import signal

from ..container import aqc
from ..core.layout import FrameStats
from ..encoder.mdct_encoder import MAX_BITRATE_PER_CHANNEL, MIN_BITRATE, MdctEncoder
from ..errors import InputError
from ..stream import Fifo
from .layout import LFE_CUTOFF_HZ, channel_map_record, layout_of, pack_packet, shared_records

# bit/s budgeted to the LFE as MdctEncoder counts it (it deducts about 1.4 kbit/s of .aqc page
# framing that a sub-packet does not spend). Measured in docs/TUNING.md ("The LFE's budget"):
# with the LFE_CODED_HZ cut, 5500 spends 4.1 kbit/s while the LFE sounds, for more SNR below
# 110 Hz than 6000 gave without the cut at 4.6 kbit/s; a silent LFE sends empty sub-packets.
LFE_BITRATE = 5_500
SHARE_FLOOR = 0.15  # part of the frame's budget split evenly per channel, the rest by PE
LFE_STOP_HZ = 220.0  # the LFE's low-pass: flat to LFE_CUTOFF_HZ, -60 dB from here
LFE_STOP_DB = 60.0
LFE_CODED_HZ = 150.0  # no bin above this is coded in the LFE (the low-pass's stopband leaks)


class MultistreamEncoder:
    """Per-stream state of a 3..8-channel MDCT stream (options: :class:`audiocodec.Encoder`'s)."""

    def __init__(self, sample_rate: int, channels: int, *, bitrate: int, quality: float | None,
                 serial: int, observer: Callable[[FrameStats], None] | None = None,
                 **options: Any) -> None:
        self.layout = lay = layout_of(channels)
        self.channels = channels
        self.bitrate = bitrate
        self.quality = quality
        lfe = LFE_BITRATE if lay.lfe else 0
        full = channels - (1 if lay.lfe else 0)
        lo, hi = MIN_BITRATE * (lay.streams - (1 if lay.lfe else 0)) + lfe, MAX_BITRATE_PER_CHANNEL * full
        if quality is None and not lo <= bitrate <= hi:
            raise InputError(f"bitrate for {channels} channels must be {lo}..{hi} bit/s, got {bitrate}")
        self._lfe_bits = float(lfe)
        self._widths = [len(lay.stream_channels(s)) for s in range(lay.streams)]
        self._is_lfe = [lay.lfe and s == lay.streams - 1 for s in range(lay.streams)]
        self._coders = []
        # the pitch post-filter is for 1-2 channel streams (its record does not reach sub-streams);
        # sf_predict's does (layout.sub_header), so the option goes to every sub-stream as given
        options["postfilter"] = False
        options.pop("joint_fields", None)  # a 2-channel stream's record, not a multistream one's
        for s, k in enumerate(self._widths):
            rate = MIN_BITRATE if self._is_lfe[s] else max(MIN_BITRATE, round((bitrate - lfe) * k / full))
            self._coders.append(MdctEncoder(sample_rate, k, bitrate=rate, quality=quality,
                                            serial=(serial + s) & 0xFFFFFFFF, observer=observer,
                                            max_hz=LFE_CODED_HZ if self._is_lfe[s] else None,
                                            empty_silent=True, joint_fields=False, **options))
        self._columns = [np.asarray(lay.wav_columns(s), np.intp) for s in range(lay.streams)]
        first = self._coders[0]
        self.config = first.config
        self.frame_size, self.delay, self.latency = first.frame_size, first.delay, first.latency
        self._feeds = [Fifo(k, first.capacity()) for k in self._widths]
        self._lfe = _LfeFilter(sample_rate) if lay.lfe else None
        self._lfe_col = lay.wav_columns(lay.streams - 1)[0]
        self.latency += self._lfe.delay if self._lfe else 0
        self._fed = 0  # input samples moved into the feeds
        self._need_model = _NeedModel(first.config)
        self.stream_bits = np.zeros(lay.streams)  # bits each sub-stream has taken so far

    def capacity(self) -> int:
        return self._coders[0].capacity()

    def lead_in(self) -> int:
        return self._coders[0].lead_in()

    def header(self, total: int, serial: int) -> aqc.StreamHeader:
        h = self._coders[0].header(total, serial)  # every sub-stream's coder has the same options
        return aqc.StreamHeader(h.mode, self.channels, h.sample_rate, h.frame_size, h.overlap, h.delay,
                                0 if self.quality is not None else int(self.bitrate), total, serial,
                                h.window, h.flags, (channel_map_record(self.channels), *shared_records(h)))

    def _feed(self, x: NDArray[np.float64]) -> None:
        """Move samples (WAV order) into the sub-streams' FIFOs; the LFE's are the low-passed ones."""
        for s, (feed, cols) in enumerate(zip(self._feeds, self._columns, strict=True)):
            feed.push(self._lfe.take(x.shape[0])[:, None] if self._lfe and self._is_lfe[s] else x[:, cols])
        self._fed += x.shape[0]

    def _ready(self, pending: Fifo, final: bool) -> int:
        """Samples of ``pending`` the feeds may take (the LFE filter's look-ahead held back)."""
        if self._lfe is None:
            return len(pending)
        self._lfe.push(pending.view()[self._lfe.seen - self._fed :, self._lfe_col], final)
        return min(len(pending), self._lfe.available)

    def drain(self, pending: Fifo, final: bool, in_count: int) -> list[bytes]:
        """Code every frame whose samples (and look-ahead) are pending, one frame of all
        sub-streams at a time so that each frame's budget is split by the streams' needs."""
        n = self.frame_size
        out: list[bytes] = []
        # a hop at a time: each sub-stream then codes at most one frame per step, so every
        # frame's budget is shared before it is coded (no frame is coded in the first steps)
        while self._ready(pending, False) >= n:
            self._feed(pending.view()[:n])
            pending.consume(n)
            self._share_bits()
            subs = [c.drain(f, False, in_count) for c, f in zip(self._coders, self._feeds, strict=True)]
            if subs[0]:
                out.append(self._join(subs, False, 0))
        if final:
            self._ready(pending, True)
            self._feed(pending.view())
            pending.consume(len(pending))
            self._share_bits()
            per_stream = [c.drain(f, True, in_count) for c, f in zip(self._coders, self._feeds, strict=True)]
            for i, frame in enumerate(zip(*per_stream, strict=True)):
                out.append(self._join([[p] for p in frame], i == len(per_stream[0]) - 1, in_count))
        return out

    def _join(self, per_stream: list[list[bytes]], last: bool, in_count: int) -> bytes:
        """One frame's sub-packets (the last-packet marker moves to the outer TOC) -> a packet."""
        subs = []
        for s, packets in enumerate(per_stream):
            (p,) = packets
            sub = bytes([p[0] & ~aqc.INFO_LAST & 0xFF]) + p[9:] if p[0] & aqc.INFO_LAST else p
            if len(sub) == 1:  # a frame that codes nothing (MdctEncoder.empty_silent)
                sub = b""
            self.stream_bits[s] += 8 * len(sub)
            subs.append(sub)
        return aqc.pack_info(0, last, in_count) + pack_packet(subs)

    def _share_bits(self) -> None:
        """Set each sub-stream's bitrate for the next frame from its perceptual entropy."""
        if self.quality is not None:
            return
        n = self.frame_size
        pe = np.array([0.0 if lfe else self._need_model.pe(f.view()[: 2 * n])
                       for f, lfe in zip(self._feeds, self._is_lfe, strict=True)])
        width = np.array([0.0 if lfe else k for k, lfe in zip(self._widths, self._is_lfe, strict=True)])
        rest = self.bitrate - self._lfe_bits
        even = width / width.sum()
        share = even if pe.sum() <= 0 else SHARE_FLOOR * even + (1 - SHARE_FLOOR) * pe / pe.sum()
        for c, sh, k, lfe in zip(self._coders, share, self._widths, self._is_lfe, strict=True):
            c.bitrate = round(self._lfe_bits if lfe else min(rest * sh, MAX_BITRATE_PER_CHANNEL * k))


class _NeedModel:
    """Perceptual entropy of a frame: the bits a sub-stream needs to reach its masking threshold."""

    def __init__(self, config: Any) -> None:
        from psychoacoustics import PsychoModel

        self._config = config
        self._model = PsychoModel(config.sample_rate, config.frame_size, config.edges(False))

    def pe(self, seg: NDArray[np.float64]) -> float:
        """PE (bits) of one frame, ``seg`` (2N or fewer, channels) in time order, summed over channels."""
        n = self._config.frame_size
        x = np.zeros((seg.shape[1], 2 * n))
        x[:, : seg.shape[0]] = seg.T
        coefs = self._config.analyze(x, 0)
        return float(np.sum(self._model.analyze(coefs).pe))


class _LfeFilter:
    """The LFE's linear-phase low-pass (a Kaiser-window FIR), its delay compensated by look-ahead:
    output sample ``t`` is the filtered input at ``t``, available once input ``t + delay`` is in."""

    def __init__(self, sample_rate: int) -> None:
        taps, beta = signal.kaiserord(LFE_STOP_DB, (LFE_STOP_HZ - LFE_CUTOFF_HZ) / (sample_rate / 2))
        taps |= 1  # odd: a whole-sample delay
        self._h = signal.firwin(taps, (LFE_CUTOFF_HZ + LFE_STOP_HZ) / 2, window=("kaiser", beta),
                                fs=sample_rate)
        self.delay = taps // 2
        self._zi = np.zeros(taps - 1)
        self._skip = self.delay  # the filter's first outputs precede the stream
        self._out = np.zeros(0)
        self.seen = 0  # input samples filtered
        self._flushed = False

    @property
    def available(self) -> int:
        return self._out.shape[0]

    def push(self, x: NDArray[np.float64], final: bool) -> None:
        """Filter new input; ``final`` also runs the filter's tail out (the input ends in zeros)."""
        self.seen += x.shape[0]
        if final and not self._flushed:
            self._flushed = True
            x = np.concatenate((x, np.zeros(self.delay)))
        if x.shape[0] == 0:
            return
        y, self._zi = signal.lfilter(self._h, 1.0, x, zi=self._zi)
        k = min(self._skip, y.shape[0])
        self._skip -= k
        self._out = np.concatenate((self._out, y[k:]))

    def take(self, n: int) -> NDArray[np.float64]:
        y, self._out = self._out[:n], self._out[n:]
        return y
