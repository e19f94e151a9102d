"""``audiocodec live``: options and entry point of the live demo.

The session itself (devices, stream, callback) is the app's
(:func:`audiocodec_app.live.run_live`), imported only when the command runs.
:func:`int_or_str` is the type of every device option, here and in
:mod:`audiocodec.cli.net`.
"""

from __future__ import annotations

import argparse
import dataclasses

from ..errors import InputError
from .common import parse_bitrate

__all__ = ["add_arguments", "int_or_str", "run"]


def int_or_str(text: str) -> int | str:
    """argparse type of a device option: an index, or else a name."""
    try:
        return int(text)
    except ValueError:
        return text


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the ``audiocodec live`` options on ``parser``."""
    parser.add_argument("-l", "--list-devices", action="store_true",
                        help="show the audio devices and host APIs, then exit")
    parser.add_argument("--mode", choices=("mdct", "adpcm"), default="mdct",
                        help="codec mode; mdct runs in its low-delay variant (default: %(default)s)")
    parser.add_argument("-b", "--bitrate", type=parse_bitrate, default=64000,
                        help="target bitrate, e.g. 64k (default: 64k)")
    parser.add_argument(
        "--frame-size",
        type=int,
        default=None,
        metavar="N",
        help="MDCT hop / ADPCM packet in samples (default: 384/96 at 48 kHz, 10 ms algorithmic "
        "delay; 256 is the 8 ms layout of 256/128, 512 codes 64 kbit/s better at 16 ms; see README)",
    )
    parser.add_argument("-B", "--blocksize", type=int, default=512,
                        help="frames per audio callback; match the JACK period (default: %(default)s)")
    parser.add_argument("--loss", type=float, default=0.0, metavar="P",
                        help="drop each packet with probability P on the simulated channel")
    parser.add_argument("--seed", type=int, default=0, help="seed of the loss pattern")
    parser.add_argument("-i", "--input-device", type=int_or_str, metavar="DEV",
                        help="input device (index or name substring)")
    parser.add_argument("-o", "--output-device", type=int_or_str, metavar="DEV",
                        help="output device (index or name substring)")
    parser.add_argument("--hostapi", metavar="NAME",
                        help="host API to use, e.g. JACK or ALSA (name substring)")
    parser.add_argument("-r", "--samplerate", type=int,
                        help="sample rate (default: the input file's, else the device's)")
    parser.add_argument("-c", "--channels", type=int, help="channels (default: the input file's, else 2)")
    parser.add_argument("--latency", type=float, metavar="SECONDS",
                        help="suggested device latency passed to PortAudio")
    parser.add_argument("--input-file", metavar="F",
                        help="play file F as the microphone (read in a separate thread)")
    parser.add_argument("--loop", action="store_true", help="loop --input-file")
    parser.add_argument("--output-file", metavar="R",
                        help="with --input-file: write the decoded loop to R instead of a speaker "
                             "(no sound card needed; runs as fast as the machine allows)")
    parser.add_argument("--record", metavar="R",
                        help="save what goes to the speaker to R (float WAV for .wav)")
    parser.add_argument("--duration", type=float, metavar="S", help="stop after S seconds")
    parser.add_argument("--bypass", action="store_true",
                        help="send the input to the output uncoded, to compare")
    parser.add_argument("--summary-json", metavar="PATH", help="write the run summary to PATH")
    parser.add_argument("-q", "--quiet", action="store_true", help="no status line")


def _validate(args: argparse.Namespace, max_frames: int) -> None:
    if args.blocksize < 1 or args.blocksize > max_frames:
        raise InputError(f"--blocksize must be in 1..{max_frames}, got {args.blocksize}")
    if not 0.0 <= args.loss < 1.0:
        raise InputError(f"--loss must be in [0, 1), got {args.loss}")
    if args.duration is not None and args.duration <= 0:
        raise InputError(f"--duration must be > 0 seconds, got {args.duration}")
    if args.loop and not args.input_file:
        raise InputError("--loop needs --input-file")
    if args.channels is not None and args.channels < 1:
        raise InputError(f"--channels must be >= 1, got {args.channels}")


def run(args: argparse.Namespace) -> int:
    """Run ``audiocodec live`` with parsed ``args``; return the exit status.

    Raises :class:`~audiocodec.errors.DeviceError` when a device is missing or
    busy and :class:`~audiocodec.errors.InputError` for bad options; the CLI
    turns both into one line on stderr.
    """
    from audiocodec_app.live import LiveOptions, run_live
    from audiocodec_app.loop import MAX_FRAMES

    if args.list_devices:  # the one action that needs no codec options
        from audiocodec_app.devices import list_devices

        list_devices()
        return 0

    _validate(args, MAX_FRAMES)
    options = {f.name: getattr(args, f.name) for f in dataclasses.fields(LiveOptions)}
    return run_live(LiveOptions(**options))
