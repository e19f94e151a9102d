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

if TYPE_CHECKING:
    from ..core.layout import MdctConfig

# noise-fill RMS relative to the band's step, index 1..7 (0 = off): k/16
NF_LEVELS = np.arange(8) / 16.0


@dataclass(frozen=True)
class AdaptiveTuning:
    """The adaptive quantizer's tuning (configuration, not state): the defaults are the values
    ViSQOL chose on the SQAM items (``docs/RESULTS.md``); experiments pass a variant to
    :class:`AdaptiveQuantizer` (or ``Encoder(tuning=...)``).

    Attributes
    ----------
    full_scale_db : float
        Assumed playback level of a full-scale sine, dB SPL.
    ath_cap_db : float
        The most the threshold in quiet may allow, dB SPL.
    bw_scale : float
        Bitrate multiplier for the bandwidth rule (:func:`bandwidth_hz`).
    shape_alpha : float
        1 = steps follow the masking threshold fully, 0 = flat (uniform).
    silent_boost : float
        Extra step (1.5 dB units) for bands whose signal is below the threshold.
    drop_ratio : float
        See :meth:`AdaptiveQuantizer.refine` (0 = off: ViSQOL scored every tried value lower).
    noise_fill : bool
        Noise filling of bands quantized to zero.
    power_law : bool
        The power-law (3/4) quantizer; False uses the uniform law.
    pns_max_bps : float
        Noise substitution only at or below this rate per channel (ViSQOL: off helps above).
    pns_tonality : float
        Bands less tonal than this count as noise-like (substitution).
    pns_level : int
        Noise-fill level index of substituted bands (RMS = step * level / 16).
    tmn_max_db, tmn_max_db_speech, minval_db, minval_bark : float
        Bounds on the masking offset (dB from the spread masker energy to the threshold), see
        :class:`psychoacoustics.PsychoModel`. Upper: a tonal masker's offset (Johnston's
        14.5 + z, over 30 dB above 15 Bark) is capped at ``tmn_max_db`` (7.5 dB) in music and
        ``tmn_max_db_speech`` (13.5 dB) in speech, linear in the frame's speech weight; the
        ISO/IEC 11172-3 model 1 tonal masking index is 6 + 0.275 z dB (6 to 12.6 dB over 0-24
        Bark), the MPEG-2 AAC model's tone-masking-noise 18 dB (ISO/IEC 13818-7). A lower cap
        takes from the tonal peaks the excess precision the spread model gives them, for the
        partials' neighbours and the rest of the band: music, against 13.5 dB everywhere
        (per channel, equal actual rate), default mode 32/48/64/96/128k Zimtohrli
        +0.18/+0.10/+0.06/+0.01/+0.01 with ViSQOL +0.02/+0.01/0/0/0, low delay 48/64/96k
        Zimtohrli +0.08/+0.06/+0.03; 6 dB gained a little more on music but cost speech PESQ-WB
        0.05 at 24k, and 7.5 dB on speech cost the 16 kHz ARCTIC clip Zimtohrli 0.09 in low
        delay at 24k, hence 13.5 there (docs/TUNING.md). At 12 kbit/s per channel and below the
        music cap is ``tmn_low_rate_db`` (13.5 dB), rising linearly to ``tmn_max_db`` at 16k
        (``tmn_music_bps``): at 24k stereo 7.5 dB cost the glockenspiel 0.88 ViSQOL/ch and 0.43
        Zimtohrli (mean -0.20 / +0.04). Lower: in the lowest
        critical bands the model cannot resolve harmonics (a partial every few bins looks like
        noise to the flatness measure), so the offset never falls below ``minval_db`` at 0 Bark,
        decreasing linearly to 0 at ``minval_bark`` (the role of the per-partition "minval"
        table of ISO/IEC 11172-3 psychoacoustic model 2). 0 disables either bound.
    minval_bark_wide, minval_wide_bps : float
        In long blocks at ``minval_wide_bps`` per channel and above the floor reaches
        ``minval_bark_wide`` (16 Bark, about 3.2 kHz; linear from ``minval_bark`` at 2/3 of
        that rate): the ear resolves the lower harmonics of a voice or instrument and hears the
        noise between them, which a threshold spread over 1/3-Bark partitions cannot see. Short
        blocks keep ``minval_bark`` (their 8x coarser bins resolve no harmonics). Chosen with
        ViSQOL per channel and Zimtohrli on the four SQAM items and PESQ-WB on speech (numbers
        in docs/TUNING.md): 16 Bark raises Zimtohrli at every rate and speech PESQ-WB by
        0.25-0.35, with ViSQOL unchanged from 48k up; at 16 kbit/s per channel it cost 0.035
        ViSQOL (castanets 0.10), so the floor widens only above that rate.
    shape_alpha_high, alpha_high_bps : float, (float, float)
        From ``alpha_high_bps[1]`` per channel the shape follows the threshold only by
        ``shape_alpha_high`` (linear from ``shape_alpha`` at ``alpha_high_bps[0]``): once the
        noise sits near or under the threshold, the loud bands still get the finer steps that
        Zimtohrli asks for (SQAM items at 96/128 kbit/s: Zimtohrli +0.08/+0.04, ViSQOL per
        channel -0.005/-0.003; at 64 kbit/s the same change cost 0.06 ViSQOL, so it stops
        there). Long hops only: in the low-delay mode it cost ViSQOL 0.03 at 96 kbit/s.
    speech_alpha, speech_alpha_top_hz, speech_alpha_short_hop : float, float, (float, float)
        The shape's depth below ``speech_alpha_top_hz`` when the encoder's speech weight
        (:mod:`audiocodec.encoder.signal`) is 1, blended linearly with the music shape as the
        weight goes 0..1: a CELP coder's perceptual weighting filter likewise lets the noise
        follow only part of a voice's spectral envelope. ``speech_alpha_short_hop`` is the
        (depth, top) pair of the low-delay hop. Measured on speech_alsa48_mono at 24/32/48
        kbit/s, signal fixed to speech (table in docs/TUNING.md), PESQ-WB / Zimtohrli: depth 1
        1.96/2.41/3.17 / 3.98/4.33/4.64; 0.5 below 8 kHz 3.15/3.69/4.15 / 4.00/4.34/4.70; 0.3
        below 5 kHz 3.47/3.89/4.32 / 4.13/4.45/4.74. In low delay, 0.3 below 5 kHz cost
        Zimtohrli 0.22 at 24k against 0.5 below 8 kHz.
    speech_bps : (float, float)
        The speech shaping (and its exact noise fill) fades in between these rates per channel:
        at 16 kbit/s the 16 kHz ARCTIC clip lost 0.3 Zimtohrli to it for +0.13 PESQ-WB, so there
        the music shape stays.
    nf_exact, speech_nf_exact : int
        Noise fill at each band's own energy: bands the rate loop quantizes to zero (from
        ``NF_MIN_HZ``) get the step that makes the decoder's noise (level index ``k``: RMS =
        step * k / 16) match the band's RMS, instead of the frame's one median level.
        ``speech_nf_exact`` applies when the speech weight is 0.5 or more (a voice's zeroed
        bands are fricative noise; Zimtohrli on speech +0.12 at 24k), ``nf_exact`` otherwise
        (0 = off: on the SQAM items level 2 cost Zimtohrli 0.14 and ViSQOL 0.04 at 32k: a
        zeroed band of music is often a quiet partial, not noise).
    speech_noise_band, speech_noise_band_short_hop, short_hop_s : tuple of (float, float), same, float
        The speech noise band: in frames with the exact noise fill, every band from
        ``noise_band_hz(rate per channel, hop)`` (linear in the ``(bits per channel, Hz)``
        points, held at the ends; ``speech_noise_band_short_hop`` for hops up to
        ``short_hop_s``) up to the last band above the threshold in quiet is sent as its energy
        only, rebuilt by the decoder's noise fill (the coded-band count covers it, its values are
        zero), as SBR and CELT's folding do for a voice's fricative top. On speech_alsa48_mono,
        PESQ-WB / Zimtohrli change: low delay at 24 / 32 / 48 kbit/s +0.21 / +0.53, +0.21 / +0.20,
        +0.13 / +0.05, at 64 / 96k +0.02 / +0.03, -0.00 / +0.00; the 16 ms layout +0.42 / +0.73,
        +0.27 / +0.19, +0.09 / +0.06; ARCTIC (16 kHz) in low delay at 24 / 32k +0.28 / +0.81,
        +0.12 / +0.31; the default mode +0.18 / +0.17, +0.12 / +0.09, +0.03 / +0.03, 64 / 96k
        within 0.004. The edges chosen by both metrics: in low delay at 32k 5 kHz +0.26 / +0.25
        and 7 kHz +0.21 / +0.20, but 5 kHz cost ARCTIC PESQ-WB 0.07 (6.5 kHz: +0.12), and 4 kHz
        cost Zimtohrli 0.21 at 32k and 1.0 at 48k; with the default mode's 21 ms hops 5 kHz cost
        Zimtohrli 0.42 at 32k, while 6 / 7 / 9 kHz gained +0.07 / +0.09 / +0.09 (7 kHz keeps a
        margin from that edge). Speech only: music keeps the exact fill off, and its streams
        are unchanged.
    """

    full_scale_db: float = 96.0
    ath_cap_db: float = 15.0
    bw_scale: float = 1.0
    shape_alpha: float = 1.0
    silent_boost: float = 0.0
    drop_ratio: float = 0.0
    noise_fill: bool = True
    power_law: bool = True
    pns_max_bps: float = 12000.0
    pns_tonality: float = 0.3
    pns_level: int = 2
    tmn_max_db: float = 7.5
    tmn_max_db_speech: float = 13.5
    tmn_low_rate_db: float = 13.5
    tmn_music_bps: tuple[float, float] = (12000.0, 16000.0)
    minval_db: float = 24.0
    minval_bark: float = 8.0
    minval_bark_wide: float = 16.0
    minval_wide_bps: float = 24000.0
    nf_exact: int = 0
    shape_alpha_high: float = 0.75
    alpha_high_bps: tuple[float, float] = (40000.0, 48000.0)
    speech_alpha: float = 0.3
    speech_alpha_top_hz: float = 5000.0
    speech_alpha_short_hop: tuple[float, float] = (0.5, 8000.0)
    speech_bps: tuple[float, float] = (16000.0, 24000.0)
    speech_nf_exact: int = 2
    speech_noise_band: tuple[tuple[float, float], ...] = (
        (24000.0, 7000.0), (32000.0, 7000.0), (48000.0, 12000.0), (64000.0, 16000.0),
        (96000.0, 20000.0), (128000.0, 24000.0))
    speech_noise_band_short_hop: tuple[tuple[float, float], ...] = (
        (24000.0, 5000.0), (32000.0, 6500.0), (48000.0, 9000.0), (64000.0, 12000.0),
        (96000.0, 16000.0), (128000.0, 24000.0))
    short_hop_s: float = 0.011

    def music_alpha(self, bits_per_channel: float) -> float:
        """``shape_alpha`` below ``alpha_high_bps[0]`` per channel, ``shape_alpha_high`` from
        ``alpha_high_bps[1]``, linear between."""
        lo, hi = self.alpha_high_bps
        w = float(np.clip((bits_per_channel - lo) / max(hi - lo, 1.0), 0.0, 1.0))
        return self.shape_alpha + w * (self.shape_alpha_high - self.shape_alpha)

    def noise_band_hz(self, bits_per_channel: float, hop_s: float) -> float:
        """Lower edge of the speech noise band at a rate per channel and a hop (seconds)."""
        pts = self.speech_noise_band_short_hop if hop_s <= self.short_hop_s else self.speech_noise_band
        return float(np.interp(bits_per_channel, [b for b, _ in pts], [f for _, f in pts]))

    def nf_exact_level(self, speech: float) -> int:
        """Level index of the exact noise fill at a speech weight (0 = off)."""
        return self.speech_nf_exact if speech >= 0.5 else self.nf_exact

    def min_offset(self, bark: NDArray[np.float64], top_bark: float | None = None) -> NDArray[np.float64]:
        """Lower bound of the masking offset (dB) at critical-band rate ``bark``, reaching 0 at
        ``top_bark`` (default ``minval_bark``)."""
        return np.maximum(0.0, self.minval_db * (1.0 - bark / (top_bark or self.minval_bark)))

    def floor_top_bark(self, bits_per_channel: float, short: bool) -> float:
        """Where the offset floor ends for a frame type at a per-channel bitrate."""
        if short:
            return self.minval_bark
        lo_bps = self.minval_wide_bps * 2.0 / 3.0
        w = float(np.clip((bits_per_channel - lo_bps) / (self.minval_wide_bps - lo_bps), 0.0, 1.0))
        return self.minval_bark + w * (self.minval_bark_wide - self.minval_bark)


DEFAULT_TUNING = AdaptiveTuning()


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
    perceptual noise substitution: noise-like bands above ``NF_MIN_HZ`` are
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
        self._fill_sel = {len(config.edges(s)) - 1: np.zeros((config.channels, len(config.edges(s)) - 1),
                                                             np.bool_) for s in (False, True)}
        self._pe_avg = 0.0
        self._fill_top = np.zeros(config.channels, np.int32)
        hz = config.sample_rate / 2.0 / n
        noise_hz = t.noise_band_hz(per_ch, n / config.sample_rate)
        # first band of the speech noise band (nb: none)
        self._noise_lo = {len(config.edges(s)) - 1: int(np.searchsorted(config.edges(s) * hz, noise_hz))
                          for s in (False, True)}
        self._widths = {s: np.diff(config.edges(s)).astype(np.float64) for s in (False, True)}
        # the high-rate depth only with long hops: at the low-delay hop's coarse bands it cost
        # ViSQOL 0.03 at 96 kbit/s
        long_hop = config.sample_rate / 2.0 / n <= SHORT_HOP_BIN_HZ
        self._alpha = t.music_alpha(per_ch) if long_hop else t.shape_alpha
        self._alphas = {s: np.ones(len(config.edges(s)) - 1) for s in (False, True)}
        lo_bps, hi_bps = t.speech_bps
        self._speech_gain = float(np.clip((per_ch - lo_bps) / max(hi_bps - lo_bps, 1.0), 0.0, 1.0))
        self._speech_alpha, top = ((t.speech_alpha, t.speech_alpha_top_hz) if long_hop
                                   else t.speech_alpha_short_hop)
        self._speech_bands = {s: int(np.searchsorted(config.edges(s) * hz, top))
                              for s in (False, True)}

    def _floor(self, short: bool, per_ch: float) -> Callable[[NDArray[np.float64]], NDArray[np.float64]]:
        top = self.tuning.floor_top_bark(per_ch, short)
        return lambda bark: self.tuning.min_offset(bark, top)

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
        alphas[:] = self._alpha
        speech = self.speech * self._speech_gain
        if speech > 0:
            alphas[: self._speech_bands[short]] += speech * (self._speech_alpha - self._alpha)
        _shape_kernel(coefs, edges, thr, width, ms, alphas, t.silent_boost, offsets, silent, energy)
        nf = np.zeros(coefs.shape[0], np.int32)
        self._fixed = None
        if not short and t.noise_fill:
            nf[:] = 1  # enabled; quant.noise_levels sets the level after the rate loop
            if self._pns:
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
        if self._noise_lo[nb] < hi:  # the speech noise band ends at the last audible band
            live = ~silent[:, :hi]
            top[:] = np.where(live.any(axis=1), hi - np.argmax(live[:, ::-1], axis=1), 0)
        pe = float(np.sum(res.pe))
        self._pe_avg = pe if self._pe_avg == 0 else 0.95 * self._pe_avg + 0.05 * pe
        demand = min(max(0.25 + 0.5 * (pe / max(self._pe_avg, 1.0) - 1.0), 0.05), 1.0)
        if short:
            demand = 1.0
        return offsets, nf, demand

    def exact_fill(self, plan: Plan, q: NDArray[np.int32], edges: NDArray[np.int32], nb: int,
                   fixed: NDArray[np.int32]) -> NDArray[np.int32]:
        """Noise fill at each band's energy (``tuning.nf_exact``, ``tuning.speech_nf_exact``)."""
        lvl = self.tuning.nf_exact_level(self.speech * self._speech_gain)
        if not lvl or not (plan.noise_fill == 1).any():
            return fixed
        sel = self._fill_sel[nb]
        if not fill_bands(q, edges, nb, self._nf_start, np.ascontiguousarray(fixed), plan.noise_fill,
                          sel, self._noise_lo[nb], self._fill_top):
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
        its step is raised so it quantizes to zero (noise filling, above
        ``NF_MIN_HZ``, restores its level), and the bits go to the other bands.
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
