"""The MDCT mode's encoder: transient decisions, the quantizer strategy's plan,
rate control (CBR with a bit reservoir, or VBR) and payload coding.

Mirror of :class:`audiocodec.core.decoder.MdctDecoder`; the payload layout is
in :mod:`audiocodec.core.layout`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from ..container import aqc, pages
from ..core import entropy, quant
from ..core import postfilter as pf
from ..core.layout import (
    INFO_COARSE_SF,
    INFO_LEFT_SHORT,
    INFO_MS,
    INFO_PITCH,
    INFO_POWER_LAW,
    INFO_RIGHT_SHORT,
    INFO_SHORT,
    FrameStats,
    MdctConfig,
    frame_layout,
)
from ..errors import FrameError, InputError
from . import SIGNALS, rate
from .pitch import MIN_SAMPLE_RATE as MIN_PF_RATE
from .pitch import PitchPrefilter
from .pitch import min_bitrate as min_pf_bitrate
from .quantizers import Plan, Quantizer, fill_bands, make_quantizer, zero_bands
from .signal import SignalClassifier
from .transient import frame_has_attack
from .tuning import DEFAULT_TUNING, AdaptiveTuning

if TYPE_CHECKING:
    from ..stream import Fifo

MIN_BITRATE = 8_000
MAX_BITRATE_PER_CHANNEL = 320_000
#: The bit reservoir holds at most this much of the bitrate (seconds; 6 frames of the default
#: mode, 16 of the 8 ms low-delay frames, which would otherwise lose what speech pauses save).
RESERVOIR_S = 0.128
#: In-band FEC (``fec=True``): the share of each packet's budget that the coarse copy of the
#: previous frame takes (as Opus's LBRR). Low-delay speech at 48k, PESQ-WB / Zimtohrli at 0, 5,
#: 10 % random loss: without 4.25 / 4.62, 3.32 / 4.38, 2.93 / 4.18; with 3.97 / 4.37, 3.77 /
#: 4.20, 3.60 / 4.03. A copy limited to 6 kHz scored the same; at 0.15 the copy (under 6 bytes
#: at 32-48k) no longer fits a useful frame.
FEC_SHARE = 0.25
FEC_MIN_BITS = 48  # a copy smaller than this is not written
#: Scale-factor prediction across frames (``sf_predict``, :mod:`audiocodec.core.entropy`): a
#: frame coded without it at least every this many packets (341 ms of the default mode, 128
#: ms of low delay), which bounds a loss's drift and a seek's pre-roll. On by default outside
#: low delay only: over a lossy link the drift after a loss costs more than the bits save
#: (low delay, 10 % random loss, intra every 16 / 2 packets against none: speech PESQ-WB 2.46 /
#: 2.57 against 2.93, music Zimtohrli 3.27 / 3.61 against 3.63; docs/TUNING.md).
SF_INTRA_INTERVAL = 16


@dataclass
class _RateState:
    reservoir: float = 0.0
    ratio: float = 1.0  # actual/estimated bits, tracked to correct the estimator
    last_g: int = 120

    def coded(self, g: int, est: float, nbytes: int) -> None:
        """After a frame is coded at step ``g``: track the estimator's error, start there next."""
        if est > 64:
            self.ratio = 0.9 * self.ratio + 0.1 * (8 * nbytes / est)
        self.last_g = g


def noise_fill_bin(sample_rate: int, n: int, hz: float) -> int:
    """The ``noise_fill_from`` bin for a lowest filled frequency ``hz``: the bin holding it,
    ``floor(hz * 2n / sample_rate)``, within 0..n."""
    return min(n, max(0, int(hz * 2.0 * n / sample_rate)))


class MdctEncoder:
    """Per-stream MDCT encoding state (the options are the :class:`audiocodec.Encoder`'s)."""

    def __init__(
        self, sample_rate: int, channels: int, *, bitrate: int, quantizer: str, low_delay: bool,
        quality: float | None, block_switching: bool, frame_size: int | None, serial: int,
        dither: bool, tuning: AdaptiveTuning | None,
        observer: Callable[[FrameStats], None] | None, signal: str = "auto",
        postfilter: bool | None = None, fec: bool = False, sf_predict: bool | None = None,
        max_hz: float | None = None, empty_silent: bool = False, joint_fields: bool | None = None,
        **_unused: Any,
    ) -> None:
        max_br = MAX_BITRATE_PER_CHANNEL * channels
        if quality is None and not MIN_BITRATE <= bitrate <= max_br:
            raise InputError(f"bitrate must be {MIN_BITRATE}..{max_br} bit/s, got {bitrate}")
        if quality is not None and not 0 <= quality <= 10:
            raise InputError(f"quality must be 0..10, got {quality}")
        if signal not in SIGNALS:
            raise InputError(f"signal must be one of {SIGNALS}, got {signal!r}")
        self.bitrate = bitrate
        self.quality = quality
        self.dither = dither
        # low delay: 3 dB scale-factor steps (side information is most of a short frame's bits)
        self.coarse_sf = low_delay
        self._observer = observer
        n, ovl = frame_layout(sample_rate, low_delay, frame_size)
        if block_switching and not low_delay and not aqc.mdct_switching_ok(n):
            raise InputError(f"frame size {n} with block switching must be a multiple of "
                             f"{aqc.MDCT_SWITCHING_MULTIPLE} (or turn block switching off)")
        # low delay switches only where its short blocks tile the frame (N / L of L samples)
        switching = block_switching and (not low_delay or (aqc.mdct_switching_ok(n)
                                                            and aqc.mdct_blocks_tile(n, ovl)))
        # zero bands are noise filled from this bin up (the noise_fill_from record)
        fill_hz = (tuning or DEFAULT_TUNING).noise_fill_from_hz(n / sample_rate)
        self.config = c = MdctConfig(sample_rate, channels, n, ovl, "kbd", switching,
                                     noise_fill_bin(sample_rate, n, fill_hz))
        self.frame_size = n
        self.delay = c.delay
        # a band-limited sub-stream (the LFE): long blocks only, and no bin above max_hz is
        # coded (its low-pass leaves a -60 dB stopband that the model would otherwise code)
        self._cut_bin = None if max_hz is None else int(np.ceil(max_hz / (sample_rate / 2.0) * n))
        self.latency = n + c.overlap + (n if c.block_switching and c.switch_lookahead else 0)
        equiv = bitrate if quality is None else 16000.0 * channels * (1 + quality / 2)
        self._q: Quantizer = make_quantizer(quantizer, c, equiv, tuning)
        # the speech weight the quantizer shapes for: a fixed hint, or the running estimate
        self._classifier = SignalClassifier(sample_rate) if signal == "auto" else None
        self._q.speech = 1.0 if signal == "speech" else 0.0
        self._frame_index = 0
        self._short_flags: dict[int, bool] = {}
        self._prev_right_short = False
        self._rate = _RateState()
        self._g_hi = quant.SF_MAX  # the coarsest global index worth coding (_search_g)
        self._buf = np.zeros(aqc.MAX_PAYLOAD, dtype=np.uint8)
        self._qbuf = np.zeros((channels, n), dtype=np.int32)
        self._sf = np.zeros((channels, c.max_bands), dtype=np.int32)
        self._nbc = np.zeros(channels, dtype=np.int32)
        self._nf = np.zeros(channels, dtype=np.int32)  # the payload's nf and g fields
        self._g = np.zeros(channels, dtype=np.int32)
        self._mag = np.zeros((channels, n))
        self._no_dither = np.zeros((channels, n))
        self._dither_rng = np.random.default_rng(serial)
        # the pitch pre-filter (and the decoder's post-filter): by default in low delay, whose
        # 62.5 Hz bins cannot resolve a voice's harmonics (module docstring of encoder.pitch)
        use_pf = (low_delay and equiv >= min_pf_bitrate(sample_rate, n, channels)
                  and sample_rate >= MIN_PF_RATE if postfilter is None else bool(postfilter))
        self._pitch = (PitchPrefilter(channels, sample_rate, n, ovl, pf.reset_interval(sample_rate, n))
                       if use_pf else None)
        self._pf_bits = pf.period_bits(sample_rate, n, ovl)
        self._pf_fields = (0, -1)  # this frame's (T - T_min, gain index)
        # scale factors predicted from the last frame (the decoder's reference, entropy.py)
        # by default not in low delay, the mode of lossy links: see SF_INTRA_INTERVAL
        use_sfp = (not low_delay) if sf_predict is None else bool(sf_predict)
        self.sf_interval = SF_INTRA_INTERVAL if use_sfp else None
        self._ref = np.zeros((channels, c.max_bands), dtype=np.int32)  # S (entropy.store_reference)
        self._ref_short: bool | None = None  # None: no reference yet
        self._ref_prev_short: bool | None = None  # the block type of the reference's reference
        self._pred = -1 if self.sf_interval is None else 0  # this frame's prediction mode
        # in-band FEC: each packet ends with the previous frame's coarse copy and its length
        self.fec = bool(fec)
        # a multistream sub-stream: a frame that codes nothing goes out as its info byte alone,
        # which the multistream packet sends as an empty sub-packet (multistream.layout)
        self.empty_silent = bool(empty_silent) and not self.fec
        # a second channel's g and band count as differences from the first's (the
        # joint_fields record); multistream sub-streams code them raw (its header has no record)
        self.joint_fields = channels == 2 and (joint_fields is None or bool(joint_fields))
        self._fec_rate = _RateState()
        self._fec_section = b""  # the copy the next packet carries
        if self.fec and quality is None and FEC_SHARE * self._frame_budget() - 8 < FEC_MIN_BITS:
            need = (FEC_MIN_BITS + 8) / FEC_SHARE + pages.framing_bits(n, sample_rate, 64.0, self.sf_interval)
            raise InputError(f"fec needs {need * sample_rate / n / 1000:.0f}+ kbit/s with {n}-sample "
                             f"frames (its copy would not fit), got {bitrate / 1000:g}k")
        self._load_kernels()

    def _load_kernels(self) -> None:
        """Call, once, the kernels the rate loop reaches only from Python on rare paths (the
        real-coder fallback, VBR), so their numba code is loaded (or compiled) now and never
        inside a live audio callback: loading one there took long enough for an xrun."""
        if self._classifier is not None:
            self._classifier.warm_up()
        c = self.config
        edges = c.edges_long
        nb = len(edges) - 1
        sf = self._sf[:, :nb]
        fixed = np.full(sf.shape, -1, np.int32)
        rate.make_sf(np.zeros(sf.shape, np.int32), 120, nb, fixed, sf, self.coarse_sf)
        rate.quantize_mag(self._mag, self._mag, self._no_dither, sf, edges, nb, quant.LAW_POWER,
                          self._qbuf)
        rate.estimate_bits(self._qbuf, sf, edges, nb, self.coarse_sf, self._ref, 1)
        rate.coded_bands(self._qbuf, edges, nb, self._nbc)
        rate.side_bits(self._sf, self._nbc, self._ref, self.coarse_sf, 1)
        rate.noise_fields(self._mag, self._qbuf, self._sf, edges, self._nbc, c.nf_start, self._nf,
                          self._nf)
        entropy.store_reference(self._sf, self._nbc, nb, np.zeros_like(self._ref))
        fill_bands(self._qbuf, edges, nb, c.nf_start, fixed, np.zeros(c.channels, np.int32),
                   np.zeros(fixed.shape, np.bool_), nb, np.zeros(c.channels, np.int32))
        zero_bands(self._qbuf, edges, np.zeros(fixed.shape, np.bool_))
        rate.match_energy(self._mag, self._qbuf, sf, edges, nb, quant.LAW_POWER, self.coarse_sf, 1.0, 2)

    def _match_energy(self, coefs: NDArray[np.float64], q: NDArray[np.int32], sf: NDArray[np.int32],
                      edges: NDArray[np.int32], nb: int, law: int) -> None:
        """The strategy's energy match of the coded bands (:func:`rate.match_energy`), if any."""
        share, most = self._q.energy_match
        if share > 0:
            rate.match_energy(coefs, q, sf, edges, nb, law, self.coarse_sf, share, most)

    def capacity(self) -> int:
        return 4 * self.frame_size + self.config.pad

    def lead_in(self) -> int:
        return self.config.pad

    def header(self, total: int, serial: int) -> aqc.StreamHeader:
        c = self.config
        br = 0 if self.quality is not None else int(self.bitrate)
        ext: aqc.Extension = ((aqc.pitch_filter_record(self._pitch.interval),)
                              if self._pitch is not None else ())
        ext += ((aqc.TAG_FEC, b""),) if self.fec else ()
        ext += (aqc.sf_predict_record(self.sf_interval),) if self.sf_interval is not None else ()
        ext += ((aqc.TAG_JOINT_FIELDS, b""),) if self.joint_fields else ()
        ext += (aqc.noise_fill_record(c.nf_start),)
        return aqc.StreamHeader(aqc.MODE_MDCT, c.channels, c.sample_rate, c.frame_size, c.overlap,
                                c.delay, br, total, serial, 1,
                                aqc.FLAG_BLOCK_SWITCHING if c.block_switching else 0, ext)

    def _need(self) -> int:
        c = self.config
        n = c.frame_size
        return 3 * n if c.block_switching and c.switch_lookahead else 3 * n // 2 + c.overlap // 2

    def drain(self, pending: Fifo, final: bool, in_count: int) -> list[bytes]:
        """Code every frame whose samples (and look-ahead) are in ``pending``."""
        c = self.config
        n = c.frame_size
        need = self._need()
        payloads: list[bytes] = []
        if final:
            total_frames = -(-(in_count + c.overlap) // n)
            # pad with zeros so every remaining frame has its look-ahead
            have = len(pending)
            left = total_frames - self._frame_index
            want = (left - 1) * n + need if left > 0 else 0
            if want > have:
                pending.push(None, zeros=want - have)
            for i in range(left):
                payloads.append(self._encode_frame(pending, i == left - 1, in_count))
                pending.consume(n)
            return payloads
        while len(pending) >= need:
            payloads.append(self._encode_frame(pending, False, in_count))
            pending.consume(n)
        return payloads

    def _is_short(self, pending: Fifo, t: int) -> bool:
        """Transient decision for frame t (cached; frame t's data starts at pending offset)."""
        if not self.config.block_switching or self._cut_bin is not None:
            return False
        if t not in self._short_flags:
            n = self.config.frame_size
            off = (t - self._frame_index) * n
            seg = pending.view()[off : off + 2 * n]
            self._short_flags[t] = frame_has_attack(seg, self.config)
            for k in [k for k in self._short_flags if k < t - 2]:
                del self._short_flags[k]
        return self._short_flags[t]

    def _encode_frame(self, pending: Fifo, last: bool, in_count: int) -> bytes:
        c = self.config
        n = c.frame_size
        t = self._frame_index
        pitch = self._pitch
        if pitch is not None:  # the window's samples, through the comb (block t + 1's first L)
            pitch.process(pending.view(), t, min(len(pending), 2 * n - (n - c.overlap) // 2))
            self._pf_fields = pitch.coded(t)
        seg = pending.view()[: 2 * n].T  # (C, 2N)
        if seg.shape[1] < 2 * n:
            # low-overlap windows are zero past 3N/2 + L/2: those samples need not have arrived
            seg = np.concatenate((seg, np.zeros((c.channels, 2 * n - seg.shape[1]))), axis=1)
        short = self._is_short(pending, t)
        if short and not c.switch_lookahead and not self._q.settled:
            short = False  # low delay: not at a stream's start (docs/TUNING.md, short blocks)
        ahead = not last and c.block_switching and c.switch_lookahead
        next_short = self._is_short(pending, t + 1) if ahead else False
        info = 0
        if short:
            info |= INFO_SHORT
        else:
            if self._prev_right_short:
                info |= INFO_LEFT_SHORT
            if next_short:
                info |= INFO_RIGHT_SHORT
        self._prev_right_short = (short or next_short) and c.switch_lookahead
        if self._classifier is not None:  # the hop of new samples that every frame has
            a = t * n + n // 2
            hop = seg[:, n // 2 : n // 2 + n] if pitch is None else pitch.raw(a, a + n)
            self._q.speech = self._classifier.update(hop)
        coefs = c.analyze(np.ascontiguousarray(seg), info)
        if self._cut_bin is not None:
            coefs[:, self._cut_bin :] = 0.0
        payload = self._code_frame(coefs, info, last, in_count)
        self._frame_index += 1
        return payload

    def _frame_budget(self) -> float:
        """Bits this frame's packet (TOC byte and payload) may spend (CBR with reservoir): the
        bitrate's share less what the ``.aqc`` pages add per packet, so a file comes out at the
        bitrate asked (over RTP, whose headers are not counted, packets run that much under)."""
        c = self.config
        per_frame = self.bitrate * c.frame_size / c.sample_rate
        framing = pages.framing_bits(c.frame_size, c.sample_rate, per_frame / 8.0, self.sf_interval)
        return per_frame - framing

    def _code_frame(self, coefs: NDArray[np.float64], info: int, last: bool, in_count: int) -> bytes:
        c = self.config
        short = bool(info & INFO_SHORT)
        edges = c.edges(short)
        nb = len(edges) - 1
        plan = self._q.plan(coefs, short)
        info |= plan.info | (INFO_COARSE_SF if self.coarse_sf else 0)
        if self._pf_fields[1] >= 0:
            info |= INFO_PITCH
        coefs = plan.coefs
        offsets = plan.offsets
        fixed = plan.fixed if plan.fixed is not None else np.full(offsets.shape, -1, np.int32)
        law = quant.LAW_POWER if info & INFO_POWER_LAW else quant.LAW_UNIFORM
        if self.sf_interval is not None:  # may this frame predict its scale factors?
            # not in the first two frames of a block type: a decoder that lost the first would
            # otherwise hold a reference of the other type until the next intra frame
            self._pred = int(self._frame_index % self.sf_interval != 0 and self._ref_short == short
                             and self._ref_prev_short == short)
        head = aqc.pack_info(info, last, in_count)
        tail = self._fec_section + bytes([len(self._fec_section)]) if self.fec else b""
        spare = dataclasses.replace(plan, offsets=plan.offsets.copy(),
                                    noise_fill=plan.noise_fill.copy()) if self.fec else plan
        sf = self._sf[:, :nb]
        q = self._qbuf
        rate.magnitudes(coefs, law, self._mag)
        dither = self._dither_for_frame(law)
        if self.quality is not None:
            g = int(round(self._q.quality_to_g(self.quality)))
            rate.make_sf(offsets, g, nb, fixed, sf, self.coarse_sf)
            rate.quantize_mag(coefs, self._mag, dither, sf, edges, nb, law, q)
            self._match_energy(coefs, q, sf, edges, nb, law)
            nbytes = self._payload(q, sf, edges, nb, plan)
        else:
            nbytes = self._rate_loop(coefs, dither, plan, edges, nb, law, len(head) + len(tail), fixed)
        silent = (self.empty_silent and not self._nbc.any()
                  and not info & (INFO_SHORT | INFO_LEFT_SHORT | INFO_RIGHT_SHORT | INFO_PITCH))
        if silent:  # nothing coded: no payload, and the frame is no one's reference
            nbytes = 0
        self._observe(info, short, edges, sf, 8 * (nbytes + len(head) + len(tail)))
        packet = head + self._buf[:nbytes].tobytes() + tail
        if self.sf_interval is not None and not silent:  # what the decoder will predict from
            entropy.store_reference(self._sf, self._nbc, nb, self._ref)
            self._ref_prev_short, self._ref_short = self._ref_short, short
        if self.fec:
            self._fec_section = b"" if last else self._redundant(coefs, dither, spare, info, edges, nb,
                                                                 law)
        return packet

    def _redundant(self, coefs: NDArray[np.float64], dither: NDArray[np.float64], plan: Plan,
                   info: int, edges: NDArray[np.int32], nb: int, law: int) -> bytes:
        """This frame's coarse copy for the next packet (its info byte and payload, at most
        255 bytes): the same plan at ``FEC_SHARE`` of the packet budget, its own rate tracking."""
        cap = min(8.0 * 254, FEC_SHARE * self._frame_budget() - 8.0)
        if cap < FEC_MIN_BITS:
            return b""
        fixed = plan.fixed if plan.fixed is not None else np.full(plan.offsets.shape, -1, np.int32)
        fr = self._fec_rate
        if self._pred == 1:
            self._pred = 0  # a copy stands in for a lost packet: it predicts from nothing
        g = self._search_g(coefs, dither, plan.offsets, fixed, edges, nb, law, cap / max(0.5, fr.ratio),
                           fr.last_g)
        g, est, nbytes = self._fit_payload(coefs, dither, plan, edges, nb, law, fixed, g, cap)
        fr.coded(g, est, nbytes)
        if nbytes > 254:
            return b""
        return bytes([info & ~aqc.INFO_LAST]) + self._buf[:nbytes].tobytes()

    def _rate_loop(self, coefs: NDArray[np.float64], dither: NDArray[np.float64], plan: Plan,
                   edges: NDArray[np.int32], nb: int, law: int, head_bytes: int,
                   fixed: NDArray[np.int32]) -> int:
        """CBR: the global step that fits the frame's budget; returns the payload bytes coded."""
        rs = self._rate
        sf = self._sf[:, :nb]
        q, mag = self._qbuf, self._mag
        offsets = plan.offsets
        per_frame = self._frame_budget()
        max_res = max(6.0 * per_frame, RESERVOIR_S * self.bitrate)
        budget = per_frame + plan.demand * rs.reservoir
        budget -= self._pf_bits + pf.GAIN_BITS if self._pf_fields[1] >= 0 else 0
        budget = max(8.0, budget - 8 * head_bytes)  # payload bits
        # galloping search on g with the estimator, corrected by the tracked ratio
        target = budget / max(0.5, rs.ratio)
        g = self._search_g(coefs, dither, offsets, fixed, edges, nb, law, target, rs.last_g)
        if self._q.refine(plan, sf, edges):
            offsets = plan.offsets
            g = self._search_g(coefs, dither, offsets, fixed, edges, nb, law, target, g)
        exact = self._q.exact_fill(plan, q, edges, nb, fixed)
        if exact is not fixed:
            fixed = exact
            rate.make_sf(offsets, g, nb, fixed, sf, self.coarse_sf)
            rate.quantize_mag(coefs, mag, dither, sf, edges, nb, law, q)
            if plan.fill_sel is not None:
                zero_bands(q, edges, plan.fill_sel)
        g, est, nbytes = self._fit_payload(coefs, dither, plan, edges, nb, law, fixed, g,
                                           max(per_frame + max(0.0, rs.reservoir) - 8 * head_bytes, 64.0))
        rs.reservoir = min(max_res, rs.reservoir + per_frame - 8 * (nbytes + head_bytes))
        rs.coded(g, est, nbytes)
        return nbytes

    def _search_g(self, coefs: NDArray[np.float64], dither: NDArray[np.float64],
                  offsets: NDArray[np.int32], fixed: NDArray[np.int32], edges: NDArray[np.int32],
                  nb: int, law: int, target: float, guess: int) -> int:
        """``rate.search_g``, never past ``rate.zero_g`` (kept in ``_g_hi`` for the fit):
        ``sf`` and ``q`` are left for the returned index."""
        sf, q = self._sf[:, :nb], self._qbuf
        self._g_hi = g_hi = rate.zero_g(self._mag, offsets, fixed, edges, nb, law)
        g = rate.search_g(coefs, self._mag, dither, offsets, fixed, edges, nb, law, target,
                          min(guess, g_hi), sf, q, self.coarse_sf, self._ref, self._pred)
        if g > g_hi:  # nothing fits below it: code the frame there, over its budget
            g = g_hi
            rate.make_sf(offsets, g, nb, fixed, sf, self.coarse_sf)
            rate.quantize_mag(coefs, self._mag, dither, sf, edges, nb, law, q)
        return g

    def _fit_payload(self, coefs: NDArray[np.float64], dither: NDArray[np.float64], plan: Plan,
                     edges: NDArray[np.int32], nb: int, law: int, fixed: NDArray[np.int32], g: int,
                     cap: float) -> tuple[int, float, int]:
        """Code the frame at the searched ``g``; if the real payload exceeds ``cap`` bits (the
        estimate was low), the smallest coarser ``g`` that fits, by galloping and bisection on
        the real coder: at most ``2 log2(SF_MAX) + 2`` codings, one in nearly every frame.
        Returns ``(g, estimated bits, payload bytes)``; the buffers hold that coding."""
        sf = self._sf[:, :nb]
        q, mag = self._qbuf, self._mag
        g_hi = max(g, self._g_hi)  # the coarsest index worth coding (see _search_g)

        def attempt(t: int, requantize: bool) -> tuple[bool, float, int]:
            if requantize:
                rate.make_sf(plan.offsets, t, nb, fixed, sf, self.coarse_sf)
                rate.quantize_mag(coefs, mag, dither, sf, edges, nb, law, q)
                if plan.fill_sel is not None:
                    zero_bands(q, edges, plan.fill_sel)
            self._match_energy(coefs, q, sf, edges, nb, law)
            est = rate.estimate_bits(q, sf, edges, nb, self.coarse_sf, self._ref, self._pred)
            nbytes = self._payload(q, sf, edges, nb, plan, at_top=t >= g_hi)
            return (8 * nbytes <= cap and est < 1e29) or t >= g_hi, est, nbytes

        ok, est, nbytes = attempt(g, False)
        if ok:
            return g, est, nbytes
        lo, span = g, 1  # lo: known not to fit
        while True:
            hi = min(g_hi, lo + span)
            ok, est, nbytes = attempt(hi, True)
            if ok:
                break
            lo, span = hi, 2 * span
        last = hi
        while hi - lo > 1:
            mid = (lo + hi) // 2
            ok, e_mid, n_mid = attempt(mid, True)
            last = mid
            if ok:
                hi, est, nbytes = mid, e_mid, n_mid
            else:
                lo = mid
        if last != hi:
            _, est, nbytes = attempt(hi, True)
        return hi, est, nbytes

    def _observe(self, info: int, short: bool, edges: NDArray[np.int32], sf: NDArray[np.int32],
                 bits: int) -> None:
        if self._observer is not None:
            self._observer(FrameStats(self._frame_index, bits, info, short, edges, self._nbc, sf,
                                      self._qbuf))

    def _dither_for_frame(self, law: int) -> NDArray[np.float64]:
        """TPDF dither in step units (sum of two uniform +-1/2) for the uniform law, else zeros."""
        if not self.dither or law != quant.LAW_UNIFORM:
            return self._no_dither
        shape = self._no_dither.shape
        return self._dither_rng.random(shape) - self._dither_rng.random(shape)

    def _payload(self, q: NDArray[np.int32], sf: NDArray[np.int32], edges: NDArray[np.int32], nb: int,
                 plan: Plan, at_top: bool = False) -> int:
        rate.coded_bands(q, edges, nb, self._nbc)
        if plan.fill_top is not None:  # the speech noise band: coded bands that are all noise
            np.maximum(self._nbc, plan.fill_top, out=self._nbc)
        nf, g = self._nf, self._g
        sf = self._sf  # all bands: the kernels read bands below nb only (a view would copy)
        rate.noise_fields(plan.coefs, q, sf, edges, self._nbc, self.config.nf_start, plan.noise_fill,
                          nf)
        # no band's fill may swamp it (rate.cap_fill): a voice's exact fill has its own cap
        # (AdaptiveTuning.speech_fill_cap); every other frame, and one coded at zero_g, FILL_CAP
        cap = self._q.fill_cap if self._q.fill_cap > 0 and not at_top else rate.FILL_CAP
        rate.cap_fill(plan.coefs, q, sf, edges, self._nbc, self.config.nf_start, nf, self.coarse_sf, cap)
        g[:] = sf[:, 0]
        pred = self._pred
        if pred == 1:  # predict when the estimate says it is cheaper (and the residuals fit)
            intra, predicted = rate.side_bits(sf, self._nbc, self._ref, self.coarse_sf, 1)
            pred = int(predicted < intra)
        mag0, sf0, ms0 = entropy.model_tables()
        r = entropy.encode_payload(
            q, sf, g, self._nbc, nf, plan.ms_flags,
            bool(plan.info & INFO_MS), self.coarse_sf, edges, mag0, sf0, ms0, self._buf,
            self._pf_bits, *self._pf_fields, self._ref, pred, self.joint_fields,
        )
        if r < 0:
            raise FrameError("frame payload exceeds the format's maximum frame size")
        return int(r)
