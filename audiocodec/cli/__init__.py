"""Command line: ``audiocodec encode|decode|info|demo|live|send|receive|eval|bench``.

Exit codes: 0 success; 1 decoded, but the input was damaged (frames concealed
or bytes skipped); 2 bad input, unreadable file or bad option; 130 interrupted
(SIGINT or SIGTERM; the partial output is removed).
Errors are one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..errors import CodecError, InputError

EXIT_OK = 0
EXIT_DAMAGED = 1
EXIT_ERROR = 2
EXIT_INTERRUPTED = 130

PROG = "audiocodec"
QUANTIZERS = ("adaptive", "uniform", "nonuniform")  # audiocodec.quantizers, without its imports


def parse_bitrate(text: str) -> int:
    """``96k`` / ``96000`` / ``1.5m`` to bits per second."""
    t = text.strip().lower().rstrip("bps").rstrip("/")
    mult = 1
    if t.endswith("k"):
        mult, t = 1000, t[:-1]
    elif t.endswith("m"):
        mult, t = 1_000_000, t[:-1]
    try:
        v = float(t) * mult
    except ValueError:
        raise argparse.ArgumentTypeError(f"bitrate must look like 96k or 96000, got {text!r}") from None
    if v <= 0:
        raise argparse.ArgumentTypeError(f"bitrate must be positive, got {text!r}")
    return int(round(v))


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # one line, exit 2
        self.exit(EXIT_ERROR, f"{self.prog}: error: {message}\n")


def _progress(quiet: bool, total: int, desc: str) -> tuple[Callable[[int, int], None] | None, Any]:
    if quiet or not sys.stderr.isatty() or total < 48000 * 20:
        return None, None
    from tqdm import tqdm

    bar = tqdm(total=total, unit="samples", unit_scale=True, desc=desc, leave=False)

    def cb(done: int, _total: int) -> None:
        bar.update(done - bar.n)

    return cb, bar


def _note(args: argparse.Namespace, msg: str) -> None:
    if not getattr(args, "quiet", False):
        print(msg, file=sys.stderr)


def cmd_encode(args: argparse.Namespace) -> int:
    from .. import api

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
    cb, bar = _progress(args.quiet, total, "encode")
    t0 = time.perf_counter()
    try:
        res = api.encode_file(args.input, args.output, force=args.force, progress=cb,
                              sanitize=args.sanitize, **opts)
    finally:
        if bar is not None:
            bar.close()
    dt = time.perf_counter() - t0
    _note(args, f"{args.output}: {res['seconds']:.2f} s, {res['bitrate'] / 1000:.1f} kbit/s, "
                f"{res['bytes']} bytes, {res['seconds'] / max(dt, 1e-9):.1f}x realtime")
    return EXIT_OK


def cmd_decode(args: argparse.Namespace) -> int:
    from .. import api

    t0 = time.perf_counter()
    rep = api.decode_file(args.input, args.output, force=args.force)
    dt = time.perf_counter() - t0
    secs = rep.samples / rep.sample_rate if rep.sample_rate else 0.0
    _note(args, f"{args.output}: {secs:.2f} s, {rep.sample_rate} Hz, {rep.channels} ch, "
                f"{secs / max(dt, 1e-9):.1f}x realtime")
    if rep.damaged:
        print(f"{PROG}: warning: damaged input recovered: {rep.concealed} frames concealed, "
              f"{rep.skipped_bytes} bytes skipped{', truncated' if rep.truncated else ''}",
              file=sys.stderr)
        return EXIT_DAMAGED
    return EXIT_OK


def cmd_info(args: argparse.Namespace) -> int:
    from .. import api

    d = api.info(args.input)
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


def cmd_demo(args: argparse.Namespace) -> int:
    from ..demo import run_demo

    return run_demo(args)


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--force", "-f", action="store_true", help="overwrite an existing output")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar or summary")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog=PROG, description="AQC perceptual audio codec and IMA ADPCM.")
    p.add_argument("--version", action="version", version=f"{PROG} 0.1.0")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    e = sub.add_parser("encode", help="encode an audio file to .aqc (or IMA ADPCM .wav)")
    e.add_argument("input", type=Path)
    e.add_argument("output", type=Path)
    e.add_argument("--bitrate", "-b", type=parse_bitrate, default=96_000, help="target, e.g. 96k")
    e.add_argument("--quality", type=float, default=None, help="VBR quality 0..10 instead of --bitrate")
    e.add_argument("--mode", choices=("mdct", "adpcm"), default="mdct")
    e.add_argument("--quantizer", choices=QUANTIZERS, default="adaptive")
    e.add_argument("--low-delay", action="store_true", help="5 ms frames, <10 ms algorithmic delay")
    e.add_argument("--no-block-switching", action="store_true")
    e.add_argument("--dither", action="store_true", help="TPDF dither (uniform quantizer)")
    e.add_argument("--frame-size", type=int, default=None)
    e.add_argument("--adpcm-encoder", choices=("search", "greedy"), default="search")
    e.add_argument("--portable", action="store_true",
                   help="ADPCM .wav: only codes that ffmpeg, sox and libsndfile decode identically "
                        "(ffmpeg's decoder rounds differently from the IMA reference; costs ~3 dB)")
    e.add_argument("--sanitize", action="store_true",
                   help="replace NaN with 0 and +-Inf with full scale instead of refusing the file")
    _add_common(e)
    e.set_defaults(func=cmd_encode)

    d = sub.add_parser("decode", help="decode .aqc or IMA ADPCM .wav to .wav/.flac",
                       epilog="exit status: 0 clean; 1 damaged but recovered (frames concealed, "
                              "bytes skipped or truncated; the output is still written); "
                              "2 unreadable input or bad option; 130 interrupted")
    d.add_argument("input", type=Path)
    d.add_argument("output", type=Path)
    _add_common(d)
    d.set_defaults(func=cmd_decode)

    i = sub.add_parser("info", help="describe an .aqc file")
    i.add_argument("input", type=Path)
    i.add_argument("--json", action="store_true")
    i.set_defaults(func=cmd_info)

    m = sub.add_parser("demo", help="encode+decode a bundled sample; print bitrate, SNR, speed")
    m.add_argument("input", type=Path, nargs="?", default=None)
    m.add_argument("--bitrate", "-b", type=parse_bitrate, default=96_000)
    m.add_argument("--out", type=Path, default=Path("demo-out"))
    m.set_defaults(func=cmd_demo)

    _add_optional(sub, "live", "app.live", "add_arguments", "run",
                  "live microphone -> codec -> speaker loop")
    _add_optional(sub, "send", "audiocodec.net", "add_send_arguments", "run_send",
                  "stream a file over UDP")
    _add_optional(sub, "receive", "audiocodec.net", "add_receive_arguments", "run_receive",
                  "receive a UDP stream")
    _add_optional(sub, "eval", "audiocodec.evaluate", "add_arguments", "run",
                  "measure quality vs bitrate against real codecs; write a report")
    _add_optional(sub, "bench", "audiocodec.benchmark", "add_arguments", "run",
                  "encode/decode speed and memory next to ffmpeg")
    return p


_REQUESTED: list[str] = []  # the subcommand named on this command line (set by main)


def _add_optional(sub: Any, name: str, module: str, add: str, run: str, help_: str) -> None:
    """Register a subcommand whose module is imported only when it is the one being run,
    so ``audiocodec --help`` does not pay for numpy, sounddevice or matplotlib."""
    import importlib
    import importlib.util

    try:
        if importlib.util.find_spec(module) is None:
            return
    except ModuleNotFoundError:
        return
    p = sub.add_parser(name, help=help_)
    if name not in _REQUESTED:
        return
    mod = importlib.import_module(module)
    getattr(mod, add)(p)
    p.set_defaults(func=getattr(mod, run))


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    _REQUESTED[:] = [a for a in argv if not a.startswith("-")][:1]
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_ERROR
    old_term = _trap_sigterm()
    try:
        return int(args.func(args) or 0)
    except CodecError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except OSError as e:
        where = f" ({e.filename})" if getattr(e, "filename", None) else ""
        print(f"{PROG}: error: {e.strerror or e}{where}", file=sys.stderr)
        return EXIT_ERROR
    except MemoryError:
        print(f"{PROG}: error: out of memory", file=sys.stderr)
        return EXIT_ERROR
    finally:
        if old_term is not None:
            signal.signal(signal.SIGTERM, old_term)


def _raise_interrupt(_signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt


def _trap_sigterm() -> Any:
    """Turn SIGTERM into KeyboardInterrupt so a killed encode removes its temp file
    (the default action ends the process without unwinding, leaving ``.NAME.*.part``)."""
    try:
        return signal.signal(signal.SIGTERM, _raise_interrupt)
    except ValueError:  # not the main thread (main() called from a worker): leave it
        return None


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
