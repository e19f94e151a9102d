"""Benchmark ``audiocodec live`` under a JACK dummy server at several periods.

For each period (default 512 and 256) this starts its own ``jackd`` with
``.ci/jack.sh`` (dummy backend, 48 kHz, real-time scheduling when the system
allows it, else without),
runs the live app with a seeded synthetic ``--input-file`` for ``--seconds`` in
each mode, and prints xruns (counted by a JACK client), callback load mean/p99/max and the
largest load within two callbacks of an xrun (did our callback overrun there?), and how late
the callbacks started against the period's grid, p99 / max / largest within two callbacks of
an xrun (did the driver or the scheduler wake us late there?) (all shares of the block period),
the end-to-end latency the app reports, and the bitrate. The server is
stopped by its pid. Needs jackd2, libportaudio2, sounddevice and JACK-Client.

    python bench/bench_live.py [--periods 512 256] [--modes mdct adpcm bypass] [--seconds 10]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from support import ROOT, checkout_env, jack_server, live_command  # noqa: E402

RATE = 48000


def _signal(seconds: float) -> np.ndarray:
    rng = np.random.default_rng(1)
    t = np.arange(int(seconds * RATE)) / RATE
    tone = 0.3 * np.sin(2 * np.pi * 440 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 0.5 * t))
    x = np.stack([tone, np.roll(tone, 100)], axis=1) + 0.03 * rng.standard_normal((len(t), 2))
    return x.astype(np.float32)


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.1f}%"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--periods", type=int, nargs="+", default=[512, 256])
    parser.add_argument("--modes", nargs="+", default=["mdct", "adpcm", "bypass"])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--no-realtime", action="store_true",
                        help="run jackd without real-time scheduling (default: real-time when allowed)")
    args = parser.parse_args()

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "signal.wav"
        sf.write(src, _signal(5.0), RATE, subtype="FLOAT")
        for period in args.periods:
            name = f"audiocodec-bench-{os.getpid()}-{period}"
            with jack_server(name, period, RATE, realtime=not args.no_realtime) as rt:
                env = checkout_env(JACK_DEFAULT_SERVER=name, JACK_NO_START_SERVER="1")
                for mode in args.modes:
                    summary_path = Path(tmp) / f"{mode}-{period}.json"
                    codec = ["--bypass"] if mode == "bypass" else ["--mode", mode]
                    proc = subprocess.run(
                        live_command(
                            *codec,
                            "--blocksize",
                            str(period),
                            "--input-file",
                            str(src),
                            "--loop",
                            "--duration",
                            str(args.seconds),
                            "--summary-json",
                            str(summary_path),
                            "-q",
                        ),
                        cwd=ROOT,
                        env=env,
                        capture_output=True,
                        text=True,
                    )
                    if proc.returncode != 0:
                        print(f"{mode} @ {period}: failed: {proc.stderr.strip()}", file=sys.stderr)
                        continue
                    s = json.loads(summary_path.read_text())
                    rows.append((period, mode, s, rt))
                    time.sleep(0.5)

    print(
        f"{'period':>6} {'mode':>6} {'xruns':>5} {'load mean':>9} {'load p99':>8} {'load max':>8} "
        f"{'at xruns':>8} {'late p99':>8} {'late max':>8} {'at xruns':>8} {'latency ms':>10} "
        f"{'codec delay':>11} {'kbit/s':>8} {'callbacks':>9} "
        f"{'server':>8}"
    )
    for period, mode, s, rt in rows:
        print(
            f"{period:>6} {mode:>6} {s['xruns']:>5} {100 * s['callback_load_mean']:>8.1f}% "
            f"{100 * s['callback_load_p99']:>7.1f}% {100 * s['callback_load_max']:>7.1f}% "
            f"{_pct(s['callback_load_near_xruns']):>8} {_pct(s['callback_start_late_p99']):>8} "
            f"{_pct(s['callback_start_late_max']):>8} {_pct(s['callback_start_late_near_xruns']):>8} "
            f"{s['latency_ms']:>10.2f} "
            f"{s['codec_delay_samples']:>11} {s['bitrate_kbps']:>8.1f} {s['callbacks']:>9} "
            f"{'realtime' if rt else 'normal':>8}"
        )
    print(f"load average at the end: {' / '.join(f'{v:.1f}' for v in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
