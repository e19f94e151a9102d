"""The adaptive quantizer's tuning: every measured constant of the encoder's noise shaping
(configuration, not state), apart from the strategy that uses it (:mod:`.quantizers`).
Encoder-only; the numbers behind each default are in ``docs/TUNING.md``."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray


def ramp(x: float, lo: float, hi: float) -> float:
    """0 up to ``lo``, linear to 1 at ``hi``, 1 above: how a rate-gated setting fades in."""
    return float(np.clip((x - lo) / max(hi - lo, 1.0), 0.0, 1.0))


@dataclass(frozen=True)
class AdaptiveTuning:
    """The adaptive quantizer's tuning (configuration, not state): the defaults are the values
    chosen with ViSQOL per channel and Zimtohrli on the SQAM items and PESQ-WB on speech
    (``docs/TUNING.md``); experiments pass a variant to
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
    shape_alpha_mid, shape_alpha_mid_short_hop, alpha_mid_bps : float, float, (float, float)
        From ``alpha_mid_bps[1]`` per channel (linear from ``shape_alpha`` at
        ``alpha_mid_bps[0]``) music frames follow the threshold by ``shape_alpha_mid`` up to
        ``alpha_high_bps``; a frame counts as music by ``1 -`` the classifier's speech weight,
        and not in the first ``music_band_wait_s`` (a voice keeps the full depth: ARCTIC at
        16k lost 0.04 Zimtohrli to 0.9 without the weight, 0.038 PESQ-WB without the wait).
        With the energy match on, a shallower shape no longer leaves the quiet bands dull:
        SQAM items, ViSQOL/ch / Zimtohrli, 0.9 against 1.0 at 32 / 48 / 64k +0.001 / +0.166,
        -0.018 / +0.046, -0.008 / +0.046 (0.85: -0.010 / +0.210, -0.022 / +0.064; 0.8: -0.014
        / +0.255, -0.028 / +0.072); at 12 kbit/s per channel 0.9 cost 0.064 ViSQOL/ch, hence
        the ramp. Speech streams byte-identical; the 16 ms layout +0.003 / +0.056, -0.014 /
        +0.066 at 48 / 64k. ``shape_alpha_mid_short_hop`` (0.95) is the same for the
        low-delay hops (no high-rate blend): music 48 / 64 / 96k +0.004 / +0.054, -0.003 /
        +0.006, -0.006 / +0.023, speech_alsa48 byte-identical, ARCTIC 16-32k PESQ-WB +0.03;
        0.9 / 0.85 gained music more (+0.082 / +0.130 Zimtohrli at 48k) but cost ARCTIC
        Zimtohrli 0.022 / 0.045 at 24k (its pauses count as music).
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
        the ``noise_fill_from`` bin) get the step that makes the decoder's noise (level index ``k``: RMS =
        step * k / 16) match the band's RMS, instead of the frame's one median level.
        ``speech_nf_exact`` applies when the speech weight is 0.5 or more (a voice's zeroed
        bands are fricative noise; Zimtohrli on speech +0.12 at 24k), ``nf_exact`` otherwise,
        but in music frames only where the music noise band is on (alone, without the band,
        level 2 cost the SQAM items Zimtohrli 0.14 and ViSQOL 0.04 at 32k: a zeroed band of
        music is often a quiet partial, not noise).
    speech_fill_cap : (float, float, float, float)
        ``(below, above, from, to)``: in a frame with a voice's exact fill, no noise-filled
        band's fill may exceed ``below`` times its own RMS, ``above`` times from ``from`` bits
        per channel, and from ``to`` the cap of every other frame (``rate.FILL_CAP``, 2x, since
        the eleventh session; below ``from`` a voice's 4x is looser than that); ``rate.cap_fill``
        lowers its step to fit.
        speech_alsa48 in low delay at 24k, Zimtohrli / PESQ-WB: 4x +0.040 / +0.038; 1x (the
        fill at most the band's own level) +0.124 / +0.057 (2x at 16k cost 0.071 Zimtohrli, so
        4x there); from 32k the cap lowered one metric (ARCTIC in low delay at 32k PESQ-WB
        -0.002, speech at 48k Zimtohrli -0.007), so it stops there (docs/TUNING.md).
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
        margin from that edge).
    narrow_rates, speech_noise_band_narrow_shift_hz : (float, float), float
        In low-delay streams at ``narrow_rates`` (16 to 22.05 kHz), the speech noise band's edge
        is this much lower. Until the tenth session the encoder looked its first band up by band
        count, and in 16, 20 and 22.05 kHz low-delay streams (as many short-block bands as long
        ones; not at 8, 11.025, 12 or 24 kHz) it took the short-block layout's index, about two
        bands lower; every ARCTIC figure above was measured so (rates inside the range where the
        counts differed, e.g. 18 kHz, now take the shift too, unmeasured). With the lookup by
        block type and no shift, ARCTIC in low delay lost Zimtohrli / PESQ-WB 0.081 / 0.033 at
        24k and 0.340 / 0.174 at 32k (no noise band at all there: 6.5 kHz falls in the 16 kHz
        stream's last band); 1200 Hz gives the old first band at every rate of the table but 36k.
    music_noise_band, music_noise_band_short_hop, music_band_wait_s : tuple of (float, float), same, float
        The same in music frames (speech weight under 0.5), from higher edges: at a rate where
        coding the top octave's waveform leaves 2-3 dB SNR (about 16 kbit/s per channel, 10-20
        kHz), its bits buy more below, where ours had 1-4 dB against libopus's 11-13 dB. Edges
        (kbit/s per channel -> Hz): long hops 16k 10500, 24k 13500, 32k 18000, off at 12k and
        from 48k; low-delay hops 16k 8000, 24k 10500, 32k 14000, 48k 16000, off from 64k. Not in
        the first ``music_band_wait_s`` of a stream, while the classifier, which starts at
        music, has not yet had time to hear a voice (without the wait, speech in low delay lost
        PESQ-WB 0.03 at 24k from its first 0.2 s). Four SQAM items, mean ViSQOL/ch / Zimtohrli
        change: default mode 32 / 48 / 64k +0.067 / +0.127, -0.001 / +0.062, -0.003 / +0.013,
        24k and 96k up byte-identical; low delay 48 / 64 / 96k (stereo) +0.098 / +0.158,
        +0.019 / +0.073, -0.003 / +0.018. Speech streams byte-identical. docs/TUNING.md has
        the rest.
    energy_match, energy_match_steps, energy_match_bps, energy_match_bps_short_hop : float, int, pairs
        After quantization, each coded band's scale factor moves (its values kept, at most
        ``energy_match_steps`` steps of 1.5 dB, 3 dB in coarse low-delay frames) so that the
        decoded band carries ``energy_match`` of the way (in dB) to its own energy
        (:func:`audiocodec.encoder.rate.match_energy`): rounding toward zero leaves a sparsely
        coded band quieter than it was, and the ear hears a band's level before its fine
        structure, which is why CELT codes band energies apart from their shape. The format
        does not change. Off up to the first rate of ``energy_match_bps`` per channel, full
        from the second (``_short_hop`` for the low-delay hops): at 12 kbit/s per channel a
        lone +-1 raised to a band's level is a whistle (SQAM at 24k stereo: glockenspiel
        ViSQOL/ch -0.87; ARCTIC at 16k in low delay Zimtohrli -0.07). Measured, ViSQOL/ch /
        Zimtohrli change on the SQAM items, default mode 32 / 48 / 64 / 96 / 128k +0.039 /
        +0.074, +0.052 / +0.082, +0.045 / +0.109, +0.028 / +0.043, +0.018 / +0.018; low delay
        48 / 64 / 96 / 128k +0.004 / +0.038, +0.026 / +0.079, +0.020 / +0.051, +0.016 / +0.028;
        speech_alsa48_mono PESQ-WB / Zimtohrli low delay 24 / 32 / 48k +0.049 / +0.018, +0.058 /
        +0.031, +0.033 / +0.026, default -0.019 / +0.031, -0.002 / -0.001, +0.012 / +0.033.
    minval_db_short_hop, minval_short_hop_bps : float, (float, float)
        In hops up to ``short_hop_s`` (low delay) the offset floor at 0 Bark rises from
        ``minval_db`` to this over ``minval_short_hop_bps`` per channel (``floor_db``): more
        precision under 3 kHz, where Zimtohrli found the low-delay decode furthest from the
        input (splicing the input's 0-1.5 kHz into our 48k decode lifted guitar 0.26 and
        harpsichord 0.40, any band above 14 kHz under 0.01). Against 24 dB, ViSQOL/ch /
        Zimtohrli, SQAM mean, low delay 48 / 64 / 96k -0.004 / +0.038, -0.005 / +0.045,
        +0.000 / +0.031; the 16 ms layout -0.005 / +0.050, -0.004 / +0.022, +0.001 / +0.007;
        speech_alsa48 PESQ-WB / Zimtohrli 24 / 32 / 48k +0.072 / +0.026, +0.057 / +0.024,
        +0.016 / -0.002; ARCTIC (16 kHz) 24 / 32k +0.067 / -0.001, +0.074 / +0.006. The ramp
        keeps 16 kbit/s per channel at 24 dB: 30 dB there cost ARCTIC Zimtohrli 0.06 in low
        delay; in the default mode 30 dB cost ARCTIC 0.13 / 0.05 Zimtohrli at 16 / 24k, so the
        long hops keep 24 dB. 36 dB: low delay music ViSQOL/ch -0.019 at 48k.
    noise_fill_hz, noise_fill_hz_short_hop : float
        The lowest frequency a zero band is noise filled from (the stream's
        ``noise_fill_from`` record; the bin holding it): 500 Hz, and 1500 Hz in hops up to
        ``short_hop_s``. Every stream before had 3 kHz (``quant.NF_MIN_HZ``), so a band of
        1.5-3 kHz that the rate loop zeroed was a hole: decoded band levels there were 4-12 dB
        under the input's on the SQAM items at 48k, where libopus is within 0.4 dB. Measured
        against 3 kHz, ViSQOL/ch / Zimtohrli, SQAM mean: default mode 24 / 32 / 48 / 64k
        +0.089 / +0.424, +0.007 / +0.277, -0.004 / +0.078, -0.002 / +0.024, 96 / 128k within
        0.002; low delay 48 / 64 / 96k +0.000 / +0.158, -0.002 / +0.056, -0.001 / +0.004;
        speech_alsa48 PESQ-WB / Zimtohrli, default 24 / 32 / 48k +0.354 / +0.073, +0.151 /
        +0.022, +0.040 / +0.003, low delay +0.158 / +0.041, +0.091 / +0.022, -0.005 /
        -0.001 (with the fill cap in every frame, ``rate.FILL_CAP``). Edges tried (Zimtohrli
        at 24 / 32 / 48k default, 48 / 64k low delay): default 0 Hz 3.236 / 4.145 / 4.474,
        500 Hz 3.235 / 4.163 / 4.490, 1 kHz 3.094 / 4.090 / 4.494, 1.5 kHz 2.962 / 3.982 /
        4.476; low delay 0 Hz 3.934 / 4.235, 800 Hz 3.954 / 4.239, 1 kHz 3.964 / 4.257,
        1.2 kHz 3.992 / 4.253, 1.5 kHz 3.985 / 4.265, 2 kHz 3.905 / 4.217 (docs/TUNING.md).
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
    minval_db_short_hop: float = 30.0
    minval_short_hop_bps: tuple[float, float] = (16000.0, 24000.0)
    nf_exact: int = 2
    shape_alpha_mid: float = 0.9
    shape_alpha_mid_short_hop: float = 0.95
    alpha_mid_bps: tuple[float, float] = (12000.0, 16000.0)
    shape_alpha_high: float = 0.75
    alpha_high_bps: tuple[float, float] = (40000.0, 48000.0)
    speech_alpha: float = 0.3
    speech_alpha_top_hz: float = 5000.0
    speech_alpha_short_hop: tuple[float, float] = (0.5, 8000.0)
    speech_bps: tuple[float, float] = (16000.0, 24000.0)
    speech_nf_exact: int = 2
    speech_fill_cap: tuple[float, float, float, float] = (4.0, 1.0, 20000.0, 32000.0)
    speech_noise_band: tuple[tuple[float, float], ...] = (
        (24000.0, 7000.0), (32000.0, 7000.0), (48000.0, 12000.0), (64000.0, 16000.0),
        (96000.0, 20000.0), (128000.0, 24000.0))
    speech_noise_band_short_hop: tuple[tuple[float, float], ...] = (
        (24000.0, 5000.0), (32000.0, 6500.0), (48000.0, 9000.0), (64000.0, 12000.0),
        (96000.0, 16000.0), (128000.0, 24000.0))
    short_hop_s: float = 0.011
    narrow_rates: tuple[float, float] = (16000.0, 22050.0)
    speech_noise_band_narrow_shift_hz: float = 1200.0
    music_noise_band: tuple[tuple[float, float], ...] = (
        (12000.0, 24000.0), (16000.0, 10500.0), (24000.0, 13500.0), (32000.0, 18000.0),
        (48000.0, 24000.0))
    music_noise_band_short_hop: tuple[tuple[float, float], ...] = (
        (16000.0, 8000.0), (24000.0, 10500.0), (32000.0, 14000.0), (48000.0, 16000.0),
        (64000.0, 24000.0))
    music_band_wait_s: float = 0.25
    energy_match: float = 1.0
    energy_match_steps: int = 2
    energy_match_bps: tuple[float, float] = (12000.0, 16000.0)
    energy_match_bps_short_hop: tuple[float, float] = (16000.0, 20000.0)
    noise_fill_hz: float = 500.0
    noise_fill_hz_short_hop: float = 1500.0

    def energy_share(self, bits_per_channel: float, hop_s: float) -> float:
        """``energy_match`` at a rate per channel and hop: 0 up to the gate's first rate,
        linear to full at its second (``energy_match_bps``, ``_short_hop`` up to ``short_hop_s``)."""
        lo, hi = self.energy_match_bps_short_hop if hop_s <= self.short_hop_s else self.energy_match_bps
        return self.energy_match * ramp(bits_per_channel, lo, hi)

    def music_alpha(self, bits_per_channel: float, mid: bool = True, long_hop: bool = True) -> float:
        """The music depth at a rate per channel: ``shape_alpha`` up to ``alpha_mid_bps[0]``,
        ``shape_alpha_mid`` (``_short_hop`` in the low-delay hops; ``mid`` False:
        ``shape_alpha``) from ``alpha_mid_bps[1]``, in long hops ``shape_alpha_high`` from
        ``alpha_high_bps[1]``, linear between."""
        to = self.shape_alpha_mid if long_hop else self.shape_alpha_mid_short_hop
        to = to if mid else self.shape_alpha
        mid_a = self.shape_alpha + ramp(bits_per_channel, *self.alpha_mid_bps) * (to - self.shape_alpha)
        if not long_hop:
            return mid_a
        return mid_a + ramp(bits_per_channel, *self.alpha_high_bps) * (self.shape_alpha_high - mid_a)

    def noise_band_hz(self, bits_per_channel: float, hop_s: float, speech: bool = True,
                      sample_rate: float = 48000.0) -> float:
        """Lower edge of the noise band at a rate per channel and a hop (seconds), in speech
        frames or (``speech`` False) in music frames; in short-hop speech frames of streams at
        ``narrow_rates`` (Hz, both ends included), ``speech_noise_band_narrow_shift_hz`` lower."""
        short = hop_s <= self.short_hop_s
        if speech:
            pts = self.speech_noise_band_short_hop if short else self.speech_noise_band
        else:
            pts = self.music_noise_band_short_hop if short else self.music_noise_band
        hz = float(np.interp(bits_per_channel, [b for b, _ in pts], [f for _, f in pts]))
        lo, hi = self.narrow_rates
        if speech and short and lo <= sample_rate <= hi:
            hz -= self.speech_noise_band_narrow_shift_hz
        return hz

    def noise_fill_from_hz(self, hop_s: float) -> float:
        """Lowest frequency a zero band may be noise filled from (the ``noise_fill_from``
        record's bin): ``noise_fill_hz``, ``_short_hop`` for hops up to ``short_hop_s``."""
        return self.noise_fill_hz_short_hop if hop_s <= self.short_hop_s else self.noise_fill_hz

    def nf_exact_level(self, speech: float) -> int:
        """Level index of the exact noise fill at a speech weight (0 = off)."""
        return self.speech_nf_exact if speech >= 0.5 else self.nf_exact

    def min_offset(self, bark: NDArray[np.float64], top_bark: float | None = None,
                   db: float | None = None) -> NDArray[np.float64]:
        """Lower bound of the masking offset (dB) at critical-band rate ``bark``: ``db``
        (default ``minval_db``) at 0 Bark, reaching 0 at ``top_bark`` (default ``minval_bark``)."""
        db = self.minval_db if db is None else db
        return np.maximum(0.0, db * (1.0 - bark / (top_bark or self.minval_bark)))

    def floor_db(self, bits_per_channel: float, hop_s: float) -> float:
        """The offset floor at 0 Bark: ``minval_db``; in hops up to ``short_hop_s`` rising to
        ``minval_db_short_hop`` over ``minval_short_hop_bps`` per channel."""
        if hop_s > self.short_hop_s:
            return self.minval_db
        w = ramp(bits_per_channel, *self.minval_short_hop_bps)
        return self.minval_db + w * (self.minval_db_short_hop - self.minval_db)

    def floor_top_bark(self, bits_per_channel: float, short: bool) -> float:
        """Where the offset floor ends for a frame type at a per-channel bitrate."""
        if short:
            return self.minval_bark
        lo_bps = self.minval_wide_bps * 2.0 / 3.0
        w = float(np.clip((bits_per_channel - lo_bps) / (self.minval_wide_bps - lo_bps), 0.0, 1.0))
        return self.minval_bark + w * (self.minval_bark_wide - self.minval_bark)


DEFAULT_TUNING = AdaptiveTuning()
