"""Quantizer strategies: what each frame's step sizes look like before rate control.

A strategy turns one frame's MDCT coefficients into a :class:`Plan`: the
per-band step-size *shape* (offsets in 1.5 dB units, the rate loop adds the
global index), the quantization law, the stereo coding and the noise-fill
level. Encoder-only; the decoder's mirror of what a plan asks for is
:func:`audiocodec.quant.reconstruct`.

* ``uniform``: every band gets the same step (noise spread evenly, white),
  plain rounding. The baseline.
* ``nonuniform``: the same flat steps with the power-law (3/4) companding
  quantizer; no model.
* ``adaptive``: steps from the psychoacoustic model so that the noise in each
  band sits at the same distance below its masking threshold (equal
  noise-to-mask ratio), power-law quantizer, noise filling of bands quantized
  to zero, bit-reservoir demand from perceptual entropy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numba import njit
from numpy.typing import NDArray

from ..core.bands import SHORT_HOP_BIN_HZ
from ..core.layout import INFO_MS, INFO_POWER_LAW
from ..core.quant import SF_BIAS, SF_MAX, step_of
from . import QUANTIZERS
from .stereo import lr_to_ms_auto
from .tuning import DEFAULT_TUNING, AdaptiveTuning, ramp

if TYPE_CHECKING:
    from ..core.layout import MdctConfig

# noise-fill RMS relative to the band's step, index 1..7 (0 = off): k/16
NF_LEVELS = np.arange(8) / 16.0


@dataclass
class Plan:
    """What the encoder codes for one frame (before the rate loop picks ``g``)."""

    coefs: NDArray[np.float64]  # (C, N) possibly M/S-rotated
    offsets: NDArray[np.int32]  # (C, nb) step shape
    info: int  # INFO_POWER_LAW | INFO_MS
    noise_fill: NDArray[np.int32]  # (C,)
    ms_flags: NDArray[np.uint8]  # (nb,)
    demand: float  # share of the bit reservoir this frame may take (0..1)
    fixed: NDArray[np.int32] | None = None  # (C, nb) absolute sf for substituted bands, -1 = none
    # the exact noise fill's bands (C, nb), kept at zero by the rate loop, and the coded-band
    # count they need (C,) (the speech noise band reaches past the last nonzero band)
    fill_sel: NDArray[np.bool_] | None = None
    fill_top: NDArray[np.int32] | None = None


class Quantizer:
    """Base strategy: flat steps. Subclasses override :meth:`shape`."""

    name = "uniform"
    law_info = 0
    use_ms = True
    speech = 0.0  # speech weight 0..1 of the current frame, set by the encoder (state)
    energy_match: tuple[float, int] = (0.0, 0)  # (share, most steps): rate.match_energy, off

    @property
    def fill_cap(self) -> float:
        """This frame's cap on a noise-filled band's fill, in multiples of the band's own RMS
        (:func:`audiocodec.encoder.rate.cap_fill`); 0: the encoder's ``rate.FILL_CAP``."""
        return 0.0

    @property
    def settled(self) -> bool:
        """Past a stream's start, where the quantizer's running estimates are still forming."""
        return True

    def __init__(self, config: MdctConfig, bitrate: float = 96000.0):
        self.config = config
        self.bitrate = bitrate

    def plan(self, coefs: NDArray[np.float64], short: bool) -> Plan:
        c = self.config
        edges = c.edges(short)
        nb = len(edges) - 1
        info = self.law_info
        ms = np.zeros(nb, dtype=np.uint8)
        lr = coefs
        if self.use_ms and coefs.shape[0] == 2:
            coefs, ms = lr_to_ms_auto(coefs, edges)
            if ms.any():
                info |= INFO_MS
        offsets, nf, demand = self.shape(coefs, lr, short, edges, ms)
        return Plan(coefs, offsets, info, nf, ms, demand, self._fixed)

    _fixed: NDArray[np.int32] | None = None

    def shape(
        self, coefs: NDArray[np.float64], lr: NDArray[np.float64], short: bool, edges: NDArray[np.int32],
        ms: NDArray[np.uint8],
    ) -> tuple[NDArray[np.int32], NDArray[np.int32], float]:
        """Step shape, noise-fill flags and reservoir demand of one frame.

        ``coefs`` are the channels as coded (M/S-rotated in the bands ``ms`` flags),
        ``lr`` the same frame before rotation (what the ear hears).
        """
        nb = len(edges) - 1
        return (np.zeros((coefs.shape[0], nb), np.int32), np.zeros(coefs.shape[0], np.int32), 0.5)

    def refine(self, plan: Plan, sf: NDArray[np.int32], edges: NDArray[np.int32]) -> bool:
        """After a first rate search: adjust the plan; True asks for another search."""
        return False

    def exact_fill(self, plan: Plan, q: NDArray[np.int32], edges: NDArray[np.int32], nb: int,
                   fixed: NDArray[np.int32]) -> NDArray[np.int32]:
        """After the rate search: the plan's fixed steps, or a new array that also fixes the
        bands to noise-fill at their own energy (``plan.noise_fill`` updated to match)."""
        return fixed

    def quality_to_g(self, quality: float) -> float:
        """VBR: quality 0..10 to a global step index (10 = finest).

        Calibrated on the SQAM guitar and castanets items with the adaptive
        quantizer: quality 0 is about 16 kbit/s, 5 about 110, 10 about 330 (stereo).
        """
        return SF_BIAS - 12.0 - 3.2 * quality


class NonUniformQuantizer(Quantizer):
    name = "nonuniform"
    law_info = INFO_POWER_LAW


def bandwidth_hz(bits_per_channel: float, scale: float = 1.0) -> float:
    """Audio bandwidth the adaptive quantizer codes at a per-channel bitrate.

    Piecewise-linear (kbit/s per channel -> kHz): 8 -> 9, 12 -> 14, 16 and
    up -> 22. Measured here with ViSQOL on the SQAM items: at 16 and 32
    kbit/s per channel every lower cut-off (AAC-like 10.5-14 kHz) scored worse
    than the full band, so the cut only applies at very low rates. ``scale``
    multiplies the bitrate first (a tuning knob).
    """
    pts_b = [8000, 12000, 16000]
    pts_f = [9000, 14000, 22000]
    return float(np.interp(bits_per_channel * scale, pts_b, pts_f))


class AdaptiveQuantizer(Quantizer):
    """Steps follow the masking threshold (equal NMR across bands).

    Also: bandwidth from the bitrate (:func:`bandwidth_hz`), and at low rates
    perceptual noise substitution: noise-like bands from ``config.nf_start`` up are
    sent as a step size only and rebuilt by the decoder's noise filling at the
    band's own level.
    """

    name = "adaptive"
    law_info = INFO_POWER_LAW

    def __init__(self, config: MdctConfig, bitrate: float = 96000.0,
                 tuning: AdaptiveTuning = DEFAULT_TUNING):
        super().__init__(config, bitrate)
        self.tuning = t = tuning
        self.law_info = INFO_POWER_LAW if t.power_law else 0
        hop_s = config.frame_size / config.sample_rate
        self.energy_match = (t.energy_share(bitrate / config.channels, hop_s), t.energy_match_steps)
        from psychoacoustics import PsychoModel

        n = config.frame_size
        per_ch = bitrate / config.channels
        self._models = {
            s: PsychoModel(config.sample_rate, n, config.edges(s), ath_max_db=t.ath_cap_db,
                           full_scale_db=t.full_scale_db,
                           min_offset_db=self._floor(s, per_ch) if t.minval_db > 0 else None,
                           max_offset_db=t.tmn_max_db if t.tmn_max_db > 0 else None)
            for s in (False, True)
        }
        cut_bin = int(bandwidth_hz(per_ch, t.bw_scale) / (config.sample_rate / 2.0) * n)
        self._cut_band = {s: int(np.searchsorted(config.edges(s), cut_bin)) for s in (False, True)}
        self._pns = per_ch <= t.pns_max_bps
        # the music cap on the tonal offset, from tmn_low_rate_db to tmn_max_db over tmn_music_bps
        self._tmn_music = float(np.interp(per_ch, t.tmn_music_bps, (t.tmn_low_rate_db, t.tmn_max_db)))
        self._nf_start = config.nf_start
        self._fill_sel = np.zeros((config.channels, len(config.edges_long) - 1), np.bool_)
        self._pe_avg = 0.0
        self._fill_top = np.zeros(config.channels, np.int32)
        hz = config.sample_rate / 2.0 / n
        # first band of the noise band (nb: none), by block type and speech frame or not
        self._noise_lo = {
            (s, sp): int(np.searchsorted(
                config.edges(s) * hz, t.noise_band_hz(per_ch, n / config.sample_rate, sp,
                                                      config.sample_rate)))
            for s in (False, True) for sp in (False, True)}
        self._noise_speech = False  # this frame's choice of noise band (state)
        self._short = False  # this frame's block type (state)
        below, above, from_bps, to_bps = t.speech_fill_cap
        self._speech_fill_cap = below if per_ch < from_bps else above if per_ch < to_bps else 0.0
        self._music_band = False  # a music frame with the noise band on
        self._hop_s = n / config.sample_rate
        self._elapsed_s = 0.0  # stream time shaped so far
        self._widths = {s: np.diff(config.edges(s)).astype(np.float64) for s in (False, True)}
        # the high-rate depth only with long hops: at the low-delay hop's coarse bands it cost
        # ViSQOL 0.03 at 96 kbit/s
        long_hop = config.sample_rate / 2.0 / n <= SHORT_HOP_BIN_HZ
        self._alpha = t.music_alpha(per_ch, long_hop=long_hop)
        self._alpha_voice = t.music_alpha(per_ch, mid=False, long_hop=long_hop)
        self._alphas = {s: np.ones(len(config.edges(s)) - 1) for s in (False, True)}
        lo_bps, hi_bps = t.speech_bps
        self._speech_gain = ramp(per_ch, lo_bps, hi_bps)
        self._speech_alpha, top = ((t.speech_alpha, t.speech_alpha_top_hz) if long_hop
                                   else t.speech_alpha_short_hop)
        self._speech_bands = {s: int(np.searchsorted(config.edges(s) * hz, top))
                              for s in (False, True)}

    def _floor(self, short: bool, per_ch: float) -> Callable[[NDArray[np.float64]], NDArray[np.float64]]:
        top = self.tuning.floor_top_bark(per_ch, short)
        db = self.tuning.floor_db(per_ch, self.config.frame_size / self.config.sample_rate)
        return lambda bark: self.tuning.min_offset(bark, top, db)

    def shape(
        self, coefs: NDArray[np.float64], lr: NDArray[np.float64], short: bool, edges: NDArray[np.int32],
        ms: NDArray[np.uint8],
    ) -> tuple[NDArray[np.int32], NDArray[np.int32], float]:
        nb = len(edges) - 1
        cut = self._cut_band[short]
        rotated = lr is not coefs
        if cut < nb:
            coefs[:, edges[cut]:] = 0.0  # plan.coefs is a private copy or rotation
            if rotated:
                lr = lr.copy()
                lr[:, edges[cut]:] = 0.0
        # The ear hears L and R, not M and S: the model masks the unrotated spectra, and an M/S
        # band takes the stricter of the L and R thresholds for both of its channels (the
        # noise of M and of S each lands in both L and R).
        t = self.tuning
        music = self._tmn_music
        cap = music + self.speech * (t.tmn_max_db_speech - music) if t.tmn_max_db > 0 else None
        res = self._models[short].analyze(lr, max_offset_db=cap)  # batch over channels: (C, nb)
        thr = np.asarray(res.threshold, dtype=np.float64)
        offsets = np.empty(thr.shape, np.int32)
        silent = np.empty(thr.shape, np.bool_)
        energy = np.empty(thr.shape)
        width = self._widths[short]
        alphas = self._alphas[short]
        # a music frame (the classifier's weight, once it has had time to hear a voice) takes
        # the music depth, a voice the depth without shape_alpha_mid
        music = 1.0 - self.speech if self._elapsed_s > t.music_band_wait_s else 0.0
        alphas[:] = self._alpha_voice + music * (self._alpha - self._alpha_voice)
        speech = self.speech * self._speech_gain
        if speech > 0:
            alphas[: self._speech_bands[short]] += speech * (self._speech_alpha - alphas[0])
        _shape_kernel(coefs, edges, thr, width, ms, alphas, t.silent_boost, offsets, silent, energy)
        nf = np.zeros(coefs.shape[0], np.int32)
        self._fixed = None
        self._short = short
        if t.noise_fill:
            nf[:] = 1  # enabled; quant.noise_levels sets the level after the rate loop
            if self._pns and not short:
                lo = edges[:-1]
                tonal = np.asarray(res.tonality, dtype=np.float64)
                sub = (lo >= self._nf_start) & (np.arange(nb) < cut) & ~silent & (tonal < t.pns_tonality)
                if sub.any():
                    rms = np.sqrt(np.maximum(energy, 1e-30) / width)
                    sf_abs = np.round(4.0 * np.log2(rms / NF_LEVELS[t.pns_level]) + SF_BIAS)
                    self._fixed = np.where(sub, np.clip(sf_abs, 0, 255), -1).astype(np.int32)
                    nf[sub.any(axis=1)] = t.pns_level + 8  # flag: fixed level, see Encoder
        self._energy = energy
        top = self._fill_top
        top[:] = 0
        hi = min(cut, nb)
        self._noise_speech = sp = speech >= 0.5  # the rule of nf_exact_level
        # music: no band until the classifier has had time to hear a voice (it starts at music)
        self._elapsed_s += self._hop_s
        on = self._noise_lo[short, sp] < hi and (sp or self._elapsed_s > t.music_band_wait_s)
        self._music_band = on and not sp
        if on:  # the noise band ends at the last audible band
            live = ~silent[:, :hi]
            top[:] = np.where(live.any(axis=1), hi - np.argmax(live[:, ::-1], axis=1), 0)
        pe = float(np.sum(res.pe))
        self._pe_avg = pe if self._pe_avg == 0 else 0.95 * self._pe_avg + 0.05 * pe
        demand = min(max(0.25 + 0.5 * (pe / max(self._pe_avg, 1.0) - 1.0), 0.05), 1.0)
        if short:
            demand = 1.0
        return offsets, nf, demand

    @property
    def fill_cap(self) -> float:
        return self._speech_fill_cap if self._noise_speech else 0.0

    @property
    def settled(self) -> bool:
        """Past the stream's first ``music_band_wait_s`` (the classifier's and the perceptual
        entropy's running estimates are still forming before)."""
        return self._elapsed_s > self.tuning.music_band_wait_s

    def exact_fill(self, plan: Plan, q: NDArray[np.int32], edges: NDArray[np.int32], nb: int,
                   fixed: NDArray[np.int32]) -> NDArray[np.int32]:
        """Noise fill at each band's energy (``tuning.nf_exact``, ``tuning.speech_nf_exact``)."""
        lvl = self.tuning.nf_exact_level(self.speech * self._speech_gain)
        if not (self._noise_speech or self._music_band) or self._short:
            lvl = 0  # music: with the noise band, where it is on; short frames: none
        if not lvl or not (plan.noise_fill == 1).any():
            return fixed
        sel = self._fill_sel
        if not fill_bands(q, edges, nb, self._nf_start, np.ascontiguousarray(fixed), plan.noise_fill,
                          sel, self._noise_lo[False, self._noise_speech], self._fill_top):
            return fixed
        plan.fill_sel, plan.fill_top = sel, self._fill_top
        rms = np.sqrt(np.maximum(self._energy, 1e-30) / self._widths[False][:nb])
        want = np.clip(np.round(4.0 * np.log2(rms * 16.0 / lvl) + SF_BIAS), 0, SF_MAX)
        plan.noise_fill[sel.any(axis=1)] = lvl + 8  # flag: fixed level, see Encoder
        return np.where(sel, want, fixed).astype(np.int32)

    def refine(self, plan: Plan, sf: NDArray[np.int32], edges: NDArray[np.int32]) -> bool:
        """Drop bands the first search left to a few stray +-1 values.

        At the first search's steps a band whose energy is below ``tuning.drop_ratio``
        times the noise its step would leave (``width * step**2 / 12``) gains
        almost nothing from being coded but still pays for its nonzero values;
        its step is raised so it quantizes to zero (noise filling, from
        ``config.nf_start``, restores its level), and the bits go to the other bands.
        """
        ratio = self.tuning.drop_ratio
        if ratio <= 0:
            return False
        nb = len(edges) - 1
        width = np.diff(edges).astype(np.float64)
        noise = width * step_of(sf[:, :nb]) ** 2 / 12.0
        drop = self._energy < ratio * noise
        drop &= plan.offsets < 60
        if not drop.any():
            return False
        plan.offsets = np.where(drop, plan.offsets + 60, plan.offsets).astype(np.int32)
        return True


@njit(cache=True)
def fill_bands(q: NDArray[np.int32], edges: NDArray[np.int32], nb: int, nf_start: int,
                fixed: NDArray[np.int32], noise_fill: NDArray[np.int32],
                sel: NDArray[np.bool_], noise_lo: int, top: NDArray[np.int32]) -> bool:
    """``sel[c, b]``: band ``b`` of channel ``c``, at or above ``nf_start``, not fixed, in a
    channel that noise-fills (1), that is either quantized to zero below the channel's last
    nonzero band, or in the speech noise band ``noise_lo <= b < top[c]`` whatever its values;
    returns whether any is (no allocation: it runs every speech frame, live)."""
    anyset = False
    for c in range(q.shape[0]):
        last = -1  # the last band with a nonzero value (coded bands = last + 1)
        for b in range(nb):
            for k in range(edges[b], edges[b + 1]):
                if q[c, k] != 0:
                    last = b
                    break
        for b in range(nb):
            v = False
            if noise_fill[c] == 1 and edges[b] >= nf_start and fixed[c, b] < 0:
                if noise_lo <= b < top[c]:
                    v = True
                elif b < last + 1:
                    v = True
                    for k in range(edges[b], edges[b + 1]):
                        if q[c, k] != 0:
                            v = False
                            break
            sel[c, b] = v
            anyset = anyset or v
    return anyset


def make_quantizer(name: str, config: MdctConfig, bitrate: float = 96000.0,
                   tuning: AdaptiveTuning | None = None) -> Quantizer:
    """Strategy by name (``adaptive``, ``uniform``, ``nonuniform``); ``tuning`` is the adaptive
    quantizer's (None: :data:`DEFAULT_TUNING`)."""
    from ..errors import InputError

    if name == "uniform":
        return Quantizer(config, bitrate)
    if name == "nonuniform":
        return NonUniformQuantizer(config, bitrate)
    if name == "adaptive":
        return AdaptiveQuantizer(config, bitrate, tuning or DEFAULT_TUNING)
    raise InputError(f"quantizer must be one of {QUANTIZERS}, got {name!r}")


@njit(cache=True)
def _shape_kernel(coefs: NDArray[np.float64], edges: NDArray[np.int32], thr: NDArray[np.float64],
                  width: NDArray[np.float64], ms: NDArray[np.uint8], alpha: NDArray[np.float64],
                  silent_boost: float,
                  offsets: NDArray[np.int32], silent: NDArray[np.bool_], energy: NDArray[np.float64]) -> None:
    """Step shape (1.5 dB units) from per-band thresholds; also the coded channels' band energies.

    M/S bands take the stricter of the two channels' thresholds; a band's step
    leaves ``step^2 / 12`` of noise per coefficient, so ``step = sqrt(12 T / w)``
    and its index is ``4 log2(step)``; bands whose coded energy is under the
    threshold (``silent``) get ``silent_boost`` more; ``alpha[b]`` scales band b's
    part of the shape (1 = follow the threshold, 0 = flat). The shape is centred on one mean over
    all channels: the rate loop adds the same global step to every channel, so
    per-channel centring would give the channels different noise-to-mask ratios.
    """
    nch, nb = thr.shape
    lsf = np.empty((nch, nb))
    total = 0.0
    for c in range(nch):
        for b in range(nb):
            t = thr[c, b]
            if nch == 2 and ms[b]:
                t = min(thr[0, b], thr[1, b])
            e = 0.0
            for k in range(edges[b], edges[b + 1]):
                e += coefs[c, k] * coefs[c, k]
            energy[c, b] = e
            v = 2.0 * np.log2(12.0 * max(t, 1e-30) / width[b])  # = 4 log2(sqrt(12 t / w))
            sil = e <= t
            silent[c, b] = sil
            if sil:
                v += silent_boost
            lsf[c, b] = v
            total += v
    ref = total / (nch * nb)
    for c in range(nch):
        for b in range(nb):
            o = np.round(alpha[b] * (lsf[c, b] - ref))
            offsets[c, b] = np.int32(min(120.0, max(-120.0, o)))


@njit(cache=True)
def zero_bands(q: NDArray[np.int32], edges: NDArray[np.int32], sel: NDArray[np.bool_]) -> None:
    """``q = 0`` in the bands ``sel`` (C, nb) marks (the exact noise fill's)."""
    for c in range(q.shape[0]):
        for b in range(sel.shape[1]):
            if sel[c, b]:
                for k in range(edges[b], edges[b + 1]):
                    q[c, k] = 0
