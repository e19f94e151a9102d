"""Sample-rate conversion of encoder input outside the coding rates (soxr, streamed).

AQC codes 8..48 kHz. Input at 8..384 kHz outside that range (88.2, 96, 176.4, 192 kHz...)
is resampled with soxr's VHQ filter to :func:`coding_rate`: 44.1 kHz for multiples of
44.1 kHz, else 48 kHz. The header extension records the source rate (``source_rate``),
and a decode resamples back to it by default (``audiocodec decode --rate`` overrides).
IMA ADPCM WAV records any rate itself and is never resampled.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from numpy.typing import NDArray

from .errors import UnsupportedError

__all__ = ["MAX_INPUT_RATE", "MIN_INPUT_RATE", "coding_rate", "resample_blocks"]

MIN_INPUT_RATE = 8000
MAX_INPUT_RATE = 384000


def coding_rate(rate: int, low: int, high: int) -> int:
    """The rate an input at ``rate`` Hz is coded at, given the codec's ``low..high`` Hz."""
    if low <= rate <= high:
        return rate
    if not MIN_INPUT_RATE <= rate <= MAX_INPUT_RATE:
        raise UnsupportedError(f"sample rate {rate} Hz; supported {MIN_INPUT_RATE}..{MAX_INPUT_RATE} Hz")
    return 44100 if rate % 44100 == 0 else min(48000, high)


def resample_blocks(blocks: Iterator[NDArray[np.float32]], rate: int, out_rate: int, channels: int
                    ) -> Iterator[NDArray[np.float32]]:
    """``blocks`` at ``rate`` resampled to ``out_rate`` (same channels), streamed."""
    import soxr

    rs = soxr.ResampleStream(rate, out_rate, channels, dtype="float32", quality="VHQ")
    for block in blocks:
        y = rs.resample_chunk(np.ascontiguousarray(block, dtype=np.float32))
        if y.shape[0]:
            yield y.reshape(-1, channels)
    tail = rs.resample_chunk(np.zeros((0, channels), dtype=np.float32), last=True)
    if tail.shape[0]:
        yield tail.reshape(-1, channels)
