"""The public edge's option checks that the API and the CLI share: bitrates and sample rates.

:func:`parse_bitrate` is the one bitrate parser (``audiocodec.cli.common.parse_bitrate``
wraps it for argparse); :func:`sample_rate_of` refuses what is not an integer instead of
truncating it (``44100.5`` and ``"48000"`` are errors, not 44100 and 48000).
"""

from __future__ import annotations

import numbers
from typing import Any

from .errors import InputError

__all__ = ["parse_bitrate", "sample_rate_of"]


def parse_bitrate(value: Any) -> int:
    """Bits per second from ``96000``, ``"96000"``, ``"96k"``, ``"96kbps"``, ``"1.5m"``.

    Raises :class:`InputError` naming the value for anything else, or a bitrate <= 0.
    """
    if isinstance(value, bool):
        raise InputError(f"bitrate must be a number of bit/s or a string like '96k', got {value!r}")
    if isinstance(value, numbers.Integral):
        v = float(int(value))
    elif isinstance(value, numbers.Real):
        v = float(value)
    elif isinstance(value, str):
        t = value.strip().lower()
        for unit in ("bit/s", "bps", "b/s"):
            if t.endswith(unit):
                t = t[: -len(unit)]
                break
        mult = {"k": 1000, "m": 1_000_000}.get(t[-1:], 1)
        if mult != 1:
            t = t[:-1]
        try:
            v = float(t) * mult
        except ValueError:
            raise InputError(f"bitrate must look like 96k or 96000, got {value!r}") from None
    else:
        raise InputError(f"bitrate must be a number of bit/s or a string like '96k', got {value!r}")
    if not v > 0 or v != v or v == float("inf"):
        raise InputError(f"bitrate must be positive, got {value!r}")
    return int(round(v))


def sample_rate_of(value: Any) -> int:
    """``value`` as an int sample rate; :class:`InputError` unless it is an integer type."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InputError(f"sample rate must be an integer number of Hz, got {value!r}")
    return int(value)
