"""Issue 15, item 2: a slice from the middle of a long file against a whole decode, each as a
whole process (``audiocodec decode``, start-up included), in the same run.

Goal: a 10 s slice from the middle of a 10-minute file in at most a fifth of the whole decode's
time, and sample for sample equal to the same samples of the whole decode.

The file is the shared SQAM items looped to the length asked (synthetic music when ``../shared``
is absent), encoded once at 128 kbit/s. Usage::

    python bench/bench_seek.py [--minutes 10] [--slice 10] [--repeat 3]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from support import music_like, shared_files  # noqa: E402


def _run(args: list[str]) -> float:
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "audiocodec", *args], capture_output=True, text=True,
                       stdin=subprocess.DEVNULL)
    if r.returncode != 0:
        raise SystemExit(f"audiocodec {' '.join(args)} failed: {r.stderr.strip()}")
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--slice", type=float, default=10.0, help="seconds")
    ap.add_argument("--repeat", type=int, default=3, help="best of N runs of each")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        n = int(a.minutes * 60 * 48000)
        music = [p for p in shared_files() if sf.info(str(p)).channels == 2]
        parts = [sf.read(str(p), dtype="float32", always_2d=True)[0] for p in music] or [
            music_like(48000, 30.0, 2, seed=s) for s in range(4)]
        x = np.resize(np.concatenate(parts), (n, 2))
        sf.write(str(d / "long.wav"), x, 48000, subtype="PCM_16")
        _run(["encode", str(d / "long.wav"), str(d / "long.aqc"), "-b", "128k"])
        start = a.minutes * 30 - a.slice / 2
        whole = min(_run(["decode", str(d / "long.aqc"), str(d / "whole.wav"), "--force"])
                    for _ in range(a.repeat))
        part = min(_run(["decode", str(d / "long.aqc"), str(d / "part.wav"), "--force",
                         "--start", f"{start}", "--duration", f"{a.slice}"]) for _ in range(a.repeat))
        w, _ = sf.read(str(d / "whole.wav"), dtype="int16")
        p, _ = sf.read(str(d / "part.wav"), dtype="int16")
        s = int(round(start * 48000))
        exact = p.shape[0] == int(round(a.slice * 48000)) and np.array_equal(w[s : s + p.shape[0]], p)
    ratio = part / whole
    print(f"{a.minutes:g}-minute file, 128 kbit/s: whole decode {whole:.2f} s, {a.slice:g} s slice "
          f"from {start:g} s {part:.2f} s (whole process, best of {a.repeat}): ratio {ratio:.3f}, "
          f"goal <= 0.2 {'MET' if ratio <= 0.2 else 'NOT MET'}; slice equals the whole decode's "
          f"samples: {'yes' if exact else 'NO'}")
    return 0 if exact and ratio <= 0.2 else 1


if __name__ == "__main__":
    raise SystemExit(main())
