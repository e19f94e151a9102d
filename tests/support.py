"""Shared test support: seeded test signals, SNR, and the optional shared recordings.

Used by the tests, the fuzz seed generator and the benchmarks (which put
``tests/`` on ``sys.path``), so every seeded signal has one definition.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from audiocodec.metrics import snr_db

__all__ = ["SHARED_AUDIO", "music_like", "shared_files", "snr_db", "tones_and_burst"]

SHARED_AUDIO = Path(__file__).resolve().parents[2] / "shared" / "audio"


def music_like(
    sr: int = 48000, seconds: float = 1.0, channels: int = 2, seed: int = 0
) -> np.ndarray:
    """Seeded test signal: decaying harmonic tones, a little noise, one sharp attack."""
    rng = np.random.default_rng(seed)
    n = int(sr * seconds)
    t = np.arange(n) / sr
    out = np.zeros((n, channels))
    for c in range(channels):
        f0 = 220.0 * (1.0 + 0.25 * c)
        for h in range(1, 8):
            out[:, c] += 0.3 / h * np.sin(2 * np.pi * f0 * h * t + rng.uniform(0, 6.28))
        out[:, c] *= np.exp(-1.5 * t)
        out[:, c] += 0.01 * rng.standard_normal(n)
        k = n // 2
        out[k : k + 200, c] += 0.4 * rng.standard_normal(200) * np.exp(-np.arange(200) / 40)
    return out.astype(np.float32)


def tones_and_burst(
    n: int, channels: int, seed: int, *, rate: int = 48000, f0: float = 220.0, df: float = 110.0,
    amp: float = 0.3, noise: float = 0.005, burst: float = 0.0, step: float = 0.0,
    over: float = 0.0,
) -> np.ndarray:
    """Seeded float32 ``(n, channels)``: one tone per channel (``f0 + c * df``) plus noise.

    ``burst`` adds a 64-sample noise burst of that amplitude at the middle (a transient
    for block switching); ``step`` a 200-sample DC jump at a third; ``over`` sets 50
    samples at the middle to that value (beyond full scale: clipped, never wrapped).
    """
    rng = np.random.default_rng(seed)
    t = np.arange(n) / rate
    x = np.zeros((n, channels))
    for c in range(channels):
        x[:, c] = amp * np.sin(2 * np.pi * (f0 + df * c) * t) + noise * rng.standard_normal(n)
        if step:
            x[n // 3 : n // 3 + 200, c] += step
    if burst:
        k = n // 2
        m = min(64, n - k)
        x[k : k + m] += burst * rng.standard_normal((m, channels))
    if over:
        x[n // 2 : n // 2 + 50] = over
    return x.astype(np.float32)


def shared_files() -> list[Path]:
    """The shared recordings (``../shared/audio/*.wav``), or [] on a fresh clone."""
    if not SHARED_AUDIO.is_dir():
        return []
    return sorted(SHARED_AUDIO.glob("*.wav"))
