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
blocks with no bin above ``LFE_CODED_HZ``. By default outside low delay (the ``lfe_group`` header record)
it is coded ``LFE_GROUP`` frames at a time (the format's "LFE groups", :mod:`.layout`) at
``LFE_GROUP_BITRATE``, one step for the group, the finest whose group fits its budget (a
reservoir of one group's bits carries what a group left); ``lfe_group=False`` codes it as a
mono MDCT sub-stream at ``LFE_BITRATE``, as before the eleventh session.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import signal

from ..container import aqc
from ..core import entropy, quant
from ..core.layout import FrameStats, MdctConfig
from ..encoder.mdct_encoder import MAX_BITRATE_PER_CHANNEL, MIN_BITRATE, MdctEncoder
from ..errors import FrameError, InputError
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
# LFE groups (docs/TUNING.md, "LFE groups"): 8 frames (171 ms at 48 kHz) share one step and one
# range coder's termination, so the LFE's fixed cost is ~16 bits per 8 frames, not ~40 per frame
LFE_GROUP = 8
LFE_GROUP_BITRATE = 750  # bit/s of LFE sub-packets (the last sub-stream: no length byte)
LFE_PEAK_STEPS = 64  # no step finer than the group's largest coefficient / this (about 40 dB)
LFE_ROUND = 0.35  # |x| / step + this, truncated: a dead zone (0.2-0.4 dB over rounding at 0.5)


class MultistreamEncoder:
    """Per-stream state of a 3..8-channel MDCT stream (options: :class:`audiocodec.Encoder`'s)."""

    def __init__(self, sample_rate: int, channels: int, *, bitrate: int, quality: float | None,
                 serial: int, observer: Callable[[FrameStats], None] | None = None,
                 lfe_group: bool | None = None, **options: Any) -> None:
        self.layout = lay = layout_of(channels)
        self.channels = channels
        self.bitrate = bitrate
        self.quality = quality
        # LFE groups by default outside low delay (a group adds 7 frames of latency)
        grouped = lay.lfe and (not options.get("low_delay", False) if lfe_group is None else lfe_group)
        lfe = (LFE_GROUP_BITRATE if grouped else LFE_BITRATE) if lay.lfe else 0
        full = channels - (1 if lay.lfe else 0)
        lo, hi = MIN_BITRATE * (lay.streams - (1 if lay.lfe else 0)) + lfe, MAX_BITRATE_PER_CHANNEL * full
        if quality is None and not lo <= bitrate <= hi:
            raise InputError(f"bitrate for {channels} channels must be {lo}..{hi} bit/s, got {bitrate}")
        self._lfe_bits = float(lfe)
        self._widths = [len(lay.stream_channels(s)) for s in range(lay.streams)]
        self._is_lfe = [lay.lfe and s == lay.streams - 1 for s in range(lay.streams)]
        self._coders: list[Any] = []
        # the pitch post-filter is for 1-2 channel streams (its record does not reach sub-streams);
        # sf_predict's does (layout.sub_header), so the option goes to every sub-stream as given
        options["postfilter"] = False
        options.pop("joint_fields", None)  # a 2-channel stream's record, not a multistream one's
        for s, k in enumerate(self._widths):
            if grouped and self._is_lfe[s]:
                self._coders.append(_LfeGroupCoder(self._coders[0].config, LFE_GROUP, lfe))
                continue
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
        self._group: _LfeGroupCoder | None = self._coders[-1] if grouped else None
        if self._group is not None:
            self.latency += (LFE_GROUP - 1) * self.frame_size  # a group waits for its last frame
        self._queues: list[deque[bytes]] = [deque() for _ in self._widths]  # sub-packets to join
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
                                h.window, h.flags, (channel_map_record(self.channels), *shared_records(h),
                                                    *self._group_record()))

    def _group_record(self) -> aqc.Extension:
        g = self._group
        return () if g is None else (aqc.lfe_group_record(g.size, g.bins),)

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
            for q, c, f in zip(self._queues, self._coders, self._feeds, strict=True):
                q.extend(c.drain(f, False, in_count))
            while all(self._queues):
                out.append(self._join(False, 0))
        if final:
            self._ready(pending, True)
            self._feed(pending.view())
            pending.consume(len(pending))
            self._share_bits()
            for q, c, f, lfe in zip(self._queues, self._coders, self._feeds, self._is_lfe, strict=True):
                if not (lfe and self._group is not None):
                    q.extend(c.drain(f, True, in_count))
            if self._group is not None:  # as many frames as the MDCT sub-streams coded
                self._queues[-1].extend(self._group.finish(self._feeds[-1],
                                                           len(self._queues[0]) - len(self._queues[-1])))
            while self._queues[0]:
                out.append(self._join(len(self._queues[0]) == 1, in_count))
            assert not any(self._queues)  # every sub-stream coded the same frames
        return out

    def _join(self, last: bool, in_count: int) -> bytes:
        """One frame's sub-packets, off the queues (the last-packet marker moves to the outer
        TOC) -> a packet."""
        subs = []
        for s, queue in enumerate(self._queues):
            p = queue.popleft()
            if not (self._is_lfe[s] and self._group is not None):  # an MdctEncoder's packet
                p = bytes([p[0] & ~aqc.INFO_LAST & 0xFF]) + p[9:] if p[0] & aqc.INFO_LAST else p
                if len(p) == 1:  # a frame that codes nothing (MdctEncoder.empty_silent)
                    p = b""
            self.stream_bits[s] += 8 * len(p)
            subs.append(p)
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


class _LfeGroupCoder:
    """The LFE in groups of ``size`` frames (:mod:`.layout`, "LFE groups"): long-window MDCTs
    of its feed, the bins below ``LFE_CODED_HZ``, one step per group at ``bitrate``."""

    def __init__(self, config: MdctConfig, size: int, bitrate: float) -> None:
        self.config = c = config
        self.size = size
        self.bins = max(1, min(255, int(LFE_CODED_HZ / (c.sample_rate / 2.0) * c.frame_size)))
        self.bitrate = bitrate
        self._budget = bitrate * size * c.frame_size / c.sample_rate
        self._carry = 0.0  # unspent bits of earlier groups, at most one group's
        self._coefs: list[NDArray[np.float64]] = []  # analysed frames of the open group
        self._window = c.long_window(False, False)
        self._q = np.zeros((size, self.bins), dtype=np.int32)
        self._buf = np.zeros(aqc.MAX_PAYLOAD, dtype=np.uint8)

    def drain(self, feed: Fifo, final: bool, in_count: int) -> list[bytes]:
        """Analyse every frame whose 2N samples are in ``feed``; the sub-packets of each group
        completed (one per frame: the group's, then G - 1 empty ones). ``final``: see
        :meth:`finish`."""
        n = self.config.frame_size
        out: list[bytes] = []
        while len(feed) >= 2 * n:
            out += self._analyse(feed)
        return out

    def finish(self, feed: Fifo, frames: int) -> list[bytes]:
        """The sub-packets of the stream's last ``frames`` frames (those of the open group
        among them; the feed padded with zeros), the last group completed with zero frames
        that no packet carries."""
        n = self.config.frame_size
        out: list[bytes] = []
        for _ in range(frames - len(self._coefs)):
            if len(feed) < 2 * n:
                feed.push(None, zeros=2 * n - len(feed))
            out += self._analyse(feed)
        if self._coefs:
            count = len(self._coefs)
            self._coefs += [np.zeros(self.bins)] * (self.size - count)
            out += self._code()[:count]
        return out

    def _analyse(self, feed: Fifo) -> list[bytes]:
        n = self.config.frame_size
        seg = np.ascontiguousarray(feed.view()[: 2 * n].T)
        self._coefs.append(self.config.analyze(seg, 0)[0, : self.bins].copy())
        feed.consume(n)
        return self._code() if len(self._coefs) == self.size else []

    def _code(self) -> list[bytes]:
        """The open group's sub-packets: the finest step (not below the peak / LFE_PEAK_STEPS)
        whose range-coded group fits the budget and the carry."""
        x = np.stack(self._coefs)
        self._coefs = []
        empty = [b""] * self.size
        budget = self._budget + self._carry
        peak = float(np.max(np.abs(x)))
        if peak <= 0.0:
            self._carry = min(self._budget, budget)
            return empty
        floor = quant.SF_BIAS + 4.0 * np.log2(peak / LFE_PEAK_STEPS)
        lo = int(min(quant.SF_MAX, max(0, np.ceil(floor))))
        hi = quant.SF_MAX
        g_best = hi
        while lo <= hi:  # sizes fall as the step grows: the smallest g that fits
            mid = (lo + hi) // 2
            bits = self._size(x, mid)
            if 8 * bits <= budget:
                g_best, hi = mid, mid - 1
            else:
                lo = mid + 1
        nbytes = self._size(x, g_best)
        self._carry = min(self._budget, max(0.0, budget - 8 * nbytes))
        if not self._q.any():
            return empty
        return [self._buf[:nbytes].tobytes(), *empty[1:]]

    def _size(self, x: NDArray[np.float64], g: int) -> int:
        """Bytes of the group coded at step index ``g`` (its q left in ``self._q``)."""
        a = np.floor(np.abs(x) / float(quant.step_of(g)) + LFE_ROUND)
        self._q[:] = np.copysign(a, x).astype(np.int32)  # |q| <= LFE_PEAK_STEPS: in range
        mag0, sf0, ms0 = entropy.model_tables()
        r = entropy.encode_lfe_group(self._q, g, mag0, sf0, ms0, self._buf)
        if r < 0:
            raise FrameError("LFE group exceeds the format's maximum packet size")
        return int(r)


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
