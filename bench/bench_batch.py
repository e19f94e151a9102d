"""Issue 15, item 3: catalog encoding throughput at 1 and 2 local jobs (and on a Dask
LocalCluster), files per second and x realtime, measured in the same run.

The catalog is N copies of the shared 48 kHz stereo music items (or synthetic clips when
``../shared`` is absent), each T seconds long, written once into a temporary folder.

Usage: ``python bench/bench_batch.py [--files 8] [--seconds 20] [--bitrate 128k] [--dask]``
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from support import music_like, shared_files  # noqa: E402

from audiocodec.batch import encode_many  # noqa: E402
from audiocodec.cli.common import parse_bitrate  # noqa: E402


def make_catalog(folder: Path, files: int, seconds: float) -> float:
    """Write ``files`` 48 kHz stereo clips; returns their total duration in seconds."""
    music = [p for p in shared_files() if sf.info(str(p)).channels == 2]
    n = int(seconds * 48000)
    for i in range(files):
        if music:
            x, _ = sf.read(str(music[i % len(music)]), dtype="float32", always_2d=True)
            x = np.resize(x, (n, 2))  # loop the item to the length asked
        else:
            x = music_like(48000, seconds, 2, seed=i)
        sf.write(folder / f"track{i:03d}.wav", x, 48000, subtype="PCM_16")
    return files * n / 48000


def run(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in"
        src.mkdir()
        audio = make_catalog(src, args.files, args.seconds)
        encode_many([src / "track000.wav"], Path(tmp) / "warm", jobs=1, bitrate=args.bitrate)
        rows = []
        for jobs in (1, 2):
            t0 = time.perf_counter()
            res = encode_many([src], Path(tmp) / f"out{jobs}", jobs=jobs, bitrate=args.bitrate)
            dt = time.perf_counter() - t0
            assert res.ok and len(res.encoded) == args.files, res.summary()
            rows.append((f"local, {jobs} job{'s' if jobs > 1 else ''}", dt))
        if args.dask:
            from distributed import Client, LocalCluster

            with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cl, \
                    Client(cl) as client:
                encode_many([src / "track000.wav"], Path(tmp) / "warmd", client=client,
                            bitrate=args.bitrate)
                t0 = time.perf_counter()
                res = encode_many([src], Path(tmp) / "outd", client=client, bitrate=args.bitrate)
                rows.append(("dask LocalCluster, 2 workers", time.perf_counter() - t0))
                assert res.ok, res.summary()
    print(f"{args.files} files x {args.seconds:.0f} s, 48 kHz stereo, {args.bitrate // 1000} kbit/s")
    print(f"{'runner':<30}{'seconds':>9}{'files/s':>9}{'x realtime':>12}{'vs 1 job':>10}")
    base = rows[0][1]
    for name, dt in rows:
        print(f"{name:<30}{dt:>9.2f}{args.files / dt:>9.2f}{audio / dt:>12.1f}{base / dt:>10.2f}")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--bitrate", type=parse_bitrate, default=128_000)
    ap.add_argument("--dask", action="store_true", help="also on a 2-worker Dask LocalCluster")
    return run(ap.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
