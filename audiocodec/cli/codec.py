"""The file commands: ``encode``, ``decode``, ``info`` and ``demo``."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from ..errors import InputError, StreamError
from .common import EXIT_DAMAGED, EXIT_OK, PROG, exit_status, note, progress


def encode_options(args: argparse.Namespace, kind: str | None = None) -> dict[str, Any]:
    """The :func:`~audiocodec.files.encode_file` options ``args`` ask for; an option that the
    chosen format or mode would ignore is an :class:`InputError` instead. ``kind`` ("aqc" or
    "wav") defaults to the output's extension."""
    from ..files import output_kind

    kind = kind or output_kind(args.output)
    mode = args.mode or ("adpcm" if kind == "wav" else "mdct")
    if kind == "wav" and mode != "adpcm":
        raise InputError(f"{args.output}: a .wav output is an IMA ADPCM WAV; use .aqc for --mode {mode}")
    if args.portable and kind != "wav":
        raise InputError("--portable applies to IMA ADPCM .wav output only")
    given = {"--bitrate": args.bitrate is not None, "--quality": args.quality is not None,
             "--quantizer": args.quantizer is not None, "--low-delay": args.low_delay,
             "--no-block-switching": args.no_block_switching, "--dither": args.dither,
             "--signal": args.signal is not None, "--postfilter": args.postfilter is not None,
             "--fec": args.fec, "--sf-predict": args.sf_predict is not None,
             "--lfe-group": args.lfe_group is not None}
    opts: dict[str, Any] = {"mode": mode}
    if mode == "adpcm":
        for flag, on in given.items():
            if on:
                raise InputError(f"{flag} applies to --mode mdct only (ADPCM codes 4 bits a sample)")
        opts["adpcm_method"] = args.adpcm_encoder or "search"
        if args.portable:
            opts["portable"] = True
    else:
        if args.adpcm_encoder:
            raise InputError("--adpcm-encoder applies to --mode adpcm only")
        if args.quality is not None and args.bitrate is not None:
            raise InputError("give --quality (VBR) or --bitrate (CBR), not both")
        quantizer = args.quantizer or "adaptive"
        if args.dither and quantizer != "uniform":
            raise InputError(f"--dither applies to --quantizer uniform only, not {quantizer}")
        opts.update(quantizer=quantizer, bitrate=args.bitrate or 96_000, low_delay=args.low_delay,
                    block_switching=not args.no_block_switching)
        if args.quality is not None:
            opts["quality"] = args.quality
        if args.dither:
            opts["dither"] = True
        if args.postfilter is not None:
            opts["postfilter"] = args.postfilter == "on"
        if args.sf_predict is not None:
            opts["sf_predict"] = args.sf_predict == "on"
        if args.lfe_group is not None:
            opts["lfe_group"] = args.lfe_group == "on"
        if args.fec:
            if args.quality is not None:
                raise InputError("--fec needs a bitrate (CBR), not --quality")
            opts["fec"] = True
        if args.signal is not None:
            if quantizer != "adaptive":
                raise InputError(f"--signal applies to --quantizer adaptive only, not {quantizer}")
            opts["signal"] = args.signal
    if args.frame_size:
        if kind == "wav":
            raise InputError("--frame-size applies to .aqc output (IMA WAV blocks are 1017 samples)")
        opts["frame_size"] = args.frame_size
    if args.downmix:
        opts["downmix"] = True
    if args.tag:
        if kind == "wav":
            raise InputError("--tag applies to .aqc output (an IMA ADPCM WAV keeps no tags)")
        from ..tags import parse_tag

        opts["tags"] = dict(parse_tag(t) for t in args.tag)
    return opts


def _input_frames(path: Path) -> int:
    try:
        import soundfile as sf

        return int(sf.info(str(path)).frames)
    except Exception:  # encode_file reports the real problem
        return 0


def cmd_encode(args: argparse.Namespace) -> int:
    from .. import files

    if args.out_dir is not None:
        from .batch import run_batch

        return run_batch(args)
    if args.jobs is not None or args.scheduler is not None:
        raise InputError("--jobs and --scheduler go with --out-dir (encoding many files)")
    if len(args.paths) != 2:
        raise InputError("encode takes INPUT OUTPUT, or INPUT... --out-dir DIR")
    args.input, args.output = args.paths
    opts = encode_options(args)
    cb, bar = progress(args.quiet, _input_frames(args.input), "encode")
    t0 = time.perf_counter()
    try:
        res = files.encode_file(args.input, args.output, force=args.force, progress=cb,
                                sanitize=args.sanitize, **opts)
    finally:
        if bar is not None:
            bar.close()
    dt = time.perf_counter() - t0
    if res["source_rate"] != res["sample_rate"]:
        note(args, f"{PROG}: note: resampled {res['source_rate']} -> {res['sample_rate']} Hz (soxr) "
                   f"for coding; decode restores {res['source_rate']} Hz (--rate overrides)")
    note(args, f"{args.output}: {res['seconds']:.2f} s, {res['bitrate'] / 1000:.1f} kbit/s, "
                f"{res['bytes']} bytes, {res['seconds'] / max(dt, 1e-9):.1f}x realtime")
    return EXIT_OK


def cmd_decode(args: argparse.Namespace) -> int:
    from .. import files

    cb, bar = progress(args.quiet, files.decoded_length(args.input), "decode")
    t0 = time.perf_counter()
    try:
        rep = files.decode_file(args.input, args.output, force=args.force, progress=cb,
                                subtype=args.subtype, rate=args.rate, start=args.start,
                                duration=args.duration)
    finally:
        if bar is not None:
            bar.close()
    dt = time.perf_counter() - t0
    secs = rep.samples / rep.sample_rate if rep.sample_rate else 0.0
    note(args, f"{args.output}: {secs:.2f} s, {rep.sample_rate} Hz, {rep.channels} ch, "
                f"{secs / max(dt, 1e-9):.1f}x realtime")
    if rep.damaged:
        what = (f"{rep.concealed} frames concealed"
                + (f", {rep.recovered} recovered (FEC)" if rep.recovered else "")
                + (f", {rep.waiting} more waiting for an intra frame" if rep.waiting else "")
                + f", {rep.skipped_bytes} bytes skipped")
        if rep.truncated:
            what += ", truncated"
        if rep.notes:
            what += f" ({'; '.join(rep.notes[:3])})"
        print(f"{PROG}: warning: damaged input recovered: {what}", file=sys.stderr)
    return exit_status(rep.damaged)


def cmd_info(args: argparse.Namespace) -> int:
    from .. import files
    from ..adpcm.wav import is_ima_wav

    if is_ima_wav(args.input):
        d = files.ima_wav_info(args.input)
    else:
        try:
            d = files.info(args.input)
        except StreamError as e:
            if str(args.input) in str(e):
                raise
            raise StreamError(f"{args.input}: not an AQC file or IMA ADPCM WAV ({e})") from None
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
    if d.get("fec"):
        print("  in-band FEC: on")
    if d.get("postfilter_reset_interval"):
        print(f"  pitch post-filter: on (reset point every {d['postfilter_reset_interval']} frames)")
    if d.get("sf_intra_interval"):
        print(f"  scale-factor prediction: on (intra frame every {d['sf_intra_interval']} frames)")
    if d.get("noise_fill_from_hz") is not None:
        print(f"  noise fill: zero bands from {d['noise_fill_from_hz']:.0f} Hz up")
    if d.get("lfe_group"):
        print(f"  LFE: coded {d['lfe_group'][0]} frames at a time ({d['lfe_group'][1]} bins)")
    for key, value in d.get("tags", {}).items():
        print(f"  {key.lower()}: {value}")
    if d.get("missing_samples"):
        print(f"  truncated: {d['damaged_bytes']} bytes of the data chunk missing "
              f"({d['missing_samples']} samples)")
        return EXIT_DAMAGED
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
