"""``audiocodec demo``: encode and decode a bundled sample, print what it measured."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
DEFAULT_SAMPLE = SAMPLES / "demo48_stereo.flac"


def snr_db(ref: np.ndarray, deg: np.ndarray) -> float:
    """Signal-to-noise ratio in dB of ``deg`` against ``ref`` (same shape)."""
    noise = np.sum((ref.astype(np.float64) - deg) ** 2)
    sig = np.sum(ref.astype(np.float64) ** 2)
    return float(10 * np.log10(sig / noise)) if noise > 0 else float("inf")


def run_demo(args: argparse.Namespace) -> int:
    import soundfile as sf

    from . import api
    from .errors import InputError

    src = Path(args.input) if args.input else DEFAULT_SAMPLE
    if not src.exists():
        raise InputError(f"{src}: no such file (run python samples/make_samples.py)")
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    ref, sr = sf.read(str(src), dtype="float32", always_2d=True)
    seconds = ref.shape[0] / sr
    print(f"input: {src.name}: {seconds:.2f} s, {sr} Hz, {ref.shape[1]} ch")
    print(f"{'method':<22}{'kbit/s':>8}{'SNR dB':>8}{'enc xRT':>9}{'dec xRT':>9}")
    runs = [("adaptive", {"mode": "mdct", "quantizer": "adaptive", "bitrate": args.bitrate}),
            ("uniform", {"mode": "mdct", "quantizer": "uniform", "bitrate": args.bitrate}),
            ("adpcm (4 bit)", {"mode": "adpcm"})]
    for name, opts in runs:
        # compile the numba kernels (or load them from the cache) before timing
        api.decode(api.encode(ref[: min(len(ref), 4096)], sr, serial=1, **opts))
        t0 = time.perf_counter()
        data = api.encode(ref, sr, serial=1, **opts)
        t1 = time.perf_counter()
        dec, _ = api.decode(data)
        t2 = time.perf_counter()
        tag = name.split()[0]
        (out_dir / f"{src.stem}.{tag}.aqc").write_bytes(data)
        sf.write(str(out_dir / f"{src.stem}.{tag}.wav"), dec, sr, subtype="PCM_16")
        kbps = len(data) * 8 / seconds / 1000
        print(f"{name:<22}{kbps:>8.1f}{snr_db(ref, dec):>8.1f}"
              f"{seconds / (t1 - t0):>9.1f}{seconds / (t2 - t1):>9.1f}")
    print(f"decoded files in {out_dir}/ (SNR is not loudness-weighted: the adaptive quantizer "
          "trades SNR for inaudible noise; see `audiocodec eval` for ViSQOL)")
    return 0
