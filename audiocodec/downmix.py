"""Stereo downmix of 3-8 channel input with the ITU-R BS.775 coefficients (``encode --downmix``).

Channel order is the WAV/SMPTE default for each count (what a WAVE_FORMAT_EXTENSIBLE
file without an unusual channel mask holds, and the order FLAC and libsndfile use)::

    3  L R C               6  L R C LFE Ls Rs
    4  L R Ls Rs           7  L R C LFE Cs Ls Rs
    5  L R C Ls Rs         8  L R C LFE Lb Rb Ls Rs

BS.775 folds the centre and each surround into its side at -3 dB (0.7071), a back
centre into both sides at -3 dB, and leaves the LFE out. The result is scaled by
``1 / (1 + 0.7071 * (centre + surround terms))`` per side, so full-scale input on
every channel cannot clip (the same normalisation ffmpeg's downmix applies by default).
Multichannel coding itself is not offered.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from .errors import UnsupportedError

__all__ = ["downmix", "downmix_matrix"]

_G = 0.7071067811865476  # -3 dB

# Per channel count: the (left, right) gain of each input channel, before normalisation.
_LAYOUTS: dict[int, tuple[tuple[float, float], ...]] = {
    3: ((1, 0), (0, 1), (_G, _G)),
    4: ((1, 0), (0, 1), (_G, 0), (0, _G)),
    5: ((1, 0), (0, 1), (_G, _G), (_G, 0), (0, _G)),
    6: ((1, 0), (0, 1), (_G, _G), (0, 0), (_G, 0), (0, _G)),
    7: ((1, 0), (0, 1), (_G, _G), (0, 0), (_G, _G), (_G, 0), (0, _G)),
    8: ((1, 0), (0, 1), (_G, _G), (0, 0), (_G, 0), (0, _G), (_G, 0), (0, _G)),
}


def downmix_matrix(channels: int) -> NDArray[np.float32]:
    """float32 ``(channels, 2)`` gains; :class:`UnsupportedError` outside 3..8 channels."""
    if channels not in _LAYOUTS:
        raise UnsupportedError(f"--downmix mixes 3 to 8 channels to stereo, got {channels}")
    m = np.array(_LAYOUTS[channels], dtype=np.float64)
    return (m / m.sum(axis=0, keepdims=True)).astype(np.float32)


def downmix(block: NDArray[np.float32]) -> NDArray[np.float32]:
    """``(frames, channels)`` with 3..8 channels to ``(frames, 2)`` float32."""
    return np.ascontiguousarray(block @ downmix_matrix(block.shape[1]))
