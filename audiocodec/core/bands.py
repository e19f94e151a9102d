"""Scale-factor band layout, derived from the configuration on both sides.

Bands follow the ear's critical bands loosely: a band is at least
``MIN_BAND_HZ`` wide (and at least two bins), otherwise ``REL_WIDTH`` of its
lower edge frequency (about a sixth of an octave), and at most
``MAX_BAND_HZ``; frames with short hops (bins wider than ``SHORT_HOP_BIN_HZ``)
use the wider ``SHORT_*`` rule. Short-block frames interleave their coefficients
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
# Short hops (bins wider than SHORT_HOP_BIN_HZ, i.e. the low-delay frames of 8 ms and less)
# spend far more of their bits per second on side information: fewer, wider bands there,
# about as many as CELT's 21 at 5 ms.
SHORT_HOP_BIN_HZ = 60.0
SHORT_MIN_BAND_HZ = 280.0
SHORT_REL_WIDTH = 0.25
SHORT_MAX_BAND_HZ = 2500.0
MAX_BANDS = 127  # the payload codes the number of coded bands in 7 bits


@lru_cache(maxsize=32)
def band_edges(sample_rate: int, n: int, multiple: int = 1, low_overlap: bool = False) -> NDArray[np.int32]:
    """Band edges in bins for ``n`` bins spanning 0..sample_rate/2.

    The ``SHORT_*`` rule serves short hops' long frames and, in a low-overlap layout
    (``low_overlap``), their short-block frames too; a full-overlap layout's short-block
    table keeps the general rule at any hop (its files predate the low-overlap short frames).

    Returns int32 ``(n_bands + 1,)``, strictly increasing, from 0 to ``n``,
    every edge a multiple of ``multiple``.
    """
    if n % multiple:
        raise InputError(f"n={n} is not a multiple of {multiple}")
    bin_hz = sample_rate / (2.0 * n)
    lo_hz, rel, hi_hz = MIN_BAND_HZ, REL_WIDTH, MAX_BAND_HZ
    if bin_hz > SHORT_HOP_BIN_HZ and (multiple == 1 or low_overlap):
        lo_hz, rel, hi_hz = SHORT_MIN_BAND_HZ, SHORT_REL_WIDTH, SHORT_MAX_BAND_HZ
    min_w = max(2, multiple)
    edges = [0]
    e = 0
    while e < n:
        f = e * bin_hz
        w_hz = min(hi_hz, max(lo_hz, rel * f))
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

