"""How close the range coder comes to the zeroth-order entropy of what it codes.

For each item and bitrate: the quantized coefficients every frame codes
(within its coded bandwidth) are collected; their zeroth-order entropy over
the whole file, H0 (bits per symbol of the signed values, times the count), is
compared with what the coder spent on them. The coder's spend on
coefficients is the payload size minus the size of the same payload with
every coefficient zero (side info: steps, band counts, flags), measured by
running the real coder both ways on what the encoder's observer saw of each
frame (:class:`audiocodec.core.FrameStats`).

    python bench/bench_entropy.py [--seconds S] [FILES...]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import soundfile as sf

from audiocodec import Encoder
from audiocodec.core import FrameStats, entropy
from audiocodec.core.layout import INFO_COARSE_SF, INFO_MS

SHARED = Path(__file__).resolve().parents[2] / "shared" / "audio"


def _payload_bytes(st: FrameStats, q: np.ndarray, buf: np.ndarray) -> int:
    """Bytes of ``st``'s payload with coefficients ``q`` (M/S band flags and noise-fill
    levels zero, scale factors coded intra: they cost the same whatever ``q`` is, so they
    cancel in a difference)."""
    sf_ = np.ascontiguousarray(st.scale_factors)
    g = np.ascontiguousarray(sf_[:, 0]).astype(np.int32)
    nbc = np.ascontiguousarray(st.coded_bands)
    zeros = np.zeros_like(nbc)
    ms = np.zeros(sf_.shape[1], np.uint8)
    mag0, sf0, ms0 = entropy.model_tables()
    return int(entropy.encode_payload(q, sf_, g, nbc, zeros, ms, bool(st.info & INFO_MS),
                                      bool(st.info & INFO_COARSE_SF), st.edges, mag0, sf0, ms0, buf,
                                      0, 0, -1, np.zeros(sf_.shape, np.int32), -1))


def measure(path: Path, bitrate: int, seconds: float) -> tuple[float, float, float]:
    x, sr = sf.read(str(path), dtype="float32", always_2d=True)
    x = x[: int(seconds * sr)]
    symbols: list[np.ndarray] = []
    coef_bits = 0.0
    total_bits = 0.0
    buf = np.zeros(65536, np.uint8)

    def seen(st: FrameStats) -> None:
        nonlocal coef_bits, total_bits
        q = np.ascontiguousarray(st.q)
        for c in range(q.shape[0]):
            symbols.append(q[c, : st.edges[st.coded_bands[c]]].copy())
        full = _payload_bytes(st, q, buf)
        side = _payload_bytes(st, np.zeros_like(q), buf)
        total_bits += st.bits
        coef_bits += 8 * (full - side)

    enc = Encoder(sr, x.shape[1], bitrate=bitrate, serial=1, observer=seen)
    enc.encode(x)
    enc.flush()
    allq = np.concatenate(symbols) if symbols else np.zeros(0, np.int32)
    _, counts = np.unique(allq, return_counts=True)
    p = counts / counts.sum()
    h0 = float(-(p * np.log2(p)).sum() * allq.size)
    return coef_bits, h0, total_bits


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="*", type=Path)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--bitrates", default="64000,128000")
    a = ap.parse_args()
    files = a.files or sorted(p for p in SHARED.glob("*48_stereo.wav"))
    print(f"{'item':<28}{'kbps':>6}{'coded coef kbit':>17}{'H0 kbit':>10}{'coded/H0':>10}")
    for f in files:
        for br in (int(b) for b in a.bitrates.split(",")):
            coded, h0, _total = measure(f, br, a.seconds)
            print(f"{f.name:<28}{br // 1000:>6}{coded / 1000:>17.1f}{h0 / 1000:>10.1f}{coded / h0:>10.3f}")


if __name__ == "__main__":
    main()
