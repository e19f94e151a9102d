"""What every command shares: exit codes, the bitrate parser, the one-line-error parser,
progress bars and notes on stderr."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

EXIT_OK = 0
EXIT_DAMAGED = 1
EXIT_ERROR = 2
EXIT_INTERRUPTED = 130

PROG = "audiocodec"


def parse_bitrate(text: str) -> int:
    """argparse type of every bitrate option: ``96k`` / ``96000`` / ``1.5m`` to bit/s
    (:func:`audiocodec.units.parse_bitrate`, the one parser the API uses too)."""
    from ..errors import InputError
    from ..units import parse_bitrate as parse

    try:
        return parse(text)
    except InputError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def exit_status(damaged: bool) -> int:
    """The one exit-code rule of ``decode`` and ``receive``: 1 when the input was damaged
    (frames concealed, bytes skipped, lost packets, a truncated file), else 0."""
    return EXIT_DAMAGED if damaged else EXIT_OK


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # one line, exit 2
        self.exit(EXIT_ERROR, f"{self.prog}: error: {message}\n")


def progress(quiet: bool, total: int, desc: str) -> tuple[Callable[[int, int], None] | None, Any]:
    if quiet or not sys.stderr.isatty() or total < 48000 * 20:
        return None, None
    from tqdm import tqdm

    bar = tqdm(total=total, unit="samples", unit_scale=True, desc=desc, leave=False)

    def cb(done: int, _total: int) -> None:
        bar.update(done - bar.n)

    return cb, bar


def note(args: argparse.Namespace, msg: str) -> None:
    if not getattr(args, "quiet", False):
        print(msg, file=sys.stderr)


def add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--force", "-f", action="store_true", help="overwrite an existing output")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar or summary")
