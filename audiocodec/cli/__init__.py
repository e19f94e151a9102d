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
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..encoder import QUANTIZERS, SIGNALS
from ..errors import CodecError
from .codec import cmd_decode, cmd_demo, cmd_encode, cmd_info
from .common import (
    EXIT_DAMAGED,
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_OK,
    PROG,
    Parser,
    add_common,
    parse_bitrate,
)

__all__ = ["EXIT_DAMAGED", "EXIT_ERROR", "EXIT_INTERRUPTED", "EXIT_OK", "build_parser", "main",
           "parse_bitrate"]


class _VersionAction(argparse.Action):
    """``--version``, reading the package metadata only when asked (it costs start-up time)."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: Any, values: Any,
                 option_string: str | None = None) -> None:
        import audiocodec

        parser.exit(0, f"{PROG} {audiocodec.__version__}\n")


def _seconds(text: str) -> float:
    """``83.5``, ``1:23.5`` or ``1:01:23.5`` -> seconds (argparse type)."""
    try:
        value = 0.0
        for part in text.split(":"):
            value = value * 60.0 + float(part)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds or [H:]M:S, got {text!r}") from None
    if not value >= 0.0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a time of 0 or more, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog=PROG, description="AQC perceptual audio codec and IMA ADPCM.")
    p.add_argument("--version", action=_VersionAction, nargs=0, help="show the version and exit")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)

    e = sub.add_parser("encode", help="encode an audio file to .aqc, or to IMA ADPCM .wav",
                       description="The output's extension picks the format: .aqc is AQC "
                                   "(--mode mdct by default, or adpcm), .wav is a standard IMA "
                                   "ADPCM WAV (implies --mode adpcm).")
    e.add_argument("paths", type=Path, nargs="+", metavar="INPUT [OUTPUT]",
                   help="INPUT OUTPUT, or with --out-dir any number of files, folders or globs")
    e.add_argument("--out-dir", type=Path, default=None,
                   help="encode every INPUT into this folder (folders keep their sub-folders; "
                        "existing outputs are skipped unless --force, so a rerun resumes)")
    e.add_argument("--jobs", "-j", type=int, default=None,
                   help="with --out-dir: worker processes (default: one per core)")
    e.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="with --out-dir: run on this Dask scheduler (pip install -e '.[batch]')")
    e.add_argument("--bitrate", "-b", type=parse_bitrate, default=None,
                   help="MDCT target, e.g. 96k (default 96k)")
    e.add_argument("--quality", type=float, default=None, help="VBR quality 0..10 instead of --bitrate")
    e.add_argument("--mode", choices=("mdct", "adpcm"), default=None,
                   help="default: adpcm for .wav, mdct for .aqc")
    e.add_argument("--quantizer", choices=QUANTIZERS, default=None, help="MDCT (default adaptive)")
    e.add_argument("--low-delay", action="store_true", help="MDCT: 8 ms frames, 10 ms algorithmic delay")
    e.add_argument("--no-block-switching", action="store_true", help="MDCT: long blocks only")
    e.add_argument("--signal", choices=SIGNALS, default=None,
                   help="adaptive quantizer: shape the noise for speech or music "
                        "(default auto: the encoder's running speech/music estimate)")
    e.add_argument("--fec", action="store_true",
                   help="MDCT, 1-2 channels: in-band FEC, a coarse copy of each frame in the next "
                        "packet (a quarter of the bitrate), used when a packet is lost")
    e.add_argument("--postfilter", choices=("on", "off"), default=None,
                   help="MDCT, 1-2 channels: the pitch pre/post-filter (default: on with --low-delay)")
    e.add_argument("--sf-predict", choices=("on", "off"), default=None,
                   help="MDCT, any channel count: scale factors predicted from the previous frame "
                        "(default: on, off with --low-delay, whose links lose packets)")
    e.add_argument("--lfe-group", choices=("on", "off"), default=None,
                   help="MDCT 5.1/6.1/7.1: the LFE coded 8 frames at a time, about 0.75 kbit/s "
                        "(default: on, off with --low-delay: it adds 7 frames of latency)")
    e.add_argument("--dither", action="store_true", help="TPDF dither (uniform quantizer only)")
    e.add_argument("--frame-size", type=int, default=None, help="MDCT hop / AQC ADPCM packet in samples")
    e.add_argument("--adpcm-encoder", choices=("search", "greedy"), default=None,
                   help="ADPCM code choice (default search)")
    e.add_argument("--portable", action="store_true",
                   help="IMA ADPCM .wav: only codes that ffmpeg, sox and libsndfile decode to identical "
                        "samples (costs ~3 dB; the default already plays at the same SNR in all three)")
    e.add_argument("--tag", action="append", default=None, metavar="KEY=VALUE",
                   help="set a text tag (TITLE, ARTIST, ALBUM ...; repeatable); .aqc output keeps "
                        "the input's tags and these over them")
    e.add_argument("--downmix", action="store_true",
                   help="mix 3-8 channel input to stereo (ITU-R BS.775 coefficients)")
    e.add_argument("--sanitize", action="store_true",
                   help="replace NaN with 0 and +-Inf with full scale instead of refusing the file")
    add_common(e)
    e.set_defaults(func=cmd_encode)

    d = sub.add_parser("decode", help="decode .aqc or IMA ADPCM .wav to .wav/.flac",
                       epilog="exit status: 0 clean; 1 damaged but recovered (frames concealed, "
                              "bytes skipped or truncated; the output is still written); "
                              "2 unreadable input or bad option; 130 interrupted")
    d.add_argument("input", type=Path)
    d.add_argument("output", type=Path)
    d.add_argument("--start", type=_seconds, default=0.0, metavar="T",
                   help="decode from T seconds in (e.g. 83.5 or 1:23.5), without decoding what is before")
    d.add_argument("--duration", type=_seconds, default=None, metavar="D",
                   help="decode D seconds (default: to the end)")
    d.add_argument("--rate", type=int, default=None,
                   help="output sample rate (default: the source's, as the header recorded it)")
    d.add_argument("--subtype", choices=("PCM_16", "PCM_24", "PCM_32", "FLOAT"), default=None,
                   help="output sample format (default: the source's, else PCM_16)")
    add_common(d)
    d.set_defaults(func=cmd_decode)

    i = sub.add_parser("info", help="describe an .aqc file or an IMA ADPCM .wav")
    i.add_argument("input", type=Path)
    i.add_argument("--json", action="store_true")
    i.set_defaults(func=cmd_info)

    m = sub.add_parser("demo", help="encode+decode a bundled sample; print bitrate, SNR, speed")
    m.add_argument("input", type=Path, nargs="?", default=None)
    m.add_argument("--bitrate", "-b", type=parse_bitrate, default=96_000)
    m.add_argument("--out", type=Path, default=Path("demo-out"))
    m.set_defaults(func=cmd_demo)

    _add_optional(sub, "live", "audiocodec.cli.live", "add_arguments", "run",
                  "live microphone -> codec -> speaker loop")
    _add_optional(sub, "send", "audiocodec.cli.net", "add_send_arguments", "run_send",
                  "stream a file over UDP")
    _add_optional(sub, "receive", "audiocodec.cli.net", "add_receive_arguments", "run_receive",
                  "receive a UDP stream")
    _add_optional(sub, "eval", "audiocodec.cli.evaluate", "add_eval_arguments", "run_eval",
                  "measure quality vs bitrate against real codecs; write a report")
    _add_optional(sub, "bench", "audiocodec.cli.evaluate", "add_bench_arguments", "run_bench",
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
    args, extra = parser.parse_known_args(argv)
    if extra and getattr(args, "command", None) == "encode" and not any(a.startswith("-") for a in extra):
        args.paths += [Path(a) for a in extra]  # paths after an option (argparse stops at the first)
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
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
