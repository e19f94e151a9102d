"""``audiocodec eval`` and ``audiocodec bench``: their options, turned into
:class:`audiocodec.eval.plan.EvalOptions` / :class:`audiocodec.eval.benchmark.BenchOptions`.

Only the standard library is imported at module level: the CLI imports this
module to build its parser, and ``audiocodec --help`` must stay fast.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import InputError

if TYPE_CHECKING:
    from ..eval.plan import EvalOptions


def _csv(text: str) -> list[str]:
    return [t.strip().lower() for t in text.split(",") if t.strip()]


def _bitrates(text: str) -> list[int]:
    from . import parse_bitrate

    try:
        return sorted({parse_bitrate(b) for b in _csv(text)})
    except argparse.ArgumentTypeError as e:
        raise InputError(str(e)) from None


def _bitrate(text: str) -> int:
    from . import parse_bitrate

    try:
        return parse_bitrate(text)
    except argparse.ArgumentTypeError as e:
        raise InputError(str(e)) from None


def _peers(text: str) -> list[str]:
    return [] if text.strip().lower() in ("", "none") else _csv(text)


# --------------------------------------------------------------------- eval


def add_eval_arguments(p: argparse.ArgumentParser) -> None:
    """Options of ``audiocodec eval``."""
    p.add_argument("inputs", nargs="+", type=Path, metavar="IN", help="audio files")
    p.add_argument("--bitrates", default="24k,32k,48k,64k,96k,128k",
                   help="our nominal bitrates, comma list (default %(default)s); peers are coded "
                        "at these and at a ladder around them, and compared at our actual rate")
    p.add_argument("--quantizers", default="adaptive,uniform",
                   help="MDCT quantizers: adaptive, uniform, nonuniform (default %(default)s)")
    p.add_argument("--modes", default="mdct,adpcm", help="our modes (default %(default)s)")
    p.add_argument("--peers", default="opus,aac,mp3,vorbis,adpcm",
                   help="ffmpeg codecs to compare, or 'none' (default %(default)s)")
    p.add_argument("--speech", default="speech,arctic",
                   help="inputs whose file name holds one of these count as speech (PESQ-WB, "
                        "STOI; not in the music means); 16 kHz inputs always do "
                        "(default %(default)s)")
    p.add_argument("--dither", action="store_true", help="also run uniform with TPDF dither")
    p.add_argument("--out", type=Path, default=Path("eval-report"), help="report folder")
    p.add_argument("--jobs", "-j", type=int, default=min(2, os.cpu_count() or 1),
                   help="worker processes (default %(default)s)")
    p.add_argument("--no-visqol", action="store_true", help="skip ViSQOL (much faster)")
    p.add_argument("--no-plots", action="store_true", help="tables only")
    p.add_argument("--fresh", action="store_true", help="ignore cached results")
    p.add_argument("--pre-echo-item", default=None,
                   help="input (stem) for the block-switching study (default: castanets if given)")
    p.add_argument("--focus-item", default=None,
                   help="input (stem) for the frame-spectrum and heat-map plots")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    add_listen_arguments(p)


def add_listen_arguments(p: argparse.ArgumentParser) -> None:
    """Options of the listening page (``listen.html``, :mod:`audiocodec.eval.listen`)."""
    p.add_argument("--no-listen", action="store_true", help="write no listening page")
    p.add_argument("--listen-seconds", type=float, default=8.0,
                   help="length of each item's excerpt on the listening page (default %(default)s)")
    p.add_argument("--listen-excerpt", action="append", default=[], metavar="ITEM=START",
                   help="start (s) of ITEM's excerpt, e.g. castanets48_stereo=1.5 (repeatable; "
                        "default: the most demanding part by our model)")
    p.add_argument("--listener-results", nargs="+", action="extend", type=Path, default=[],
                   metavar="FILE", help="CSV/JSON files exported by listen.html, for the report's "
                                        "listeners table")


def _excerpts(given: list[str]) -> tuple[tuple[str, float], ...]:
    out = []
    for g in given:
        name, sep, start = g.rpartition("=")
        try:
            out.append((name, float(start)))
        except ValueError:
            name = ""
        if not sep or not name:
            raise InputError(f"--listen-excerpt wants ITEM=START (seconds), got {g!r}")
    return tuple(out)


def _listener_files(paths: list[Path]) -> tuple[Path, ...]:
    """The ``--listener-results`` files, checked before a long evaluation, not after it."""
    from ..eval.listeners import read_results

    read_results(paths)
    return tuple(paths)


def eval_options(args: argparse.Namespace) -> EvalOptions:
    """The :class:`~audiocodec.eval.plan.EvalOptions` that ``args`` ask for."""
    from ..eval.plan import EvalOptions

    command = (f"audiocodec eval {' '.join(str(p) for p in args.inputs)} "
               f"--bitrates {args.bitrates} --quantizers {args.quantizers} "
               f"--modes {args.modes} --peers {args.peers}{' --dither' if args.dither else ''}")
    return EvalOptions(
        inputs=list(args.inputs), bitrates=_bitrates(args.bitrates),
        quantizers=_csv(args.quantizers), modes=_csv(args.modes), peers=_peers(args.peers),
        speech_names=_csv(args.speech), dither=args.dither, out=args.out, jobs=args.jobs,
        visqol=not args.no_visqol, plots=not args.no_plots, fresh=args.fresh,
        pre_echo_item=args.pre_echo_item, focus_item=args.focus_item, quiet=args.quiet,
        command=command, listen=not args.no_listen, listen_seconds=args.listen_seconds,
        listen_excerpts=_excerpts(args.listen_excerpt),
        listener_results=_listener_files(args.listener_results))


def run_eval(args: argparse.Namespace) -> int:
    """Entry point of ``audiocodec eval``."""
    from ..eval.report import evaluate

    return evaluate(eval_options(args))


# --------------------------------------------------------------------- bench


def add_bench_arguments(p: argparse.ArgumentParser) -> None:
    """Options of ``audiocodec bench``."""
    p.add_argument("inputs", nargs="*", type=Path, metavar="IN",
                   help="audio files (default: the bundled demo sample)")
    p.add_argument("--bitrate", "-b", default="128k", help="target bitrate (default %(default)s)")
    p.add_argument("--methods", default="adaptive,uniform,nonuniform,adpcm",
                   help="ours: quantizers and/or adpcm (default %(default)s)")
    p.add_argument("--peers", default="mp3,aac,opus,adpcm", help="ffmpeg codecs, or 'none'")
    p.add_argument("--repeat", type=int, default=3, help="timed repetitions, best kept")
    p.add_argument("--memory", action="store_true", help="also measure peak memory (slow)")
    p.add_argument("--memory-minutes", type=float, default=10.0,
                   help="length of the long synthesized input (default %(default)s)")
    p.add_argument("--startup", action="store_true", help="also measure start-up and JIT times")
    p.add_argument("--all", action="store_true", help="speed, memory and startup")
    p.add_argument("--no-speed", action="store_true", help="skip the speed section")
    p.add_argument("--json", type=Path, default=None, help="also write the numbers here")
    p.add_argument("--markdown", type=Path, default=None, help="also write the tables here")


def run_bench(args: argparse.Namespace) -> int:
    """Entry point of ``audiocodec bench``."""
    from ..eval.benchmark import BenchOptions, bench

    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    peers = [] if args.peers.strip().lower() == "none" else [
        p.strip() for p in args.peers.split(",") if p.strip()]
    return bench(BenchOptions(
        inputs=list(args.inputs), bitrate=_bitrate(args.bitrate), methods=methods, peers=peers,
        repeat=args.repeat, speed=not args.no_speed, memory=args.memory or args.all,
        memory_minutes=args.memory_minutes, startup=args.startup or args.all,
        json_path=args.json, markdown_path=args.markdown,
        quiet=bool(getattr(args, "quiet", False))))
