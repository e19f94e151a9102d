"""Regenerate the bundled samples: synthetic music made by this script (public domain, CC0).

    python samples/make_samples.py

``demo48_stereo.flac``: 6 s, 48 kHz stereo: plucked strings (Karplus-Strong)
playing a few chords, a vibrato lead tone, and castanet-like clicks (sharp
attacks for pre-echo). ``speech_like16_mono.flac``: 3 s, 16 kHz mono, a
formant-filtered glottal pulse train with pitch glides (vowel-like).
Deterministic: the same bytes every run (seeded).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import lfilter

HERE = Path(__file__).resolve().parent


def pluck(freq: float, dur: float, sr: int, rng: np.random.Generator, decay: float = 0.996) -> np.ndarray:
    p = int(round(sr / freq))
    n = int(dur * sr)
    exc = np.zeros(n)
    exc[:p] = rng.uniform(-1, 1, p)
    a = np.zeros(p + 2)
    a[0] = 1.0
    a[p] = -decay / 2
    a[p + 1] = -decay / 2
    return lfilter([1.0], a, exc)


def music(sr: int = 48000, seconds: float = 6.0) -> np.ndarray:
    rng = np.random.default_rng(20261128)
    n = int(sr * seconds)
    out = np.zeros((n, 2))
    chords = [(196.0, 246.9, 293.7, 392.0), (220.0, 261.6, 329.6, 440.0),
              (174.6, 220.0, 261.6, 349.2), (196.0, 246.9, 293.7, 392.0)]
    for ci, chord in enumerate(chords):
        start = int(ci * 1.5 * sr)
        for vi, f in enumerate(chord):
            s = start + int(vi * 0.03 * sr)
            tone = pluck(f, 1.6, sr, rng)[: n - s]
            pan = 0.2 + 0.6 * vi / 3
            out[s : s + len(tone), 0] += 0.18 * tone * (1 - pan)
            out[s : s + len(tone), 1] += 0.18 * tone * pan
    t = np.arange(n) / sr
    lead = np.sin(2 * np.pi * 587.3 * t + 3.0 * np.sin(2 * np.pi * 5.5 * t)) * np.minimum(1, t / 0.5)
    lead *= 0.08 * (0.5 + 0.5 * np.sin(2 * np.pi * 0.25 * t) ** 2)
    out[:, 0] += lead * 0.7
    out[:, 1] += lead * 0.4
    for k in range(10):
        s = int((0.4 + 0.55 * k) * sr)
        m = int(0.02 * sr)
        burst = rng.standard_normal(m) * np.exp(-np.arange(m) / (0.0025 * sr))
        burst = lfilter([1, -0.95], [1], burst)
        out[s : s + m, 0] += 0.25 * burst
        out[s : s + m, 1] += 0.2 * burst
    return (out / np.max(np.abs(out)) * 0.89).astype(np.float32)


def speech_like(sr: int = 16000, seconds: float = 3.0) -> np.ndarray:
    n = int(sr * seconds)
    t = np.arange(n) / sr
    f0 = 120 + 30 * np.sin(2 * np.pi * 0.7 * t)
    phase = np.cumsum(f0 / sr)
    pulses = np.diff(np.floor(phase), prepend=0.0)
    y = np.zeros(n)
    for f, bw, g in ((700, 90, 1.0), (1200, 110, 0.6), (2600, 160, 0.3)):
        r = np.exp(-np.pi * bw / sr)
        a = [1, -2 * r * np.cos(2 * np.pi * f / sr), r * r]
        y += g * lfilter([1 - r], a, pulses)
    env = 0.5 + 0.5 * np.sin(2 * np.pi * 1.3 * t) ** 2
    y *= env
    return (y / np.max(np.abs(y)) * 0.7).astype(np.float32)[:, None]


def main() -> None:
    sf.write(HERE / "demo48_stereo.flac", music(), 48000, subtype="PCM_16")
    sf.write(HERE / "speech_like16_mono.flac", speech_like(), 16000, subtype="PCM_16")


if __name__ == "__main__":
    main()
