"""Benchmark our IMA ADPCM encoders and decoder against ffmpeg's ``adpcm_ima_wav``.

For every WAV in ../shared/audio (or the folder given as the first argument) this
measures, in one run:

* our greedy and search encoders writing an IMA ADPCM WAV (read the 16-bit WAV,
  encode, write the file: the in-process equivalent of ffmpeg's whole job),
  standard codes (the default), and search with ``portable=True`` (codes that
  ffmpeg's decoder also reconstructs exactly);
* our decoder (read the IMA WAV back to float32);
* ffmpeg ``-c:a adpcm_ima_wav`` at its default and with ``-trellis 8``, timed as
  the whole ffmpeg process.

``--players`` instead prints what a listener hears: every file (ours by default and
``--portable``, ffmpeg's own encoder) decoded by ffmpeg, sox and libsndfile, whole-file
SNR against the 16-bit input and the largest sample difference between the players.

Speed is "x realtime": audio duration / wall time (best of ``--repeat`` runs,
after a warm-up so numba's JIT is not timed). SNR is over all channels against
the 16-bit input, in dB; ffmpeg's files are decoded by ffmpeg itself (its
decoder matches its encoder; decoded with the IMA reference formula, as sox and
libsndfile would, it is also shown). Ratios are ours / ffmpeg.

Usage: ``python bench/bench_adpcm.py [AUDIO_DIR] [--repeat N] [--players]``
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from audiocodec.adpcm.wav import read_ima_wav, write_ima_wav  # noqa: E402


def snr_db(ref: np.ndarray, out: np.ndarray) -> float:
    """SNR of int16-scaled ``out`` against ``ref`` over their common length."""
    n = min(ref.shape[0], out.shape[0])
    r = ref[:n].astype(np.float64)
    e = out[:n].astype(np.float64) - r
    return float(10.0 * np.log10(np.sum(r * r) / max(np.sum(e * e), 1e-30)))


def best_time(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def ffmpeg_decode(path: Path, channels: int) -> np.ndarray:
    raw = subprocess.run(
        ["ffmpeg", "-nostdin", "-loglevel", "error", "-i", str(path), "-f", "s16le", "-"],
        check=True, capture_output=True,
    ).stdout
    return np.frombuffer(raw, dtype=np.int16).reshape(-1, channels)


def sox_decode(path: Path, channels: int) -> np.ndarray:
    raw = subprocess.run(["sox", str(path), "-t", "raw", "-e", "signed", "-b", "16", "-"],
                         check=True, capture_output=True).stdout
    return np.frombuffer(raw, dtype=np.int16).reshape(-1, channels)


def players_row(src: Path, tmp: Path) -> list[float]:
    """SNR of ours (default, portable) in ffmpeg / sox / libsndfile, ffmpeg's encoder in ffmpeg,
    and the largest ffmpeg-vs-sox sample difference of our default file."""
    ref, sr = sf.read(src, dtype="int16", always_2d=True)
    ch = ref.shape[1]
    row: list[float] = []
    spread = 0.0
    for portable in (False, True):
        out = tmp / f"ours{int(portable)}.wav"
        write_ima_wav(out, ref.astype(np.float32) / 32768.0, sr, portable=portable)
        by_ff, by_sox = ffmpeg_decode(out, ch), sox_decode(out, ch)
        by_lsf = sf.read(out, dtype="int16", always_2d=True)[0]
        row += [snr_db(ref, by_ff), snr_db(ref, by_sox), snr_db(ref, by_lsf)]
        if not portable:
            spread = float(np.abs(by_ff.astype(np.int32) - by_sox).max())
    fo = tmp / "ffmpeg.wav"
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-i", str(src), "-c:a",
                    "adpcm_ima_wav", str(fo)], check=True, capture_output=True)
    return [*row, snr_db(ref, ffmpeg_decode(fo, ch)), spread]


def players(files: list[Path]) -> int:
    print("Whole-file SNR (dB) against the 16-bit input, by the player that decodes the file")
    print(f"{'item':26s} {'ours:ffmpeg':>11s} {'sox':>6s} {'lsf':>6s}  {'portable:ff':>11s} {'sox':>6s} "
          f"{'lsf':>6s}  {'ffmpeg-enc:ff':>13s}  {'max |ff-sox|':>12s}")
    with tempfile.TemporaryDirectory() as td:
        for f in files:
            r = players_row(f, Path(td))
            print(f"{f.stem:26s} {r[0]:11.2f} {r[1]:6.2f} {r[2]:6.2f}  {r[3]:11.2f} {r[4]:6.2f} "
                  f"{r[5]:6.2f}  {r[6]:13.2f}  {r[7]:12.0f}", flush=True)
    return 0


def bench_file(src: Path, tmp: Path, repeat: int, have_ffmpeg: bool) -> dict[str, float]:
    ref, sr = sf.read(src, dtype="int16", always_2d=True)
    ch = ref.shape[1]
    dur = ref.shape[0] / sr
    row: dict[str, float] = {"dur": dur}
    out = tmp / "ours.wav"

    def ours(encoder: str, portable: bool) -> Callable[[], object]:
        def run() -> None:
            pcm, rate = sf.read(src, dtype="float32", always_2d=True)
            write_ima_wav(out, pcm, rate, encoder=encoder, portable=portable)
        return run

    for name, enc, portable in (
        ("greedy", "greedy", False),
        ("search", "search", False),
        ("search_port", "search", True),
    ):
        fn = ours(enc, portable)
        fn()  # warm-up (JIT, page cache)
        t = best_time(fn, repeat)
        dec, _ = read_ima_wav(out)
        row[f"{name}_x"] = dur / t
        row[f"{name}_snr"] = snr_db(ref, np.round(dec * 32768.0).astype(np.int16))
        if name == "search":
            row["dec_x"] = dur / best_time(lambda: read_ima_wav(out), repeat)
    if have_ffmpeg:
        for name, extra in (("ff", []), ("fft8", ["-trellis", "8"])):
            fo = tmp / f"{name}.wav"
            cmd = ["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-i", str(src),
                   "-c:a", "adpcm_ima_wav", *extra, str(fo)]  # fmt: skip

            def run(cmd: list[str] = cmd) -> None:
                subprocess.run(cmd, check=True, capture_output=True)

            run()
            reps = repeat if name == "ff" else max(1, min(repeat, 2))
            row[f"{name}_x"] = dur / best_time(run, reps)
            row[f"{name}_snr"] = snr_db(ref, ffmpeg_decode(fo, ch))
            ima, _ = read_ima_wav(fo)
            row[f"{name}_snr_ima"] = snr_db(ref, np.round(ima * 32768.0).astype(np.int16))
    return row


def main(argv: list[str] | None = None) -> int:
    default_dir = Path(__file__).resolve().parents[2] / "shared" / "audio"
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("audio_dir", nargs="?", type=Path, default=default_dir)
    ap.add_argument("--repeat", type=int, default=5, help="timing runs per item (best kept)")
    ap.add_argument("--players", action="store_true",
                    help="decode in ffmpeg, sox and libsndfile; print SNR per player")
    args = ap.parse_args(argv)
    files = sorted(args.audio_dir.glob("*.wav"))
    if not files:
        print(f"no WAV files in {args.audio_dir}", file=sys.stderr)
        return 1
    if args.players:
        return players([f for f in files if "48_stereo" in f.name] or files)
    have_ffmpeg = shutil.which("ffmpeg") is not None
    if not have_ffmpeg:
        print("ffmpeg not found: ffmpeg columns are skipped", file=sys.stderr)
    rows = {}
    with tempfile.TemporaryDirectory() as td:
        for f in files:
            rows[f.stem] = bench_file(f, Path(td), args.repeat, have_ffmpeg)

    nan = float("nan")
    print("SNR (dB) against the 16-bit input")
    print(f"{'item':26s} {'greedy':>7s} {'search':>7s} {'srch-port':>9s} {'ff-dflt':>7s} "
          f"{'ff-tr8':>7s} {'ff-dflt@ima':>11s} {'search-ffdflt':>12s}")  # fmt: skip
    for k, r in rows.items():
        print(
            f"{k:26s} {r['greedy_snr']:7.2f} {r['search_snr']:7.2f} {r['search_port_snr']:9.2f} "
            f"{r.get('ff_snr', nan):7.2f} {r.get('fft8_snr', nan):7.2f} "
            f"{r.get('ff_snr_ima', nan):11.2f} {r['search_snr'] - r.get('ff_snr', nan):+12.2f}"
        )
    print()
    print("Speed (x realtime: audio seconds per wall second; ffmpeg = whole process)")
    print(f"{'item':26s} {'greedy':>8s} {'search':>8s} {'srch-port':>9s} {'decode':>8s} "
          f"{'ff-dflt':>8s} {'ff-tr8':>8s} {'greedy/ff':>9s} {'search/tr8':>10s}")  # fmt: skip
    for k, r in rows.items():
        ff, tr = r.get("ff_x", nan), r.get("fft8_x", nan)
        print(
            f"{k:26s} {r['greedy_x']:8.0f} {r['search_x']:8.1f} {r['search_port_x']:9.1f} "
            f"{r['dec_x']:8.0f} {ff:8.0f} {tr:8.1f} {r['greedy_x'] / ff:9.2f} "
            f"{r['search_x'] / tr:10.2f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
