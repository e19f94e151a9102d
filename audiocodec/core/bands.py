"""Scale-factor band layout, derived from the configuration on both sides.

Bands follow the ear's critical bands loosely: a band is at least
``MIN_BAND_HZ`` wide (and at least two bins), otherwise ``REL_WIDTH`` of its
lower edge frequency (about a sixth of an octave), and at most
``MAX_BAND_HZ``. Short-block frames interleave their coefficients
(see :mod:`audiocodec.mdct`), so their band edges are the same rule rounded
to multiples of the number of short blocks. Encoder and decoder both call
:func:`band_edges`; nothing about the layout is transmitted.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

from ..errors import InputError

MIN_BAND_HZ = 100.0
REL_WIDTH = 0.16
MAX_BAND_HZ = 1500.0
MAX_BANDS = 127  # the payload codes the number of coded bands in 7 bits


@lru_cache(maxsize=32)
def band_edges(sample_rate: int, n: int, multiple: int = 1) -> NDArray[np.int32]:
    """Band edges in bins for ``n`` bins spanning 0..sample_rate/2.

    Returns int32 ``(n_bands + 1,)``, strictly increasing, from 0 to ``n``,
    every edge a multiple of ``multiple``.
    """
    if n % multiple:
        raise InputError(f"n={n} is not a multiple of {multiple}")
    bin_hz = sample_rate / (2.0 * n)
    min_w = max(2, multiple)
    edges = [0]
    e = 0
    while e < n:
        f = e * bin_hz
        w_hz = min(MAX_BAND_HZ, max(MIN_BAND_HZ, REL_WIDTH * f))
        w = int(round(w_hz / bin_hz / multiple)) * multiple
        w = max(min_w, w)
        e = min(n, e + w)
        edges.append(e)
    # merge a runt last band into its neighbour
    if len(edges) > 2 and edges[-1] - edges[-2] < (edges[-2] - edges[-3]) // 2:
        edges.pop(-2)
    if len(edges) - 1 > MAX_BANDS:
        raise InputError(f"{len(edges) - 1} bands exceed the format's {MAX_BANDS}")
    out = np.array(edges, dtype=np.int32)
    out.setflags(write=False)
    return out

