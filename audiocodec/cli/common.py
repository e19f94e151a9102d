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
