"""Tests of the psychoacoustic model against known facts of hearing.

Inputs go through a direct-formula orthonormal MDCT (the slow, obviously correct oracle), so the
model sees what the codec's filterbank produces. Every random input is seeded.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest

from psychoacoustics import (
    PsychoacousticsError,
    PsychoModel,
    ath_db_spl,
    bark_to_hz,
    bin_centers_hz,
    bin_edges_hz,
    db_spl_to_energy,
    detect_transient,
    energy_to_db_spl,
    erb_hz,
    hz_to_bark,
    hz_to_bark_zwicker,
    hz_to_erb_rate,
    masking_offset_db,
    perceptual_entropy,
    spreading_db,
    transient_strength,
)
from psychoacoustics.transient import transient_strength_reference

FS = 48000
N = 1024


@cache
def _mdct_matrix(n: int) -> np.ndarray:
    """Orthonormal sine-window MDCT matrix (direct formula), shape (n, 2n).

    ``X[k] = sqrt(2/N) sum_n w[n] x[n] cos(pi/N (n + 1/2 + N/2)(k + 1/2))``.
    """
    t = np.arange(2 * n)
    k = np.arange(n)
    w = np.sin(np.pi * (t + 0.5) / (2 * n))
    m = np.sqrt(2.0 / n) * w * np.cos(np.pi / n * np.outer(k + 0.5, t + 0.5 + n / 2))
    m.setflags(write=False)
    return m


def mdct_frames(x: np.ndarray, n: int) -> np.ndarray:
    """MDCT of every full 2n-sample window at hop n, shape (frames, n)."""
    n_frames = x.size // n - 1
    idx = np.arange(n_frames)[:, None] * n + np.arange(2 * n)
    return x[idx] @ _mdct_matrix(n).T


def sine(freq: float, amp: float, n_samples: int, fs: int = FS, phase: float = 0.3) -> np.ndarray:
    return amp * np.sin(2 * np.pi * freq * np.arange(n_samples) / fs + phase)


def critical_band_edges(fs: int, n: int) -> np.ndarray:
    """Band edges like the codec's: >= 0.5 Bark and >= 4 bins (long blocks), <= n/16 bins."""
    z = hz_to_bark(bin_edges_hz(fs, n))
    min_w = 4 if n >= 512 else 1
    max_w = max(4, n // 16)
    edges = [0]
    for k in range(1, n + 1):
        w = k - edges[-1]
        if w >= max_w or (w >= min_w and z[k] - z[edges[-1]] >= 0.5):
            edges.append(k)
    edges[-1] = n
    return np.array(edges)


def uniform_edges(n: int, width: int) -> np.ndarray:
    return np.arange(0, n + 1, width)


def band_bark(fs: int, n: int, edges: np.ndarray) -> np.ndarray:
    f = bin_centers_hz(fs, n)
    return hz_to_bark(0.5 * (f[edges[:-1]] + f[edges[1:] - 1]))


# --- scales ---------------------------------------------------------------------------------


def test_bark_scale_known_values_and_inverse() -> None:
    f = np.array([100.0, 500.0, 1000.0, 4000.0, 10000.0])
    z = hz_to_bark(f)
    assert np.all(np.diff(z) > 0)
    assert z[2] == pytest.approx(8.5, abs=0.2)  # 1 kHz is ~8.5 Bark (Zwicker's table)
    assert z[3] == pytest.approx(17.3, abs=0.3)
    np.testing.assert_allclose(bark_to_hz(z), f, rtol=1e-9)
    # Traunmüller and Zwicker-Terhardt agree within 0.3 Bark over the speech/music range.
    g = np.geomspace(100, 10000, 50)
    assert np.max(np.abs(hz_to_bark(g) - hz_to_bark_zwicker(g))) < 0.3
    assert 24.0 < hz_to_bark(20000.0) < 25.5  # ~24-25 critical bands over the audio range


def test_erb() -> None:
    assert erb_hz(1000.0) == pytest.approx(132.6, abs=0.1)  # Glasberg & Moore
    assert hz_to_erb_rate(1000.0) == pytest.approx(15.6, abs=0.1)


# --- threshold in quiet and calibration -------------------------------------------------------


def test_threshold_in_quiet_shape() -> None:
    f = np.geomspace(20, 20000, 2000)
    ath = ath_db_spl(f)
    f_min = f[np.argmin(ath)]
    assert 3000 <= f_min <= 4000, f_min  # most sensitive around 3-4 kHz
    assert ath.min() < 0  # below 0 dB SPL there
    assert ath_db_spl(50.0) - ath_db_spl(100.0) > 15  # steep below 100 Hz
    assert ath_db_spl(100.0) - ath_db_spl(1000.0) > 15
    assert ath_db_spl(17000.0) - ath_db_spl(15000.0) > 20  # steep above 15 kHz
    assert ath_db_spl(1000.0) == pytest.approx(3.4, abs=0.5)


def test_full_scale_sine_is_full_scale_db() -> None:
    """The calibration contract: a full-scale sine -> total energy ~N/2 -> 96 dB SPL."""
    coefs = mdct_frames(sine(997.0, 1.0, 10 * N), N)
    energy = (coefs**2).sum(axis=1)
    assert energy.mean() == pytest.approx(N / 2, rel=0.1)
    assert energy_to_db_spl(energy.mean(), N) == pytest.approx(96.0, abs=0.5)
    assert float(db_spl_to_energy(96.0, N)) == pytest.approx(N / 2)
    assert energy_to_db_spl(
        db_spl_to_energy(40.0, 256, full_scale_db=90.0), 256, full_scale_db=90.0
    ) == pytest.approx(40.0)


def test_silence_threshold_is_threshold_in_quiet() -> None:
    model = PsychoModel(FS, N, critical_band_edges(FS, N))
    res = model.analyze(np.zeros(N))
    np.testing.assert_allclose(res.threshold, model.ath_band)
    assert np.all(res.smr_db < -100)
    assert np.all(res.tonality == 0)
    assert float(res.pe) == 0.0
    # The quiet threshold per band, in dB SPL, is lowest around 3-4 kHz.
    f = band_bark(FS, N, model.band_edges)
    lowest = f[np.argmin(model.ath_band / np.diff(model.band_edges))]
    assert 3000 <= bark_to_hz(lowest) <= 4500


# --- spreading and masking ------------------------------------------------------------------


def test_spreading_function_is_asymmetric() -> None:
    assert spreading_db(0.0) == pytest.approx(0.0, abs=0.01)
    dz = np.array([1.0, 2.0, 3.0, 4.0])
    up, down = spreading_db(dz), spreading_db(-dz)
    assert np.all(up > down)
    assert np.all((up - down)[1:] > 10)  # slopes tend to -10 dB/Bark upward, -25 downward
    assert np.all(np.diff(up) < 0) and np.all(np.diff(down) < 0)


@pytest.mark.parametrize("dz", [2.0, 3.0, 4.0])
def test_masking_spreads_further_upward(dz: float) -> None:
    """A 1 kHz masker raises the threshold more at +dz Bark than at -dz Bark.

    (Closer than ~2 Bark the sine window's leakage, real coefficient energy on both sides of
    the tone, masks about as much as the tone's own spreading below it.)
    """
    edges = uniform_edges(N, 2)
    model = PsychoModel(FS, N, edges)
    coefs = mdct_frames(sine(1000.0, 0.5, 4 * N), N)  # ~90 dB SPL
    res = model.analyze(coefs)
    raise_db = 10 * np.log10(res.threshold / model.ath_band).mean(axis=0)
    z = band_bark(FS, N, edges)
    z0 = float(hz_to_bark(1000.0))
    above = raise_db[np.argmin(np.abs(z - (z0 + dz)))]
    below = raise_db[np.argmin(np.abs(z - (z0 - dz)))]
    assert above > below + 10, (above, below)
    assert above > 10  # and the masker does mask up there


def test_masking_offset_tone_larger_than_noise() -> None:
    assert masking_offset_db(0.0, 10.0) == pytest.approx(5.5)
    assert masking_offset_db(1.0, 10.0) == pytest.approx(24.5)  # 14.5 + z (Johnston)


def test_tone_masks_less_than_noise() -> None:
    """Under a pure tone the threshold is lower than under noise of the same band energy."""
    edges = critical_band_edges(FS, N)
    model = PsychoModel(FS, N, edges)
    n_samples = 8 * N
    tone = mdct_frames(sine(1000.0, 0.3, n_samples), N)
    # Noise around 1 kHz, 2 Bark either side, so the band holding 1 kHz is inside the noise.
    rng = np.random.default_rng(1)
    spec = np.fft.rfft(rng.standard_normal(n_samples))
    f = np.fft.rfftfreq(n_samples, 1 / FS)
    z = hz_to_bark(f)
    spec[np.abs(z - hz_to_bark(1000.0)) > 2.0] = 0
    noise = mdct_frames(np.fft.irfft(spec, n_samples), N)
    band = int(np.searchsorted(edges, int(1000.0 / (FS / 2 / N)), side="right") - 1)
    # Scale the noise to the tone's band energy, frame by frame.
    noise *= np.sqrt(
        (tone[:, edges[band] : edges[band + 1]] ** 2).sum(1)
        / (noise[:, edges[band] : edges[band + 1]] ** 2).sum(1)
    )[:, None]
    rt, rn = model.analyze(tone), model.analyze(noise)
    np.testing.assert_allclose(rt.energy[:, band], rn.energy[:, band])
    assert np.all(rt.tonality[:, band] > 0.7)
    assert np.all(rn.tonality[:, band] < 0.3)
    gap_db = 10 * np.log10(rn.threshold[:, band] / rt.threshold[:, band])
    assert np.all(gap_db > 8), gap_db  # Johnston: 14.5 + 8.5 vs 5.5 dB offsets
    assert np.all(rt.smr_db[:, band] > rn.smr_db[:, band] + 8)


def test_threshold_follows_signal_level() -> None:
    """+10 dB of signal gives +10 dB of threshold wherever masking, not quiet, sets it."""
    edges = critical_band_edges(FS, N)
    model = PsychoModel(FS, N, edges)
    rng = np.random.default_rng(2)
    x = 0.02 * rng.standard_normal(6 * N) + sine(440.0, 0.05, 6 * N) + sine(3100.0, 0.02, 6 * N)
    lo = model.analyze(mdct_frames(x, N))
    hi = model.analyze(mdct_frames(x * np.sqrt(10.0), N))
    masked = lo.threshold > 10 * model.ath_band  # ATH is not dominant
    assert masked.mean() > 0.5
    step_db = 10 * np.log10(hi.threshold[masked] / lo.threshold[masked])
    np.testing.assert_allclose(step_db, 10.0, atol=0.05)
    np.testing.assert_allclose(hi.tonality, lo.tonality, atol=1e-9)  # tonality is level-free


# --- perceptual entropy ---------------------------------------------------------------------


def test_perceptual_entropy() -> None:
    edges = critical_band_edges(FS, N)
    model = PsychoModel(FS, N, edges)
    rng = np.random.default_rng(3)
    white = mdct_frames(rng.standard_normal(5 * N), N)  # rms 1 = +3 dB over a full-scale sine
    pe_silence = float(model.analyze(np.zeros(N)).pe)
    levels_db = [20.0, 40.0, 60.0, 80.0]  # dB SPL of the whole noise
    pes = []
    for level in levels_db:
        gain = np.sqrt(db_spl_to_energy(level, N) / (white**2).sum(axis=1).mean())
        pes.append(float(model.analyze(white * gain).pe.mean()))
    assert pe_silence == 0.0
    assert pes[0] > pe_silence
    assert np.all(np.diff(pes) > 0), pes  # grows with level (the ATH matters less and less)
    # A tone is cheaper to code than noise of the same total energy.
    tone = mdct_frames(sine(1000.0, 1.0, 5 * N), N)
    tone *= np.sqrt(db_spl_to_energy(60.0, N) / (tone**2).sum(axis=1).mean())
    assert float(model.analyze(tone).pe.mean()) < pes[2]
    # The free function is the same formula.
    res = model.analyze(white[:2] * 0.01)
    np.testing.assert_allclose(perceptual_entropy(white[:2] * 0.01, res.threshold, edges), res.pe)


# --- transient detection --------------------------------------------------------------------


def _castanet(n: int, rng: np.random.Generator) -> np.ndarray:
    """A decaying noise burst (about 3 ms), like a castanet click."""
    t = np.arange(n)
    return 0.5 * rng.standard_normal(n) * np.exp(-t / (0.003 * FS))


def test_transient_fires_on_attacks() -> None:
    rng = np.random.default_rng(4)
    sub = 128
    # Click after silence, at the start of sub-block 10.
    x = np.zeros(16 * sub)
    x[10 * sub + 5] = 0.8
    flags = detect_transient(x, sub)
    assert flags.shape == (16,)
    assert np.flatnonzero(flags).tolist() == [10]
    # Castanet-like burst over a steady 440 Hz tone, at sub-block 13.
    y = sine(440.0, 0.3, 24 * sub)
    y[13 * sub + 40 :] += _castanet(24 * sub - 13 * sub - 40, rng)
    strength = transient_strength(y, sub)
    assert strength[13] > 100
    assert np.flatnonzero(detect_transient(y, sub)).tolist() == [13]


@pytest.mark.parametrize("kind", ["tone", "chord", "white", "pink"])
def test_transient_quiet_on_stationary_signals(kind: str) -> None:
    rng = np.random.default_rng(5)
    n = 64 * 128
    if kind == "tone":
        x = sine(440.0, 0.5, n)
    elif kind == "chord":
        x = sine(220.0, 0.3, n) + sine(277.2, 0.3, n) + sine(3300.0, 0.1, n)
    elif kind == "white":
        x = 0.3 * rng.standard_normal(n)
    else:
        spec = np.fft.rfft(rng.standard_normal(n))
        spec[1:] /= np.sqrt(np.arange(1, spec.size))
        x = np.fft.irfft(spec, n)
        x *= 0.3 / x.std()
    strength = transient_strength(x, 128)
    assert strength.max() < 3.0, strength.max()
    assert not detect_transient(x, 128).any()


def test_transient_short_input_and_errors() -> None:
    assert transient_strength(np.zeros(100), 128).shape == (0,)
    with pytest.raises(PsychoacousticsError):
        transient_strength(np.zeros((2, 256)), 128)
    with pytest.raises(ValueError):
        transient_strength(np.full(256, np.nan), 128)
    with pytest.raises(ValueError):
        transient_strength(np.zeros(256), 0)


# --- shapes, configurations, validation -----------------------------------------------------


def test_batch_matches_single_frames() -> None:
    edges = critical_band_edges(FS, N)
    model = PsychoModel(FS, N, edges)
    rng = np.random.default_rng(6)
    x = 0.1 * rng.standard_normal(5 * N) + sine(1500.0, 0.2, 5 * N)
    coefs = mdct_frames(x, N)
    batch = model.analyze(coefs)
    n_bands = edges.size - 1
    assert batch.energy.shape == batch.threshold.shape == (coefs.shape[0], n_bands)
    assert batch.smr_db.shape == batch.tonality.shape == (coefs.shape[0], n_bands)
    assert batch.pe.shape == (coefs.shape[0],)
    assert batch.bin_threshold.shape == coefs.shape
    for i, frame in enumerate(coefs):
        one = model.analyze(frame)
        assert one.energy.shape == (n_bands,) and one.pe.shape == ()
        for name in ("energy", "threshold", "smr_db", "tonality", "pe", "bin_threshold"):
            np.testing.assert_allclose(getattr(one, name), getattr(batch, name)[i], rtol=1e-12)
    # energy is the plain sum of squares; the bin thresholds sum to the band thresholds
    np.testing.assert_allclose(batch.energy.sum(1), (coefs**2).sum(1), rtol=1e-12)
    sums = np.add.reduceat(batch.bin_threshold, edges[:-1], axis=1)
    np.testing.assert_allclose(sums, batch.threshold, rtol=1e-12)
    np.testing.assert_allclose(batch.smr_db, 10 * np.log10(batch.energy / batch.threshold))


@pytest.mark.parametrize("fs", [8000, 16000, 44100, 48000])
@pytest.mark.parametrize("n", [128, 240, 256, 1024])
def test_all_configurations(fs: int, n: int) -> None:
    edges = critical_band_edges(fs, n)
    model = PsychoModel(fs, n, edges)
    rng = np.random.default_rng(7)
    f_tone = fs / 8 + 0.37 * fs / (2 * n)
    x = 0.01 * rng.standard_normal(4 * n) + sine(f_tone, 0.5, 4 * n, fs)
    coefs = mdct_frames(x, n)
    res = model.analyze(coefs)
    assert res.threshold.shape == (coefs.shape[0], edges.size - 1)
    for a in (res.energy, res.threshold, res.smr_db, res.tonality, res.pe):
        assert np.all(np.isfinite(a))
    assert np.all(res.threshold > 0)
    assert np.all((res.tonality >= 0) & (res.tonality <= 1))
    tone_band = int(np.searchsorted(edges, int(f_tone / (fs / (2 * n))), side="right") - 1)
    assert np.all(np.abs(np.argmax(res.smr_db, axis=1) - tone_band) <= 1)
    assert np.all(res.pe > 0)


def test_band_edges_not_covering_all_bins() -> None:
    """Bands may stop short of n_bins (bandwidth limit) and start above 0."""
    edges = np.array([4, 8, 16, 32, 64, 128, 300])
    model = PsychoModel(FS, N, edges)
    res = model.analyze(mdct_frames(sine(2000.0, 0.1, 3 * N), N))
    assert res.threshold.shape == (2, 6)
    assert np.all(np.isfinite(res.smr_db))


@pytest.mark.parametrize(
    "edges",
    [
        np.array([0]),
        np.array([0, 4, 4, 8]),
        np.array([0, 8, 4]),
        np.array([-1, 4]),
        np.array([0, 2000]),
        np.array([0.0, 4.0]),
    ],
)
def test_bad_band_edges_rejected(edges: np.ndarray) -> None:
    with pytest.raises(PsychoacousticsError):
        PsychoModel(FS, N, edges)


def test_bad_coefs_rejected() -> None:
    model = PsychoModel(FS, N, critical_band_edges(FS, N))
    with pytest.raises(PsychoacousticsError, match="shape"):
        model.analyze(np.zeros(N + 1))
    with pytest.raises(PsychoacousticsError, match="shape"):
        model.analyze(np.zeros((2, 3, N)))
    with pytest.raises(ValueError, match="NaN"):
        model.analyze(np.full(N, np.inf))
    with pytest.raises(PsychoacousticsError):
        PsychoModel(100, N, critical_band_edges(FS, N))


def test_config_is_frozen() -> None:
    model = PsychoModel(FS, N, critical_band_edges(FS, N))
    with pytest.raises(AttributeError):
        model.config.n_bins = 512  # type: ignore[misc]
    with pytest.raises(ValueError):
        model.ath_bin[0] = 0.0


@pytest.mark.parametrize("fs", [16000, 48000])
@pytest.mark.parametrize("n", [128, 256, 1024])
@pytest.mark.parametrize("bounded", [False, True])
def test_compiled_analyze_matches_numpy_reference(fs: int, n: int, bounded: bool) -> None:
    """The numba kernel behind ``analyze`` against the vectorised numpy oracle."""
    edges = critical_band_edges(fs, n)
    bounds = {"min_offset_db": lambda z: np.maximum(0.0, 24.0 - 3.0 * z), "max_offset_db": 18.0}
    model = PsychoModel(fs, n, edges, ath_max_db=15.0, **(bounds if bounded else {}))
    rng = np.random.default_rng(11)
    x = 0.02 * rng.standard_normal(6 * n) + sine(fs / 7, 0.4, 6 * n, fs)
    x[3 * n :] *= 30.0 * np.exp(-np.arange(3 * n) / n)  # level jump and decay
    coefs = np.vstack([mdct_frames(x, n), np.zeros((1, n)), rng.standard_normal((1, n)) * 1e-9])
    fast, ref = model.analyze(coefs), model.analyze_reference(coefs)
    for name in ("energy", "threshold", "tonality", "pe", "bin_threshold"):
        np.testing.assert_allclose(getattr(fast, name), getattr(ref, name), rtol=1e-9, atol=1e-300)
    np.testing.assert_allclose(fast.smr_db, ref.smr_db, rtol=1e-9, atol=1e-9)


def test_per_call_offset_cap_is_the_constructor_bound_and_lowers_tonal_margins() -> None:
    """``analyze(max_offset_db=...)`` gives what a model built with that bound gives, in the
    kernel and the oracle; a lower cap raises a pure tone's threshold (smaller offset), never
    lowers it; NaN is refused."""
    from psychoacoustics import PsychoacousticsError

    n = 512
    edges = critical_band_edges(FS, n)
    x = sine(3000.0, 0.5, 6 * n, FS) + 1e-4 * np.random.default_rng(2).standard_normal(6 * n)
    coefs = mdct_frames(x, n)
    free, capped = PsychoModel(FS, n, edges), PsychoModel(FS, n, edges, max_offset_db=7.5)
    for fn in ("analyze", "analyze_reference"):
        a = getattr(free, fn)(coefs, max_offset_db=7.5)
        b = getattr(capped, fn)(coefs)
        np.testing.assert_allclose(a.threshold, b.threshold, rtol=1e-12)
        other = PsychoModel(FS, n, edges, max_offset_db=13.5)
        np.testing.assert_allclose(getattr(capped, fn)(coefs, max_offset_db=13.5).threshold,
                                   getattr(other, fn)(coefs).threshold, rtol=1e-12)
    lo = free.analyze(coefs, max_offset_db=7.5).threshold
    hi = free.analyze(coefs, max_offset_db=13.5).threshold
    assert np.all(lo >= hi * (1 - 1e-12)) and np.any(lo > 2.0 * hi)
    with pytest.raises(PsychoacousticsError):
        free.analyze(coefs, max_offset_db=float("nan"))


@pytest.mark.parametrize("sub_block", [1, 7, 128])
@pytest.mark.parametrize("memory", [1, 8])
def test_compiled_transient_matches_numpy_reference(sub_block: int, memory: int) -> None:
    rng = np.random.default_rng(5)
    x = rng.standard_normal(3000) * np.exp(rng.standard_normal(3000))
    x[1500:] *= 100.0
    x[2200:2300] = 0.0
    fast = transient_strength(x, sub_block, memory=memory)
    ref = transient_strength_reference(x, sub_block, memory=memory)
    assert fast.shape == ref.shape == (3000 // sub_block,)
    np.testing.assert_allclose(fast, ref, rtol=1e-9)
    assert transient_strength(x[:sub_block - 1], sub_block).shape == (0,)


def test_masking_offset_bounds() -> None:
    """``max_offset_db`` caps a tone's offset (threshold rises where 14.5 + z > cap);
    ``min_offset_db`` floors it (threshold falls where 5.5 dB < floor); a bound that is
    never reached changes nothing."""
    edges = critical_band_edges(FS, N)
    x = sine(12000.0 + 0.37 * FS / (2 * N), 0.5, 4 * N) + sine(150.0, 0.01, 4 * N)
    x += 1e-4 * np.random.default_rng(3).standard_normal(4 * N)
    coefs = mdct_frames(x, N)
    plain = PsychoModel(FS, N, edges).analyze(coefs)
    capped = PsychoModel(FS, N, edges, max_offset_db=18.0).analyze(coefs)
    floored = PsychoModel(FS, N, edges, min_offset_db=lambda z: np.where(z < 3, 30.0, 0.0)).analyze(coefs)
    loose = PsychoModel(FS, N, edges, max_offset_db=60.0, min_offset_db=lambda z: 0.0 * z).analyze(coefs)
    hi = int(np.searchsorted(edges, int(12000 / (FS / (2 * N))), side="right") - 1)
    lo = int(np.searchsorted(edges, int(150 / (FS / (2 * N))), side="right") - 1)
    assert np.all(capped.threshold[:, hi] > 2.0 * plain.threshold[:, hi])
    assert np.all(capped.threshold >= plain.threshold * (1 - 1e-12))
    assert np.all(floored.threshold[:, lo] < plain.threshold[:, lo])
    assert np.all(floored.threshold <= plain.threshold * (1 + 1e-12))
    np.testing.assert_array_equal(loose.threshold, plain.threshold)
