"""ViSQOL of the streaming codec under random packet loss (concealment).

For each shared music item: encode with the streaming Encoder (low-delay
MDCT at 64 kbit/s, and ADPCM), drop packets at random (seeded) with
probability 0, 5 and 20 %, decode with ``Decoder.decode(None)`` for each lost
packet, and score ViSQOL (audio mode, 48 kHz, per channel, the mean of L and R).

    python bench/bench_loss.py [--seconds S]
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from audiocodec.stream import Decoder, Encoder

SHARED = Path(__file__).resolve().parents[2] / "shared" / "audio"


def run(x: np.ndarray, sr: int, loss: float, seed: int, **opts: Any) -> tuple[np.ndarray, int, int]:
    enc = Encoder(sr, x.shape[1], serial=1, **opts)
    dec = Decoder(enc.header)
    rng = np.random.default_rng(seed)
    out = []
    lost = 0
    pkts = enc.encode(x) + enc.flush()
    for p in pkts:
        if rng.random() < loss:
            lost += 1
            out.append(dec.decode(None))
        else:
            out.append(dec.decode(p))
    y = np.concatenate(out)
    return y[: len(x)], lost, len(pkts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=10.0)
    a = ap.parse_args()
    from audiocodec.eval.perceptual import visqol

    modes: dict[str, dict[str, Any]] = {
        "mdct low-delay 64k": {"low_delay": True, "bitrate": 64000},
        "adpcm": {"mode": "adpcm"},
    }
    print(f"{'item':<26}{'mode':<20}{'loss':>6}{'lost':>7}{'ViSQOL/ch':>10}")
    for f in sorted(SHARED.glob("*48_stereo.wav")):
        x, sr = sf.read(str(f), dtype="float32", always_2d=True)
        x = x[: int(a.seconds * sr)]
        for name, opts in modes.items():
            for loss in (0.0, 0.05, 0.20):
                y, lost, n = run(x, sr, loss, 7, **opts)
                if len(y) < len(x):
                    y = np.concatenate((y, np.zeros((len(x) - len(y), x.shape[1]), np.float32)))
                score = visqol(x, y, sr)
                if score is None:
                    raise SystemExit("visqol-python is not installed (pip install 'audiocodec[eval]')")
                print(f"{f.name:<26}{name:<20}{loss:>6.0%}{lost:>4}/{n:<4}{score[0]:>6.3f}", flush=True)


if __name__ == "__main__":
    main()
