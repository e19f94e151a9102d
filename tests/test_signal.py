"""The encoder's speech/music estimate (audiocodec.encoder.signal) and the signal hint."""

from __future__ import annotations

import numpy as np
import pytest

from audiocodec import Encoder, InputError, decode, encode
from audiocodec.encoder import signal as sig
from audiocodec.eval.metrics import snr_db

FS = 48000


def _harmonic(f0: np.ndarray, fs: int = FS, partials: int = 12) -> np.ndarray:
    """A harmonic tone following the per-sample fundamental ``f0`` (Hz), 1/k partial amplitudes."""
    phase = 2 * np.pi * np.cumsum(f0) / fs
    x = sum(np.sin(k * phase) / k for k in range(1, partials + 1))
    return 0.3 * x / np.max(np.abs(x))


def voice_like(seconds: float = 4.0, fs: int = FS, seed: int = 1) -> np.ndarray:
    """Syllables of 150-250 ms whose pitch glides by half an octave or more (as intonation
    does: a few percent every 10 ms), with gaps between them."""
    rng = np.random.default_rng(seed)
    out = []
    while sum(len(p) for p in out) < seconds * fs:
        n = int(rng.uniform(0.15, 0.25) * fs)
        f_a = rng.uniform(120, 220)
        f0 = f_a * 2.0 ** np.linspace(0, rng.choice([-1, 1]) * rng.uniform(0.5, 0.9), n)
        env = np.sin(np.linspace(0, np.pi, n)) ** 0.5
        out += [_harmonic(f0, fs) * env, np.zeros(int(rng.uniform(0.03, 0.12) * fs))]
    return np.concatenate(out)[: int(seconds * fs)]


def melody(seconds: float = 4.0, fs: int = FS, seed: int = 2) -> np.ndarray:
    """Held notes of 250-600 ms at steady pitches of the same range, played legato."""
    rng = np.random.default_rng(seed)
    out = []
    while sum(len(p) for p in out) < seconds * fs:
        n = int(rng.uniform(0.25, 0.6) * fs)
        f0 = np.full(n, 110 * 2 ** (rng.integers(0, 15) / 12))
        out.append(_harmonic(f0, fs) * np.exp(-np.arange(n) / (0.8 * fs)))
    return np.concatenate(out)[: int(seconds * fs)]


def _weights(x: np.ndarray, fs: int = FS, block: int = 1024) -> np.ndarray:
    c = sig.SignalClassifier(fs)
    return np.array([c.update(x[None, i : i + block]) for i in range(0, len(x) - block, block)])


def _vote_reference(ring: np.ndarray, win: int, lag_lo: int, lag_hi: int) -> int:
    """Plain numpy statement of :func:`signal._vote` (the oracle)."""
    s = ring[-win:]
    e0 = float(s @ s)
    if e0 < 1e-9 * win:
        return 0
    best, lag = sig.VOICED_R, 0
    for L in range(lag_lo, lag_hi + 1):
        t = ring[len(ring) - win - L : len(ring) - L]
        e1 = float(t @ t)
        if e1 > 0 and (s @ t) / np.sqrt(e0 * e1) > best:
            best, lag = (s @ t) / np.sqrt(e0 * e1), L
    return lag


def test_vote_kernel_matches_reference() -> None:
    c = sig.SignalClassifier(FS)
    rng = np.random.default_rng(3)
    n = len(c._ring)
    for trial in range(30):
        period = rng.uniform(c.lag_lo, c.lag_hi)
        t = np.arange(n)
        ring = np.sin(2 * np.pi * t / period) + 0.3 * np.sin(4 * np.pi * t / period + 1.0)
        ring += rng.normal(0, [0.01, 0.5, 2.0][trial % 3], n)
        assert sig._vote(ring, c.win, c.lag_lo, c.lag_hi) == _vote_reference(ring, c.win, c.lag_lo, c.lag_hi)
    assert sig._vote(np.zeros(n), c.win, c.lag_lo, c.lag_hi) == 0


def test_gliding_voice_reads_as_speech_and_held_notes_as_music() -> None:
    w_voice = _weights(voice_like())
    w_music = _weights(melody())
    assert w_voice[-40:].mean() > 0.8  # the last second: settled
    assert w_music.max() < 0.2


def test_weight_needs_voicing() -> None:
    noise = np.random.default_rng(4).normal(0, 0.1, 3 * FS)
    assert _weights(noise).max() == 0.0
    assert _weights(np.zeros(2 * FS)).max() == 0.0


@pytest.mark.parametrize("fs", [16000, 44100])
def test_other_rates(fs: int) -> None:
    assert _weights(voice_like(fs=fs), fs, block=fs // 50)[-40:].mean() > 0.8
    assert _weights(melody(fs=fs), fs, block=fs // 50).max() < 0.2


def test_signal_hint_changes_the_shaping_and_auto_follows_it() -> None:
    x = voice_like(5.0).astype(np.float32)[:, None]
    out = {}
    for s in ("auto", "speech", "music"):
        data = encode(x, FS, bitrate=32000, serial=5, signal=s)
        y, _ = decode(data)
        out[s] = (data, snr_db(x[: len(y)], y[: len(x)]))
    assert out["speech"][0] != out["music"][0]
    # speech shaping puts the bits where a voice has its energy: higher SNR at the same rate
    assert out["speech"][1] > out["music"][1] + 1.0
    # auto starts at music and reaches speech within the first second or two
    assert out["auto"][1] > out["music"][1] + 0.5


def test_signal_hint_is_checked() -> None:
    with pytest.raises(InputError, match="signal must be one of"):
        Encoder(FS, 1, signal="voice")
    with pytest.raises(InputError, match="signal applies only"):
        Encoder(FS, 1, mode="adpcm", signal="speech")
    with pytest.raises(InputError, match="signal applies only"):
        Encoder(FS, 1, quantizer="uniform", signal="music")


def test_warm_up_leaves_the_state_alone() -> None:
    c = sig.SignalClassifier(FS)
    before = (c._ring.copy(), c._state.copy())
    c.warm_up()
    assert np.array_equal(c._ring, before[0]) and np.array_equal(c._state, before[1])


def _breathy_voice(seconds: float = 4.0, seed: int = 3) -> np.ndarray:
    """``voice_like`` over band-passed noise (4-20 kHz, a tenth of the voice's peak level), the
    breath and fricative noise a microphone picks up above a voice's harmonics."""
    from scipy.signal import butter, sosfilt

    rng = np.random.default_rng(seed)
    x = voice_like(seconds, seed=seed)
    noise = sosfilt(butter(4, [4000, 20000], btype="bandpass", fs=FS, output="sos"),
                    rng.standard_normal(len(x)))
    return x + 0.03 * noise / np.std(noise)


def _band_level_db(ref: np.ndarray, out: np.ndarray, lo: float, hi: float) -> float:
    """Level of ``out`` against ``ref`` in ``lo..hi`` Hz (dB), whole signal."""
    f = np.fft.rfftfreq(len(ref), 1 / FS)
    m = (f >= lo) & (f < hi)
    return float(10 * np.log10(np.sum(np.abs(np.fft.rfft(out)[m]) ** 2)
                               / np.sum(np.abs(np.fft.rfft(ref)[m]) ** 2)))


def test_speech_noise_band_keeps_the_fricative_level_in_low_delay() -> None:
    """In low delay at 32 kbit/s the speech noise band (``AdaptiveTuning.speech_noise_band_short_hop``)
    sends a voice's noise above 6.5 kHz as its energy: the coded-band count reaches past the
    last nonzero band, the level there holds, and the bits it no longer spends on those values
    raise the SNR under 5 kHz (by 3.1 dB on this signal)."""
    import dataclasses

    from scipy.signal import butter, sosfiltfilt

    from audiocodec import Decoder
    from audiocodec.core import FrameStats
    from audiocodec.encoder.tuning import DEFAULT_TUNING

    x = _breathy_voice().astype(np.float32)[:, None]
    off = dataclasses.replace(DEFAULT_TUNING, speech_noise_band_short_hop=((0.0, float(FS)),))
    low = butter(6, 5000, fs=FS, output="sos")
    level, low_snr, noise_frames = {}, {}, {}
    for name, tuning in (("on", None), ("off", off)):
        data = encode(x, FS, bitrate=32000, low_delay=True, signal="speech", serial=2, tuning=tuning)
        y, _ = decode(data)
        ref, out = x[:, 0].astype(np.float64), y[: len(x), 0].astype(np.float64)
        level[name] = _band_level_db(ref, out, 9000, 16000)
        low_snr[name] = snr_db(sosfiltfilt(low, ref)[:, None], sosfiltfilt(low, out)[:, None])
        count = []

        def seen(st: FrameStats, count: list[int] = count) -> None:
            nbc = int(st.coded_bands[0])
            if nbc and not np.any(st.q[0, st.edges[nbc - 1] : st.edges[nbc]]):
                count.append(st.index)  # the last coded band holds only noise

        enc = Encoder(FS, 1, bitrate=32000, low_delay=True, signal="speech", serial=2, tuning=tuning)
        dec = Decoder(enc.header, observer=seen)
        for p in [*enc.encode(x), *enc.flush()]:
            dec.decode(p)
        noise_frames[name] = len(count)
    assert noise_frames["off"] == 0 and noise_frames["on"] > 50, noise_frames
    assert abs(level["on"]) < 1.5, level
    assert low_snr["on"] > low_snr["off"] + 1.5, low_snr
