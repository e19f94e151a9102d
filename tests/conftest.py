"""Shared fixtures: seeded signals and the optional shared recordings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

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


@pytest.fixture
def music() -> np.ndarray:
    return music_like()


def shared_files() -> list[Path]:
    if not SHARED_AUDIO.is_dir():
        return []
    return sorted(SHARED_AUDIO.glob("*.wav"))


def snr_db(ref: np.ndarray, deg: np.ndarray) -> float:
    noise = float(np.sum((ref.astype(np.float64) - deg) ** 2))
    return 10 * np.log10(float(np.sum(ref.astype(np.float64) ** 2)) / max(noise, 1e-30))
