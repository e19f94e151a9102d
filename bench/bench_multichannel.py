"""Per-channel quality of a 5.1 mix built from the shared items, ours against libopus.

The mix (WAV order FL FR FC LFE BL BR, 48 kHz, the first 7 s): the guitar on FL/FR, the
48 kHz speech on FC, the harpsichord on BL/BR, and on the LFE the guitar's mono mix low-passed
at 120 Hz (fourth-order Butterworth, zero phase). Ours is coded at each nominal rate in the
default mode; libopus (``-mapping_family 1``, its 5.1 with the LFE) at the nominal rate that
gives our actual rate within 3 % (its VBR overshoots by 10-20 % on this mix).
Every channel but the LFE is scored on its own (ViSQOL v3 and Zimtohrli at 48 kHz; PESQ-WB on
the centre's speech); the LFE by its SNR below 120 Hz. Actual bitrates are the whole file's.
Needs ``../shared/audio`` and ffmpeg with libopus.

    python bench/bench_multichannel.py [--rates 128 192 256] [--jobs 2]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy import signal

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
AUDIO = ROOT.parent / "shared" / "audio"
RATE = 48000
SECONDS = 7.0
NAMES = ["FL", "FR", "FC", "LFE", "BL", "BR"]


def mix() -> np.ndarray:
    n = int(RATE * SECONDS)

    def item(name: str) -> np.ndarray:
        x, sr = sf.read(AUDIO / f"{name}.wav", dtype="float64", always_2d=True)
        assert sr == RATE
        return x[:n]

    guitar, harp, voice = item("guitar48_stereo"), item("harpsichord48_stereo"), item("speech_alsa48_mono")
    sos = signal.butter(4, 120.0, fs=RATE, output="sos")
    lfe = signal.sosfiltfilt(sos, guitar.mean(axis=1))
    out = np.stack([guitar[:, 0], guitar[:, 1], voice[:, 0], lfe, harp[:, 0], harp[:, 1]], axis=1)
    return out.astype(np.float32)


def low_snr(x: np.ndarray, y: np.ndarray) -> float:
    sos = signal.butter(4, 120.0, fs=RATE, output="sos")
    a, b = signal.sosfiltfilt(sos, x), signal.sosfiltfilt(sos, y)
    return float(10 * np.log10(np.sum(a * a) / max(np.sum((a - b) ** 2), 1e-20)))


def opus(x: np.ndarray, kbps: int, tmp: Path) -> tuple[np.ndarray, float]:
    src, enc, dec = tmp / "in.wav", tmp / f"o{kbps}.opus", tmp / f"o{kbps}.wav"
    sf.write(src, x, RATE, subtype="FLOAT")
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", str(src), "-c:a", "libopus",
                    "-mapping_family", "1", "-b:a", f"{kbps}k", str(enc)], check=True)
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", str(enc), "-ar", str(RATE),
                    "-c:a", "pcm_f32le", str(dec)], check=True)
    y = sf.read(dec, dtype="float32", always_2d=True)[0]
    from audiocodec.eval.metrics import align

    y, _ = align(x, y, RATE)
    return y, enc.stat().st_size * 8 / SECONDS / 1000


def score(job: tuple[str, int, int, np.ndarray, np.ndarray]) -> tuple[str, int, int, dict[str, float]]:
    from audiocodec.eval import perceptual

    who, kbps, ch, x, y = job
    if ch == 3:
        return who, kbps, ch, {"snr_lf": low_snr(x, y)}
    s = perceptual.scores(x[:, None], y[:, None], RATE, speech=ch == 2)
    out = {"visqol": s["visqol"], "zimtohrli": s["zimtohrli"]}
    if ch == 2:
        out["pesq"] = s["pesq"]
    return who, kbps, ch, out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rates", type=int, nargs="+", default=[128, 192, 256])
    p.add_argument("--jobs", type=int, default=2)
    a = p.parse_args()
    if not AUDIO.is_dir():
        print(f"bench_multichannel: {AUDIO} not found", file=sys.stderr)
        return 2
    import audiocodec
    from audiocodec.eval.metrics import shift

    x = mix()
    jobs, actual = [], {}
    with tempfile.TemporaryDirectory() as d:
        for kbps in a.rates:
            data = audiocodec.encode(x, RATE, bitrate=kbps * 1000, serial=1)
            y = shift(audiocodec.decode(data)[0], 0, len(x))
            actual["ours", kbps] = ours = len(data) * 8 / SECONDS / 1000
            nom = float(kbps)  # libopus's nominal rate, searched to our actual rate (within 3 %)
            for _ in range(6):
                o, actual["libopus", kbps] = opus(x, int(round(nom)), Path(d))
                if abs(actual["libopus", kbps] / ours - 1) < 0.03:
                    break
                nom *= ours / actual["libopus", kbps]
            for who, dec in (("ours", y), ("libopus", o)):
                jobs += [(who, kbps, c, x[:, c], np.asarray(dec[: len(x), c], np.float32))
                         for c in range(6)]
    with ProcessPoolExecutor(a.jobs) as pool:
        res = {(w, k, c): s for w, k, c, s in pool.map(score, jobs)}
    print("| codec | nominal | actual kbit/s | " + " | ".join(
        f"{n} ViSQOL / Zimtohrli" if n != "LFE" else "LFE SNR < 120 Hz, dB" for n in NAMES)
        + " | FC PESQ-WB | mean of 5, ViSQOL / Zimtohrli |")
    print("|---" * (len(NAMES) + 5) + "|")
    for kbps in a.rates:
        for who in ("ours", "libopus"):
            cells = []
            for c, _ in enumerate(NAMES):
                s = res[who, kbps, c]
                cells.append(f"{s['snr_lf']:.1f}" if c == 3 else f"{s['visqol']:.2f} / {s['zimtohrli']:.2f}")
            full = [res[who, kbps, c] for c in range(6) if c != 3]
            mv = np.mean([s["visqol"] for s in full])
            mz = np.mean([s["zimtohrli"] for s in full])
            print(f"| {who} | {kbps}k | {actual[who, kbps]:.1f} | " + " | ".join(cells)
                  + f" | {res[who, kbps, 2]['pesq']:.2f} | {mv:.3f} / {mz:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
