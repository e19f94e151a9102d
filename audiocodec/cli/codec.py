"""The file commands: ``encode``, ``decode``, ``info`` and ``demo``."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from ..errors import InputError
from .common import EXIT_DAMAGED, EXIT_OK, PROG, note, progress


def cmd_encode(args: argparse.Namespace) -> int:
    from .. import files

    opts: dict[str, Any] = {"mode": args.mode}
    if args.mode == "mdct":
        opts.update(quantizer=args.quantizer, bitrate=args.bitrate, low_delay=args.low_delay,
                    block_switching=not args.no_block_switching)
        if args.quality is not None:
            opts["quality"] = args.quality
        if args.dither:
            opts["dither"] = True
    else:
        opts["adpcm_method"] = args.adpcm_encoder
        if args.portable:
            if not str(args.output).lower().endswith(".wav"):
                raise InputError("--portable applies to IMA ADPCM .wav output only")
            opts["portable"] = True
    if args.frame_size:
        opts["frame_size"] = args.frame_size
    total = 0
    try:
        import soundfile as sf

        total = sf.info(str(args.input)).frames
    except Exception:  # _open_audio in encode_file reports the real problem
        total = 0
    cb, bar = progress(args.quiet, total, "encode")
    t0 = time.perf_counter()
    try:
        res = files.encode_file(args.input, args.output, force=args.force, progress=cb,
                              sanitize=args.sanitize, **opts)
    finally:
        if bar is not None:
            bar.close()
    dt = time.perf_counter() - t0
    note(args, f"{args.output}: {res['seconds']:.2f} s, {res['bitrate'] / 1000:.1f} kbit/s, "
                f"{res['bytes']} bytes, {res['seconds'] / max(dt, 1e-9):.1f}x realtime")
    return EXIT_OK


def cmd_decode(args: argparse.Namespace) -> int:
    from .. import files

    t0 = time.perf_counter()
    rep = files.decode_file(args.input, args.output, force=args.force)
    dt = time.perf_counter() - t0
    secs = rep.samples / rep.sample_rate if rep.sample_rate else 0.0
    note(args, f"{args.output}: {secs:.2f} s, {rep.sample_rate} Hz, {rep.channels} ch, "
                f"{secs / max(dt, 1e-9):.1f}x realtime")
    if rep.damaged:
        print(f"{PROG}: warning: damaged input recovered: {rep.concealed} frames concealed, "
              f"{rep.skipped_bytes} bytes skipped{', truncated' if rep.truncated else ''}",
              file=sys.stderr)
        return EXIT_DAMAGED
    return EXIT_OK


def cmd_info(args: argparse.Namespace) -> int:
    from .. import files

    d = files.info(args.input)
    if args.json:
        import json

        print(json.dumps(d))
        return EXIT_OK
    samples = d["samples"] if d["samples"] is not None else "unknown"
    print(f"{args.input}\n  mode: {d['mode']}\n  sample rate: {d['sample_rate']} Hz\n"
          f"  channels: {d['channels']}\n  duration: {d['duration']:.3f} s ({samples} samples)\n"
          f"  frames: {d['frames']} of {d['frame_size']} samples\n"
          f"  bitrate: {d['bitrate'] / 1000:.1f} kbit/s (nominal {d['nominal_bitrate'] / 1000:.0f})\n"
          f"  size: {d['bytes']} bytes")
    if d["damaged_bytes"]:
        print(f"  damaged bytes skipped: {d['damaged_bytes']}")
        return EXIT_DAMAGED
    return EXIT_OK


def _demo_input(name: str | None) -> tuple[Any, int, str]:
    """The clip to demo: a file the user names, or the bundled sample (package data)."""
    import soundfile as sf

    if name:
        src = Path(name)
        if not src.exists():
            raise InputError(f"{src}: no such file")
        ref, sr = sf.read(str(src), dtype="float32", always_2d=True)
        return ref, sr, src.stem
    from ..samples import DEMO, path

    with path(DEMO) as p:
        ref, sr = sf.read(str(p), dtype="float32", always_2d=True)
    return ref, sr, Path(DEMO).stem


def cmd_demo(args: argparse.Namespace) -> int:
    import soundfile as sf

    from .. import oneshot
    from ..eval.metrics import snr_db
    from ..files import atomic_output

    ref, sr, stem = _demo_input(args.input)
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    seconds = ref.shape[0] / sr
    print(f"input: {stem}: {seconds:.2f} s, {sr} Hz, {ref.shape[1]} ch")
    print(f"{'method':<22}{'kbit/s':>8}{'SNR dB':>8}{'enc xRT':>9}{'dec xRT':>9}")
    runs = [("adaptive", {"mode": "mdct", "quantizer": "adaptive", "bitrate": args.bitrate}),
            ("uniform", {"mode": "mdct", "quantizer": "uniform", "bitrate": args.bitrate}),
            ("adpcm (4 bit)", {"mode": "adpcm"})]
    for name, opts in runs:
        # compile the numba kernels (or load them from the cache) before timing
        oneshot.decode(oneshot.encode(ref[: min(len(ref), 4096)], sr, serial=1, **opts))
        t0 = time.perf_counter()
        data = oneshot.encode(ref, sr, serial=1, **opts)
        t1 = time.perf_counter()
        dec, _ = oneshot.decode(data)
        t2 = time.perf_counter()
        tag = name.split()[0]
        with atomic_output(out_dir / f"{stem}.{tag}.aqc", force=True) as tmp:
            Path(tmp).write_bytes(data)
        with atomic_output(out_dir / f"{stem}.{tag}.wav", force=True) as tmp:
            sf.write(tmp, dec, sr, subtype="PCM_16", format="WAV")
        kbps = len(data) * 8 / seconds / 1000
        print(f"{name:<22}{kbps:>8.1f}{snr_db(ref, dec):>8.1f}"
              f"{seconds / (t1 - t0):>9.1f}{seconds / (t2 - t1):>9.1f}")
    print(f"decoded files in {out_dir}/ (SNR is not loudness-weighted: the adaptive quantizer "
          "trades SNR for inaudible noise; see `audiocodec eval` for ViSQOL)")
    return 0
