"""Block-switching decisions (encoder only): does a frame hold an attack?"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from ..core.layout import MdctConfig


def frame_has_attack(seg: NDArray[np.float64], config: MdctConfig) -> bool:
    """True when an attack falls in the centre half of a frame's 2N window.

    ``seg`` is (2N, C). The detector of :mod:`psychoacoustics.transient` runs
    on the mono mix over the first 3N/2 samples (the first N/2 serve as history).
    """
    from psychoacoustics import detect_transient

    n = config.frame_size
    m = config.short_size
    if seg.ndim == 2 and seg.shape[1] == 2:
        x = (seg[: 3 * n // 2, 0] + seg[: 3 * n // 2, 1]) * 0.5
    else:
        x = seg[: 3 * n // 2, 0] if seg.ndim == 2 else seg[: 3 * n // 2]
    flags = detect_transient(x, m)
    first = (n // 2) // m
    return bool(flags[first:].any())
